"""Retrieval: normalisation (traditional→simplified, dialect and colloquial forms), jieba words via
classifier.segment, BM25 (bm25s) over each entry's question, variants and answer, rapidfuzz for
typos, an out-of-scope lexicon, intent detection (small talk, off-topic, reports: intent.py) and
three confidence bands: answer, suggest ("您想问的是不是"), decline.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
from rapidfuzz import fuzz, process

from classifier.segment import segment_for_search
from knowledge_base.intent import CHITCHAT, QUESTION, UNCLEAR, IntentDetector
from knowledge_base.loader import Content, ContentError, load_content, load_data_file
from knowledge_base.scope import ScopeDetector
from knowledge_base.types import ANSWER, DECLINE, SUGGEST, Consultation, Entry, Hit

_HAS_WORD_CHAR = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
_NUMBER = re.compile(r"^[0-9.,%]+[a-z]*$")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# Amounts, dates and counts (两个, 一年, 三万多, 去年 is a stop word) and masked names (xx, 某):
# every legal question has them, they say nothing about its topic.
_QUANTITY = re.compile(
    r"^(?:[0-9一二两三四五六七八九十百千万几半多]+[年月日天号个家名张辆套次岁元块万周位份间项笔多前后]*"
    r"|[x×*某]+)$"
)
# "打12348" is "call 12348", not "hit"; "着 … 打了" is the Yunnan passive (= 被).
_DIAL_NUMBER = re.compile(r"(?:拨)?打(?=\s*[0-9]{3,})")
_DIALECT_PASSIVE = re.compile(r"着(?=[^，。！？,.!?\s]{0,4}?(?:打|骗|偷|咬|撞|欺负|抢)了?)")


@dataclass(frozen=True)
class Thresholds:
    """Confidence settings (tuned on the DEV benchmark as a whole, never per question)."""

    answer_score: float = 0.7  # a top confidence this high counts as a clear match (intents)
    min_coverage: float = 0.22  # below this top confidence the question is declined
    min_coverage_plain: float = 0.7  # …for a short question with no legal cue word
    plain_chars: int = 12  # "short": up to this many characters
    plain_min_chars: int = 6  # a question this short with no legal cue word is never answered
    min_matched_idf: float = 5.0  # absolute IDF weight matched by the top entry
    short_question_share: float = 0.9  # …or this share of a short question's whole IDF weight
    fuzzy_cutoff: float = 82.0  # rapidfuzz ratio for a typo-level match of a whole question
    unknown_word_idf: float = 2.0  # weight of a question word the knowledge base has never seen
    related_ratio: float = 0.6  # further hits must score at least this share of the top score
    answer_weight: float = 1.0  # the answer text counts as much as the question (tuned on DEV)
    answer_credit: float = 0.5  # share of a word's IDF credited when only the answer contains it


CALIBRATION_FEATURES = ("confidence", "variant_match", "variant_overlap", "topic_agreement")


@dataclass(frozen=True)
class Calibration:
    """A logistic model of "the top hit is right", fitted on the DEV sets as a whole
    (``bench/calibrate_legal.py`` writes ``data/calibration.yaml``). A question whose
    probability reaches ``answer_probability`` is answered directly when it also leads the next
    candidate by ``answer_margin`` (two entries that fit about as well are a choice for the
    resident, however sure each looks); below ``min_probability`` it is declined; in between
    the hits are offered as suggestions."""

    weights: tuple[float, ...]
    bias: float
    answer_probability: float
    min_probability: float
    answer_margin: float

    @classmethod
    def from_data(cls, raw: dict[str, Any]) -> Calibration:
        names = raw.get("features")
        weights = raw.get("weights")
        if list(names or []) != list(CALIBRATION_FEATURES) or not isinstance(weights, list):
            raise ContentError(
                "calibration.yaml", f"'features' must be {list(CALIBRATION_FEATURES)} with weights"
            )
        values = [
            raw.get("bias"),
            raw.get("answer_probability"),
            raw.get("min_probability"),
            raw.get("answer_margin"),
        ]
        if len(weights) != len(CALIBRATION_FEATURES) or not all(
            isinstance(v, int | float) for v in [*weights, *values]
        ):
            raise ContentError("calibration.yaml", "weights, bias and probabilities are numbers")
        bias, answer, minimum, margin = (float(v) for v in values)  # type: ignore[arg-type]
        return cls(tuple(float(w) for w in weights), bias, answer, minimum, margin)

    def probability(self, features: tuple[float, ...]) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, features, strict=True))
        return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


class Lexicon:
    """Synonyms, colloquial phrases, stop words and the out-of-scope concepts (data files)."""

    def __init__(self, synonyms: dict[str, Any], out_of_scope: dict[str, Any]) -> None:
        phrases = _str_map(synonyms.get("phrases"), "synonyms.yaml", "phrases")
        self.words = _str_map(synonyms.get("words"), "synonyms.yaml", "words")
        weights = synonyms.get("weights") or {}
        if not isinstance(weights, dict) or not all(
            isinstance(k, str) and isinstance(v, int | float) and v > 0 for k, v in weights.items()
        ):
            raise ContentError("synonyms.yaml", "'weights' must map words to positive numbers")
        self.weights = {k.lower(): float(v) for k, v in weights.items()}
        self.stopwords = frozenset(
            _str_list(synonyms.get("stopwords"), "synonyms.yaml", "stopwords")
        )
        self._phrase_map = phrases
        self._phrase_re = (
            re.compile("|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True)))
            if phrases
            else None
        )
        self.scope = ScopeDetector(out_of_scope)

    def normalize(self, text: str) -> str:
        """NFKC, simplified characters, lower case, colloquial phrases → standard forms."""
        text = _simplified(unicodedata.normalize("NFKC", text)).lower()
        text = _DIALECT_PASSIVE.sub("被", _DIAL_NUMBER.sub("拨打", text))
        if self._phrase_re is not None:
            text = self._phrase_re.sub(lambda m: self._phrase_map[m.group(0)], text)
        return text

    def tokens(self, normalized: str) -> list[str]:
        words = []
        for word in segment_for_search(normalized):
            word = self.words.get(word, word)
            if (
                word in self.stopwords
                or not _HAS_WORD_CHAR.search(word)
                or _NUMBER.match(word)
                or _QUANTITY.match(word)
            ):
                continue
            words.append(word)
        return words

    def out_of_scope(self, normalized: str) -> bool:
        return self.scope.topic(normalized) is not None


def _str_map(raw: Any, file: str, key: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in raw.items()
    ):
        raise ContentError(file, f"'{key}' must map text to text")
    return {_simplified(k).lower(): v for k, v in raw.items()}


def _simplified(text: str) -> str:
    """繁→简. zhconv is imported on first use (its import pulls in pkg_resources, about a
    second), so importing the bot does not pay for it: the index is built in the start-up
    warm-up thread."""
    import zhconv

    return str(zhconv.convert(text, "zh-cn"))


def _str_list(raw: Any, file: str, key: str) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(t, str) and t for t in raw):
        raise ContentError(file, f"'{key}' must be a list of texts")
    return [t.lower() for t in raw]


class Searcher:
    """An immutable index over the loaded entries; ``search`` is safe to call from many threads."""

    def __init__(
        self,
        content: Content,
        lexicon: Lexicon,
        thresholds: Thresholds | None = None,
        intents: IntentDetector | None = None,
        calibration: Calibration | None = None,
    ) -> None:
        self.content = content
        self.calibration = calibration or Calibration.from_data(load_data_file("calibration.yaml"))
        self.lexicon = lexicon
        self.intents = intents or IntentDetector(load_data_file("intents.yaml"))
        self.thresholds = thresholds or Thresholds()
        self.entries: tuple[Entry, ...] = content.entries
        self.by_id: dict[str, Entry] = content.by_id()
        t = self.thresholds
        asked_docs: list[list[str]] = []
        answer_docs: list[list[str]] = []
        fuzzy_choices: list[str] = []
        self._fuzzy_owner: list[int] = []
        # each way of asking an entry (question, variants) as words, for how closely a question
        # follows one of them (calibration features)
        self._asked_forms: list[tuple[tuple[str, frozenset[str]], ...]] = []
        for index, entry in enumerate(self.entries):
            asked = [entry.question, *entry.variants]
            forms = [lexicon.tokens(lexicon.normalize(text)) for text in asked]
            self._asked_forms.append(tuple((" ".join(f), frozenset(f)) for f in forms if f))
            asked_docs.append([w for form in forms for w in form])
            answer_docs.append(lexicon.tokens(lexicon.normalize(entry.answer)))
            for text in asked:
                fuzzy_choices.append(_compact(lexicon.normalize(text)))
                self._fuzzy_owner.append(index)
        self._fuzzy_choices = fuzzy_choices
        longest = max((len(choice) for choice in fuzzy_choices), default=0)
        # ratio = 2·matches/(len_a+len_b): much longer questions can never reach the cutoff
        self._fuzzy_max_len = int(longest * (200 / max(t.fuzzy_cutoff, 1.0) - 1)) + 1
        self._asked_terms = [frozenset(doc) for doc in asked_docs]
        self._answer_terms = [frozenset(doc) for doc in answer_docs]
        # Two BM25 fields: how residents ask (question + variants) and, weighted lower, the answer.
        asked_rows = _bm25_rows(asked_docs)
        answer_rows = _bm25_rows(answer_docs)
        terms = sorted(set(asked_rows) | set(answer_rows))
        self._vocab = {term: row for row, term in enumerate(terms)}
        zeros = np.zeros(len(self.entries), dtype=np.float32)
        self._term_scores = (
            np.stack(
                [
                    lexicon.weights.get(w, 1.0)
                    * (asked_rows.get(w, zeros) + t.answer_weight * answer_rows.get(w, zeros))
                    for w in terms
                ]
            )
            if terms
            else np.zeros((0, len(self.entries)), dtype=np.float32)
        )
        n_docs = len(self.entries)
        doc_freq: dict[str, int] = {}
        for asked_terms, answer_terms in zip(self._asked_terms, self._answer_terms, strict=True):
            for term in asked_terms | answer_terms:
                doc_freq[term] = doc_freq.get(term, 0) + 1
        self._idf = {
            term: lexicon.weights.get(term, 1.0) * math.log(1 + (n_docs - df + 0.5) / (df + 0.5))
            for term, df in doc_freq.items()
        }

    def _matched_idf(self, index: int, words: list[str]) -> float:
        """IDF weight of the question words found in an entry (answer-only words count less)."""
        asked, answer = self._asked_terms[index], self._answer_terms[index]
        credit = self.thresholds.answer_credit
        return sum(
            self._idf[w] * (1.0 if w in asked else credit if w in answer else 0.0) for w in words
        )

    def features(
        self, normalized: str, words: list[str], ranked: list[tuple[int, float]]
    ) -> tuple[float, ...]:
        """What tells a right top hit from a wrong one (CALIBRATION_FEATURES): its confidence;
        how closely the question follows one way of asking the entry (rapidfuzz token-set ratio
        of the words, and the word overlap, Jaccard, with the best question or variant); and how
        much of the candidates' confidence goes to entries sharing a topic with the top one. (The
        legal cue word, the share matched in the asked text, the lead over the second hit and the
        question length were tried and added nothing in cross-validation.)"""
        del normalized  # the features work on the words; kept for a stable signature
        top = ranked[0][0]
        question = set(words)
        joined = " ".join(words)
        match = overlap = 0.0
        for text, form in self._asked_forms[top]:
            match = max(match, fuzz.token_set_ratio(joined, text) / 100)
            overlap = max(overlap, len(question & form) / len(question | form))
        topics = set(self.entries[top].topics)
        mass = sum(confidence for _, confidence in ranked)
        shared = sum(c for index, c in ranked if topics & set(self.entries[index].topics))
        return (ranked[0][1], match, overlap, shared / mass if mass else 1.0)

    def probability(self, question: str) -> float | None:
        """The calibrated probability that the top hit is right (None: no candidate)."""
        normalized, words = self.analyse(question)
        ranked = self._ranked(normalized, words)
        if not ranked:
            return None
        return self.calibration.probability(self.features(normalized, words, ranked))

    @classmethod
    def from_folder(
        cls, content_dir: Path | str, thresholds: Thresholds | None = None
    ) -> Searcher:
        """A searcher over another content folder (tests, previews of edited content)."""
        return build_searcher(load_content(content_dir), thresholds)

    def analyse(self, question: str) -> tuple[str, list[str]]:
        normalized = self.lexicon.normalize(question or "")
        return normalized, self.lexicon.tokens(normalized)

    def candidates(self, question: str) -> list[tuple[int, float]]:
        """(entry index, confidence 0..1) best first, before the threshold (for tuning)."""
        return self._ranked(*self.analyse(question))

    def _ranked(self, normalized: str, words: list[str]) -> list[tuple[int, float]]:
        if not words or not _CJK.search(normalized) or self.lexicon.out_of_scope(normalized):
            return []
        t = self.thresholds
        terms = list(dict.fromkeys(words))
        known = [w for w in terms if w in self._vocab]
        results: dict[int, float] = {}
        if known:
            scores = self._term_scores[[self._vocab[w] for w in known]].sum(axis=0)
            total = sum(self._idf[w] for w in known) + t.unknown_word_idf * (
                len(terms) - len(known)
            )
            order = np.argsort(-scores)[:8]
            top_score = float(scores[order[0]])
            for rank, index in enumerate(order):
                score = float(scores[index])
                if score <= 0 or (rank and score < t.related_ratio * top_score):
                    break
                matched = self._matched_idf(int(index), known)
                if matched < min(t.min_matched_idf, t.short_question_share * total):
                    continue
                coverage = matched / total if total else 0.0
                results[int(index)] = coverage * (score / top_score)
        compact = _compact(normalized)
        fuzzy = None
        if len(compact) <= self._fuzzy_max_len:
            fuzzy = process.extractOne(
                compact,
                self._fuzzy_choices,
                scorer=fuzz.ratio,
                score_cutoff=t.fuzzy_cutoff,
            )
        if fuzzy is not None:
            owner = self._fuzzy_owner[fuzzy[2]]
            results[owner] = max(results.get(owner, 0.0), fuzzy[1] / 100)
        return sorted(results.items(), key=lambda item: -item[1])

    def consult(self, question: str, limit: int = 3) -> Consultation:
        """What the message is and, for a legal question, its band and hits (best first)."""
        normalized, words = self.analyse(question)
        chitchat = self.intents.chitchat_class(normalized)
        if chitchat is not None:
            return Consultation(CHITCHAT, label=chitchat)
        t = self.thresholds
        ranked = self._ranked(normalized, words)
        top = ranked[0][1] if ranked else 0.0
        size = len(_compact(normalized))
        intent = self.intents.detect(
            normalized,
            confident=top >= t.answer_score and size > t.plain_chars,
            answerable=top >= t.answer_score,
        )
        if intent.kind != QUESTION:
            return Consultation(
                intent.kind, label=intent.label, pointer=intent.pointer, asked=intent.asked
            )
        tiny = not intent.legal and size <= t.plain_min_chars
        if tiny and not intent.asked:  # a few characters, no question, nothing legal
            return Consultation(CHITCHAT, label=UNCLEAR)  # not understood: no hand-off
        plain = not intent.legal and size <= t.plain_chars
        floor = t.min_coverage_plain if plain else t.min_coverage
        if tiny or top < floor or limit <= 0:
            # an out-of-scope question names its topic (for editors and logs); it is handed off
            scope = "" if ranked else self.lexicon.scope.topic(normalized) or ""
            return Consultation(QUESTION, DECLINE, label=scope, asked=intent.asked)
        probability = self.calibration.probability(self.features(normalized, words, ranked))
        if probability < self.calibration.min_probability:
            return Consultation(QUESTION, DECLINE, asked=intent.asked)
        cal = self.calibration
        lead = ranked[0][1] - (ranked[1][1] if len(ranked) > 1 else 0.0)
        # a statement with no legal word ("排水沟的水又流进我家院子了") may be a report as much as
        # a question: its candidates are offered, never answered outright
        band = (
            ANSWER
            if probability >= cal.answer_probability
            and lead >= cal.answer_margin
            and (intent.asked or intent.legal)
            else SUGGEST
        )
        floor = max(floor * 0.5, top * t.related_ratio)
        hits = [
            Hit.from_entry(self.entries[index], confidence, band)
            for index, confidence in ranked[:limit]
            if confidence >= floor
        ]
        return Consultation(QUESTION, band, hits, asked=intent.asked)

    def search(self, question: str, limit: int = 3) -> list[Hit]:
        """Hits of an answered or suggested legal question; [] for anything else."""
        if limit <= 0:
            return []
        return self.consult(question, limit).hits


def _compact(text: str) -> str:
    """Text without spaces and punctuation, for fuzzy comparison of whole questions."""
    return "".join(ch for ch in text if _HAS_WORD_CHAR.match(ch))


def _bm25_rows(docs: list[list[str]]) -> dict[str, np.ndarray]:
    """Each term's BM25 score for every document, from a bm25s index of the documents."""
    bm25 = bm25s.BM25()
    bm25.index([doc or ["∅"] for doc in docs], show_progress=False)
    return {term: bm25.get_scores([term]).astype(np.float32) for term in bm25.vocab_dict if term}


def build_searcher(
    content: Content, thresholds: Thresholds | None = None, calibration: Calibration | None = None
) -> Searcher:
    lexicon = Lexicon(load_data_file("synonyms.yaml"), load_data_file("out_of_scope.yaml"))
    return Searcher(content, lexicon, thresholds, calibration=calibration)
