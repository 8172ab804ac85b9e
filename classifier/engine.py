"""The matching engine: normalise text, find every rule word with one Aho-Corasick pass, score.

No word segmentation in the hot path: all words (category keywords, risk words, general
evidence words) live in one automaton, so a 150-character report costs one C-level scan plus
a little Python per match. Built once from a `RuleSet`; read-only afterwards, so one instance
is safely shared between threads.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import ahocorasick
import numpy as np

from .danger import DangerMatcher, Findings
from .rules import DATA_DIR, Category, Combination, RiskSignal, RuleError, RuleSet

MAX_CHARS = 20_000
ROUTE_CHARS = 600  # routing reads the opening of a report; risk words are searched everywhere
_LONGEST_RISK_OVERLAP = 12
FUZZY_MAX_CHARS = 60  # near-form matching only for short reports that found nothing
FUZZY_MIN_LEN = 4  # one wrong character in a 4-character keyword still scores 75
FUZZY_CUTOFF = 75
_NEGATORS = ("没有", "并没有", "没", "未", "不是", "并非", "并不是", "无", "不", "别说")
_NEGATION_WINDOW = 3
_BREAKS = set("，。！？；,.!?;、\n：:就")  # 就: 不给钱就… is a condition, not a negation
_LEVEL_ORDER = {"blue": 0, "yellow": 1, "orange": 2, "red": 3}
_LEVELS = ("blue", "yellow", "orange", "red")
_WORDLIKE = re.compile(r"[^\W_]")  # a letter or digit in any script


@dataclass(frozen=True)
class Classification:
    """The routing decision for one text. `department` None or "center" = human triage."""

    department: str | None
    category: str | None
    category_name: str
    confidence: float
    risk_level: str
    risk_signals: tuple[str, ...] = ()
    joint_departments: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class RiskAssessment:
    """How dangerous one text is, without routing it (cheap: for checking every message).

    `level` is red | orange | yellow | blue; without a category the floor is blue (a dispute's
    yellow comes from its category). `department` is who must act first when a red-signal
    department leads (police for violence), else None.
    """

    level: str
    signals: tuple[str, ...] = ()
    department: str | None = None


# a fired risk signal (R1–R12) or concept combination (K01…) with its level and evidence
_Fired = RiskSignal | Combination


@dataclass
class _Term:
    """Everything one word is used for."""

    word: str
    negatable: bool = False
    strong: list[str] = field(default_factory=list)  # category codes
    weak: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    evidence: dict[str, float] = field(default_factory=dict)  # department -> weight


@cache
def _traditional_table() -> dict[int, str]:
    """繁→简 character map, as a str.translate table.

    From data/traditional_chars.txt (made from zhconv's dictionary by tools/make_trad_table.py),
    so the hot path never imports zhconv. Characters outside the BMP are left as they are.
    """
    path = DATA_DIR / "traditional_chars.txt"
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if not ln.startswith("#")]
    if len(lines) < 2 or len(lines[0]) != len(lines[1]):
        raise RuleError(f"{path}: expected two lines of equal length (繁体, 简体)")
    return {ord(t): s for t, s in zip(lines[0], lines[1], strict=True) if ord(t) < 0x10000}


# a space between two Chinese characters
_CJK_SPACES = re.compile(r"(?<=[\u4e00-\u9fff]) +(?=[\u4e00-\u9fff])")

# full-width ASCII (！ … ～) → half-width, ideographic space → space; str.translate runs in C
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


class Engine:
    """Compiled rules. `classify(text)` is pure and thread-safe."""

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.categories: dict[str, Category] = dict(rules.categories)
        # ties are broken by file order: categories as listed, departments as listed
        self._cat_order = {code: i for i, code in enumerate(rules.categories)}
        self._dept_order = {code: i for i, code in enumerate(rules.departments)}
        settings = dict(rules.settings)
        self.hand_scale = settings.get("hand_scale", 1.0)
        self.abstain_below = settings.get("abstain_below", 0.3)
        self.min_evidence = settings.get("min_evidence", 1.0)
        self.temperature = settings.get("temperature", 1.0)
        # short reports are residents' own words: trust the county's keywords more there
        self.short_chars = settings.get("short_text_chars", 120.0)
        self.short_boost = settings.get("short_text_boost", 1.0)
        self._terms: dict[str, _Term] = {}
        self._phrases: list[tuple[str, tuple[str, ...]]] = []  # (category, parts)
        self._joint_triggers: list[tuple[str | None, str | None, tuple[str, ...], tuple[str, ...]]]
        self._build(rules)
        self._dialect = self._compile_dialect(rules)
        self._danger = DangerMatcher(rules.danger)
        self._fuzzy_keys: list[str] | None = None  # built on first use (a benign race)

    # --- building ---------------------------------------------------------------------------

    def _term(self, word: str) -> _Term:
        term = self._terms.get(word)
        if term is None:
            term = self._terms[word] = _Term(word)
        return term

    def _build(self, rules: RuleSet) -> None:
        for code, kw in rules.keywords.items():
            for w in kw.strong:
                t = self._term(w)
                t.strong.append(code)
                t.negatable |= kw.negatable
            for w in kw.weak:
                t = self._term(w)
                t.weak.append(code)
                t.negatable |= kw.negatable
            for w in kw.exclude:
                self._term(w).exclude.append(code)
            for parts in kw.phrases:
                for p in parts:
                    t = self._term(p)
                    t.negatable |= kw.negatable
                self._phrases.append((code, parts))
        self._risk_words: set[str] = set()
        self._phrase_index: dict[str, list[int]] = {}
        for i, (_code, parts) in enumerate(self._phrases):
            self._phrase_index.setdefault(parts[0], []).append(i)
        self._signal_sets = [
            (
                sig,
                frozenset(sig.red),
                frozenset(sig.orange),
                frozenset(sig.red_if_also),
                frozenset(sig.raise_terms),
                frozenset(p for c in (*sig.red_combos, *sig.orange_combos) for p in c),
            )
            for sig in rules.signals
        ]
        for sig in rules.signals:
            words = [*sig.red, *sig.orange, *sig.red_if_also, *sig.raise_terms]
            words += [p for combo in (*sig.red_combos, *sig.orange_combos) for p in combo]
            for w in words:
                self._term(w).negatable = True
                self._risk_words.add(w)
        for word, per_dept in rules.department_terms.items():
            self._term(word).evidence.update(per_dept)
        self._joint_triggers = []
        for rule in rules.joint_rules:
            for w in rule.any_of:
                self._term(w)
            self._joint_triggers.append((rule.category, rule.signal, rule.any_of, rule.add))
        self._hand_words = frozenset(w for w, t in self._terms.items() if t.strong or t.weak)
        weights = rules.weights
        self._strong_weight = {
            w: weights["strong"]
            + min(weights["max_extra"], weights["per_extra_char"] * max(0, len(w) - 2))
            for w, t in self._terms.items()
            if t.strong
        }
        self._exclude_words = frozenset(w for w, t in self._terms.items() if t.exclude)
        # general evidence as a matrix: one row per word; columns = the departments that have
        # evidence words, then the same columns again holding only the positive weights
        ev_words = sorted(w for w, t in self._terms.items() if t.evidence)
        self._ev_row = {w: i for i, w in enumerate(ev_words)}
        self._ev_word_list = ev_words
        ev_depts = [
            d
            for d in rules.departments
            if d in rules.department_bias or any(d in self._terms[w].evidence for w in ev_words)
        ]
        self._ev_depts = ev_depts
        self._dept_col = {d: i for i, d in enumerate(ev_depts)}
        k = len(ev_depts)
        matrix = np.zeros((max(len(ev_words), 1), 2 * k))
        for w in ev_words:
            for dept, weight in self._terms[w].evidence.items():
                matrix[self._ev_row[w], self._dept_col[dept]] = weight
        matrix[:, k:] = np.maximum(matrix[:, :k], 0.0)
        self._ev_matrix = matrix
        automaton = ahocorasick.Automaton()
        for word, term in self._terms.items():
            automaton.add_word(word, (word, term.negatable, self._ev_row.get(word, -1), len(word)))
        automaton.make_automaton()
        self._automaton = automaton
        risk_automaton = ahocorasick.Automaton()
        for word in self._risk_words:
            risk_automaton.add_word(word, (word, True, -1, len(word)))
        risk_automaton.make_automaton()
        self._risk_automaton = risk_automaton
        self._bias = [rules.department_bias.get(d, 0.0) for d in ev_depts]

    @staticmethod
    def _compile_dialect(rules: RuleSet) -> Any:
        """An automaton of dialect forms; contexts are checked for each occurrence found."""
        if not rules.dialect:
            return None
        automaton = ahocorasick.Automaton()
        by_form: dict[str, list[tuple[str, tuple[str, ...], frozenset[str]]]] = {}
        for rule in rules.dialect:
            by_form.setdefault(rule.form, []).append(
                (rule.standard, rule.followed_by, frozenset(rule.not_preceded_by))
            )
        for form, options in by_form.items():
            automaton.add_word(form, (form, tuple(options)))
        automaton.make_automaton()
        return automaton

    def _dialect_replace(self, text: str) -> str:
        hits: list[tuple[int, int, str]] = []  # (start, -length, standard)
        for end, (form, options) in self._dialect.iter(text):
            start = end - len(form) + 1
            before = text[start - 1] if start else ""
            for standard, followed_by, not_after in options:
                if before and before in not_after:
                    continue
                if followed_by and not any(text.startswith(f, end + 1) for f in followed_by):
                    continue
                hits.append((start, -len(form), standard))
                break
        if not hits:
            return text
        hits.sort()
        out: list[str] = []
        pos = 0
        for start, neg_len, standard in hits:
            if start < pos:
                continue  # overlaps a longer or earlier form already replaced
            out.append(text[pos:start])
            out.append(standard)
            pos = start - neg_len
        out.append(text[pos:])
        return "".join(out)

    # --- normalising ------------------------------------------------------------------------

    def normalise(self, text: str) -> str:
        """Full-width → half-width, traditional → simplified, dialect forms → standard."""
        # the cheap common cases first: full-width ASCII, then anything else NFKC changes
        text = text.translate(_HALF_WIDTH)
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
        text = text.translate(_traditional_table())
        text = " ".join(text.split())
        if self._dialect is not None:
            text = self._dialect_replace(text)
        return text

    # --- matching ---------------------------------------------------------------------------

    @staticmethod
    def _negated(text: str, start: int) -> bool:
        window = text[max(0, start - _NEGATION_WINDOW - 1) : start]
        for neg in _NEGATORS:
            idx = window.rfind(neg)
            if idx >= 0:
                between = window[idx + len(neg) :]
                if any(ch in _BREAKS for ch in between):
                    continue
                if (
                    idx > 0
                    and window[idx] in "不没"
                    and window[idx - 1] == text[start - len(window) + idx + 1]
                ):
                    continue  # 是不是, 要不要, 动不动: a question or "often", not a negation
                return True
        return False

    def _match(self, text: str) -> tuple[dict[str, int], set[str], list[int]]:
        """Words found (word -> end of its first occurrence), words seen only negated, and the
        evidence-matrix rows of the found words."""
        found: dict[str, int] = {}
        negated: set[str] = set()
        rows: list[int] = []
        matches = self._automaton.iter(text, 0, min(len(text), ROUTE_CHARS))
        if len(text) > ROUTE_CHARS:
            # the topic is in the opening; the rest of a long text is only scanned for risk
            tail = self._risk_automaton.iter(text, ROUTE_CHARS - _LONGEST_RISK_OVERLAP)
            matches = itertools.chain(matches, tail)
        for end, (word, negatable, row, size) in matches:
            if word in found:
                continue
            if negatable and self._negated(text, end - size + 1):
                negated.add(word)
                continue
            found[word] = end
            if row >= 0:
                rows.append(row)
        negated -= found.keys()
        return found, negated, rows

    # --- risk -------------------------------------------------------------------------------

    def _match_risk(self, text: str) -> dict[str, int]:
        """Risk-signal words only, over the whole text (for `assess_risk`)."""
        found: dict[str, int] = {}
        for end, (word, _negatable, _row, size) in self._risk_automaton.iter(text):
            if word not in found and not self._negated(text, end - size + 1):
                found[word] = end
        return found

    def _signal_levels(
        self, found: dict[str, int]
    ) -> tuple[list[tuple[_Fired, str, str]], list[str]]:
        """Every R signal that fires (signal, level, evidence), and the raise labels."""
        out: list[tuple[_Fired, str, str]] = []
        raises: list[str] = []
        keys = found.keys()
        for sig, red_set, orange_set, also_set, raise_set, combo_parts in self._signal_sets:
            if raise_set:
                hits = keys & raise_set
                if hits:
                    raises.append(f"{sig.label}: {min(hits, key=found.__getitem__)}")
                continue
            has_combo_part = not combo_parts.isdisjoint(keys)
            sig_level = None
            evidence = ""
            reds = keys & red_set
            if reds:
                sig_level, evidence = "red", min(reds, key=found.__getitem__)
            elif has_combo_part:
                combo = next((c for c in sig.red_combos if all(p in found for p in c)), None)
                if combo:
                    sig_level, evidence = "red", "+".join(combo)
            if sig_level is None:
                oranges = keys & orange_set
                orange = min(oranges, key=found.__getitem__) if oranges else None
                if orange is None and has_combo_part:
                    combo = next(
                        (c for c in sig.orange_combos if all(p in found for p in c)), None
                    )
                    orange = "+".join(combo) if combo else None
                if orange:
                    alsos = keys & also_set
                    also = min(alsos, key=found.__getitem__) if alsos else None
                    if also:
                        sig_level, evidence = "red", f"{orange}+{also}"
                    else:
                        sig_level, evidence = "orange", orange
            if sig_level is not None:
                out.append((sig, sig_level, evidence))
        return out, raises

    def _risk(
        self, text: str, found: dict[str, int], base: str
    ) -> tuple[str, list[str], list[_Fired], tuple[str, str | None] | None]:
        """Risk level of a normalised text: R signals and concept combinations, dampened by
        look-alike masks and frames (past and settled, a question about the law, …)."""
        if " " in text and _CJK_SPACES.search(text):
            # "那个人 拿刀 在我家 门口": pauses typed as spaces are one phrase for danger
            # (routing keeps them: there they often separate the fields of a form)
            text = _CJK_SPACES.sub("", text)
            found = self._match_risk(text)
        findings: Findings = self._danger.scan(text, self._negated)
        if findings.masks:
            found = {
                w: end for w, end in found.items() if not findings.masked(end - len(w) + 1, end)
            }
        candidates, raises = self._signal_levels(found)
        candidates.extend((combo, combo.level, ev) for combo, ev in findings.fired)
        level = base
        labels: list[str] = []
        fired: list[_Fired] = []
        lead: tuple[str, str | None] | None = None
        for item, item_level, evidence in candidates:
            damp = self._dampener_for(item.code, findings)
            if damp is not None and _LEVEL_ORDER[item_level] > _LEVEL_ORDER[damp[0].cap]:
                dampener, word = damp
                labels.append(f"{item.label}: {evidence} (dampened: {dampener.label} {word})")
                if dampener.cap == "yellow":
                    continue
                item_level = dampener.cap
            fired.append(item)
            labels.append(f"{item.label}: {evidence}")
            if _LEVEL_ORDER[item_level] > _LEVEL_ORDER[level]:
                level = item_level
            # a signal hands the case over only at its own level (leads: red → when it is red)
            if (
                lead is None
                and item.department
                and (item.leads == "always" or (item.leads == "red" and item_level == "red"))
            ):
                lead = (item.department, getattr(item, "category", None))
        if raises and level in ("blue", "yellow"):
            level = _LEVELS[_LEVEL_ORDER[level] + 1]
        labels.extend(raises)
        # the dispatcher reads fired dangers first, dampened ones after
        labels.sort(key=lambda label: "(dampened:" in label)
        return level, labels, fired, lead

    @staticmethod
    def _dampener_for(code: str, findings: Findings) -> tuple[Any, str] | None:
        """The strongest dampener in force for a signal or combination (lowest cap)."""
        best = None
        for dampener, word in findings.dampeners.items():
            if dampener.only and code not in dampener.only:
                continue
            if code in dampener.spares:
                continue
            if best is None or _LEVEL_ORDER[dampener.cap] < _LEVEL_ORDER[best[0].cap]:
                best = (dampener, word)
        return best

    def assess_risk(self, text: str, category: str | None = None) -> RiskAssessment:
        """Risk of one text without routing it; `category` (a code) sets the floor."""
        if not isinstance(text, str):
            raise TypeError(f"assess_risk() needs a str, got {type(text).__name__}")
        base = self._base_risk(category)
        norm = self.normalise(text[:MAX_CHARS]) if text else ""
        if not _WORDLIKE.search(norm):
            return RiskAssessment(base)
        level, labels, _fired, lead = self._risk(norm, self._match_risk(norm), base)
        return RiskAssessment(level, tuple(labels), lead[0] if lead else None)

    def _base_risk(self, category: str | None) -> str:
        if category is None:
            return "blue"
        if category not in self.categories:
            raise ValueError(f"unknown category {category!r}")
        return self.categories[category].base_risk

    # --- scoring ----------------------------------------------------------------------------

    def _category_scores(
        self, found: dict[str, int]
    ) -> tuple[dict[str, float], dict[str, list[str]]]:
        """Score every category with a keyword in the text; also return the words per category."""
        weights = self.rules.weights
        w_weak, w_phrase = weights["weak"], weights["phrase"]
        strong_weight = self._strong_weight
        terms = self._terms
        excluded: set[str] = set()
        for word in found.keys() & self._exclude_words:
            excluded.update(terms[word].exclude)
        # a word inside a longer matched keyword counts once (社区矫正 is not also 社区)
        hand = _not_inside_longer([w for w in found if w in self._hand_words])
        strong: dict[str, list[str]] = {}
        weak: dict[str, list[str]] = {}
        for word in hand:
            t = terms[word]
            for c in t.strong:
                strong.setdefault(c, []).append(word)
            for c in t.weak:
                weak.setdefault(c, []).append(word)
        phrases: dict[str, list[str]] = {}
        for first in found.keys() & self._phrase_index.keys():
            for i in self._phrase_index[first]:
                code, parts = self._phrases[i]
                if all(p in found for p in parts):
                    phrases.setdefault(code, []).append("+".join(parts))
        scores: dict[str, float] = {}
        hits: dict[str, list[str]] = {}
        order = self._cat_order
        for code in sorted(strong.keys() | weak.keys() | phrases.keys(), key=order.__getitem__):
            if code in excluded:
                continue
            s = strong.get(code, [])
            wk = weak.get(code, [])
            ph = phrases.get(code, [])
            score = sum(strong_weight[w] for w in s) + w_phrase * len(ph)
            if s or ph or len(wk) >= 2:
                score += w_weak * len(wk)
            else:
                score += 0.5 * w_weak * len(wk)
            scores[code] = score
            hits[code] = ph + s + wk
        return scores, hits

    def classify(self, text: str, category: str | None = None) -> Classification:
        """Route one text. With `category` (the reporter picked it with 类别不对？换一个) that
        category and its department are used and the risk is recomputed from the text and the
        category; a red-signal lead (police for violence) still takes the case."""
        if not isinstance(text, str):
            raise TypeError(f"classify() needs a str, got {type(text).__name__}")
        if category is not None and category not in self.categories:
            raise ValueError(f"unknown category {category!r}")
        norm = self.normalise(text[:MAX_CHARS]) if text else ""
        if not _WORDLIKE.search(norm):
            reason = "text is empty" if not norm.strip() else "text has no words (only symbols)"
            if category is not None:
                cat = self.categories[category]
                return Classification(
                    cat.department, category, cat.name_zh, 1.0, cat.base_risk, (), (), (reason,)
                )
            return Classification(None, None, "", 0.0, "blue", (), (), (reason,))
        result = self._classify_normalised(norm, category)
        if category is None and result.department is None and len(norm) <= FUZZY_MAX_CHARS:
            # short reports with a typo (拖欠工姿): try near-forms of the long strong keywords
            near = self._near_keywords(norm)
            if near:
                retry = self._classify_normalised(norm + "。" + "，".join(near))
                if retry.department is not None:
                    note = "near-form of " + ", ".join(near) + " (typo?)"
                    return replace(retry, reasons=(*retry.reasons, note))
        return result

    def _near_keywords(self, norm: str) -> list[str]:
        from rapidfuzz import fuzz, process

        if self._fuzzy_keys is None:
            self._fuzzy_keys = sorted(
                w for w, t in self._terms.items() if t.strong and len(w) >= FUZZY_MIN_LEN
            )
        hits = process.extract(
            norm, self._fuzzy_keys, scorer=fuzz.partial_ratio, score_cutoff=FUZZY_CUTOFF, limit=3
        )
        return [word for word, _score, _i in hits if word not in norm]

    def _classify_normalised(self, norm: str, chosen: str | None = None) -> Classification:
        found, negated, rows = self._match(norm)
        cat_scores, cat_hits = self._category_scores(found)

        # department scores: general evidence words + scaled best category score per department
        n_evidence = len(rows)
        if rows:
            weights = self._ev_matrix[rows]
            sums = weights.sum(axis=0).tolist()
            k = len(self._ev_depts)
            totals = [b + v for b, v in zip(self._bias, sums[:k], strict=True)]
            positive = sums[k:]
        else:
            weights = None
            totals = self._bias
            positive = [0.0] * len(self._ev_depts)
        best_cat: dict[str, tuple[float, str]] = {}
        for code, score in cat_scores.items():
            dept = self.categories[code].department
            if score > best_cat.get(dept, (0.0, ""))[0]:
                best_cat[dept] = (score, code)
        dept_col = self._dept_col
        dept_scores = {d: totals[i] for i, d in enumerate(self._ev_depts) if positive[i] > 0}
        for dept in best_cat:
            if dept not in dept_scores:
                dept_scores[dept] = totals[dept_col[dept]] if dept in dept_col else 0.0
        shortness = max(0.0, 1.0 - len(norm) / self.short_chars) if self.short_chars else 0.0
        hand_scale = self.hand_scale * (1.0 + self.short_boost * shortness)
        for dept, (score, _code) in best_cat.items():
            dept_scores[dept] += hand_scale * score

        department: str | None = None
        confidence = 0.0
        reasons: list[str] = []

        # only departments with some evidence of their own compete; the bias is just a prior
        def tie_order(dept: str) -> int:  # ties go to the earlier category, then department
            if dept in best_cat:
                return self._cat_order[best_cat[dept][1]]
            return 1000 + self._dept_order.get(dept, 99)

        candidates = sorted(dept_scores, key=tie_order)
        if candidates and (cat_scores or n_evidence >= self.min_evidence):
            top = max(candidates, key=dept_scores.__getitem__)
            p_top = _softmax_top(
                (dept_scores[d] for d in candidates), dept_scores[top], self.temperature
            )
            # how much evidence there is at all: one strong keyword ~ 0.95, one weak word ~ 0.4
            strength = best_cat.get(top, (0.0, ""))[0] + (
                positive[dept_col[top]] if top in dept_col else 0.0
            )
            confidence = p_top * (1.0 - math.exp(-strength))
            if confidence >= self.abstain_below:
                department = top
        category: str | None = None
        if department is not None:
            if department in best_cat:
                category = best_cat[department][1]
                words = _unique_words(cat_hits[category])
                reasons.append(f"matched {'+'.join(words[:4])} → {department} ({category})")
            else:
                category = self.rules.department_defaults.get(department)
            top_words = self._top_evidence(rows, weights, department)
            if top_words:
                listed = ", ".join(f"{w} {v:+.1f}" for v, w in top_words)
                reasons.append(f"general words for {department}: {listed}")
        elif found or cat_scores:
            reasons.append(f"not confident enough (best {confidence:.2f}): human triage")
        else:
            reasons.append("no known words found: human triage")

        if chosen is not None:  # the reporter picked the category: it decides, risk is redone
            category = chosen
            department = self.categories[chosen].department
            confidence = 1.0
            reasons.append(f"category chosen by the reporter: {chosen}")
        base = self.categories[category].base_risk if category else "blue"
        if category is None and cat_scores:
            base = (
                "yellow"
                if any(self.categories[c].base_risk == "yellow" for c in cat_scores)
                else "blue"
            )
        # lead: the department (and category, if the rule names one) a risk signal hands the
        # case to (police for violence, health for an animal bite)
        level, signal_labels, fired, lead = self._risk(norm, found, base)
        displaced: str | None = None
        if lead is not None and (lead[0] != department or lead[1] not in (None, category)):
            lead_dept, lead_category = lead
            if lead_dept != department:
                displaced = department
                department = lead_dept
                if category is None:  # a known topic (e.g. D01) stays; else the lead's default
                    category = self.rules.department_defaults.get(lead_dept)
            if lead_category is not None and chosen is None:
                category = lead_category  # e.g. an animal bite is a health matter (C6)
            confidence = max(confidence, 0.5)
            reasons.append(f"high-risk signal → {lead_dept} leads")
        elif department is None and fired:
            first = next((s.department for s in fired if s.department), None)
            if first is not None:
                department = first
                category = self.rules.department_defaults.get(first)
                confidence = max(confidence, 0.5)
                reasons.append(f"high-risk signal → {first} first")
        for label in signal_labels:
            reasons.append(f"risk {label}")
        if negated:
            reasons.append("negated, not counted: " + ", ".join(sorted(negated)[:5]))
        joint = self._joint(department, category, fired, found, displaced)
        name = self.categories[category].name_zh if category else ""
        return Classification(
            department=department,
            category=category,
            category_name=name,
            confidence=round(confidence, 3),
            risk_level=level,
            risk_signals=tuple(signal_labels),
            joint_departments=joint,
            reasons=tuple(reasons),
        )

    def _top_evidence(
        self, rows: list[int], weights: Any, department: str
    ) -> list[tuple[float, str]]:
        """The strongest general words for `department` (for the reasons line)."""
        if weights is None or department not in self._dept_col:
            return []
        column = weights[:, self._dept_col[department]].tolist()
        words = self._ev_word_list
        pairs = [(v, words[row]) for v, row in zip(column, rows, strict=True) if v > 0]
        pairs.sort(key=lambda pair: -pair[0])
        return pairs[:4]

    def _joint(
        self,
        department: str | None,
        category: str | None,
        fired: list[_Fired],
        found: dict[str, int],
        displaced: str | None = None,
    ) -> tuple[str, ...]:
        out: list[str] = [displaced] if displaced else []
        if category is not None:
            out.extend(self.categories[category].joint_departments)
        fired_codes = {s.code for s in fired}
        out.extend(s.department for s in fired if s.department)
        for cat, sig, any_of, add in self._joint_triggers:
            if cat is not None and cat != category:
                continue
            if sig is not None and sig not in fired_codes:
                continue
            if any_of and not any(w in found for w in any_of):
                continue
            out.extend(add)
        seen: set[str | None] = {department, "center"}
        result: list[str] = []
        for d in out:
            if d not in seen:
                seen.add(d)
                result.append(d)
        return tuple(result)


def _not_inside_longer(words: list[str]) -> list[str]:
    """Drop words that are part of a longer word of the list (拖欠工资 hides 工资 and 欠工资)."""
    if len(words) < 2:
        return words
    by_length = sorted(words, key=len, reverse=True)
    kept = []
    for word in words:
        size = len(word)
        for longer in by_length:
            if len(longer) <= size:
                kept.append(word)
                break
            if word in longer:
                break
        else:
            kept.append(word)
    return kept


def _unique_words(hits: list[str]) -> list[str]:
    out: list[str] = []
    for hit in hits:
        for word in hit.split("+"):
            if word not in out:
                out.append(word)
    return out


def _softmax_top(values: Iterable[float], top: float, temperature: float) -> float:
    total = 0.0
    for v in values:
        total += math.exp((v - top) / temperature)
    return 1.0 / total if total else 0.0
