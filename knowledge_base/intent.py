"""What a message is before it is searched: small talk, a question outside the legal desk, a
problem to report to a department, or a legal question (classes in ``data/intents.yaml``).

Works on text already normalised by the search lexicon (simplified, lower case, dialect phrases
replaced). Pure and thread-safe: the detector is built once and never changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from knowledge_base.loader import ContentError

CHITCHAT = "chitchat"
OFF_TOPIC = "offtopic"
REPORT = "report"
QUESTION = "question"

SYMBOLS = "symbols"  # the chit-chat class of emoji, punctuation, numbers and single characters
UNCLEAR = "unclear"  # a few words that are neither a question nor legal (declined as small talk)
_FILE = "intents.yaml"
_WORD_CHAR = re.compile(r"[\u4e00-\u9fffa-z]")
_QUESTION_END = re.compile(r"([?？]|[吗嘛么][。.!！~～]?)\s*$")
MIN_QUESTION_CHARS = 4  # "在吗" or "你好吗" is a greeting, not a question


@dataclass(frozen=True)
class Intent:
    """``kind`` (chitchat/offtopic/report/question), the class that decided it, where to point
    the resident instead (a pointer name, "" for none), and whether it is phrased as a question."""

    kind: str
    label: str = ""
    pointer: str = ""
    asked: bool = False
    legal: bool = False  # a legal cue is present (law, rights, a dispute)


@dataclass(frozen=True)
class _Class:
    name: str
    pointer: str
    cues: re.Pattern[str] | None = None
    subjects: re.Pattern[str] | None = None
    problems: re.Pattern[str] | None = None
    strong: bool = False  # matches even when a legal cue is present

    def matches(self, text: str) -> bool:
        if self.cues is not None and self.cues.search(text):
            return True
        return bool(
            self.subjects is not None
            and self.problems is not None
            and self.subjects.search(text)
            and self.problems.search(text)
        )


def _words(raw: Any, where: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(w, str | int) for w in raw):
        raise ContentError(_FILE, f"'{where}' must be a list of words")
    return [str(w).lower() for w in raw if str(w).strip()]


def _limit(raw: dict[str, Any], key: str) -> int:
    value = raw.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ContentError(_FILE, f"'{key}' must be a positive number of characters")
    return value


def _alternation(words: list[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    return re.compile("|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True)))


def _classes(raw: Any, section: str) -> list[_Class]:
    if not isinstance(raw, dict):
        raise ContentError(_FILE, f"'{section}' must map class names to their cue words")
    classes = []
    for name, spec in raw.items():
        if not isinstance(spec, dict):
            raise ContentError(_FILE, f"{section}.{name} must be a mapping")
        where = f"{section}.{name}"
        cues = _words(spec.get("cues"), f"{where}.cues") + _words(
            spec.get("alone"), f"{where}.alone"
        )
        subjects = _words(spec.get("subjects"), f"{where}.subjects")
        problems = _words(spec.get("problems"), f"{where}.problems")
        if not cues and not (subjects and problems):
            raise ContentError(_FILE, f"{where} needs 'cues' (or 'subjects' and 'problems')")
        classes.append(
            _Class(
                name=str(name),
                pointer=str(spec.get("pointer") or ""),
                cues=_alternation(cues),
                subjects=_alternation(subjects),
                problems=_alternation(problems),
                strong=spec.get("strong") is True,
            )
        )
    return classes


class IntentDetector:
    """Decides what a normalised message is; ``detect`` is the one entry point."""

    def __init__(self, raw: dict[str, Any]) -> None:
        chitchat = raw.get("chitchat")
        if not isinstance(chitchat, dict) or not chitchat:
            raise ContentError(_FILE, "'chitchat' must map class names to word lists")
        self._chitchat = [
            (str(name), _alternation(_words(words, f"chitchat.{name}")))
            for name, words in chitchat.items()
        ]
        self._chitchat_any = _alternation(
            [w for name, words in chitchat.items() for w in _words(words, f"chitchat.{name}")]
        )
        self._fillers = _alternation(_words(raw.get("fillers"), "fillers"))
        self._legal = _alternation(_words(raw.get("legal_cues"), "legal_cues"))
        self._off_topic = _classes(raw.get("off_topic"), "off_topic")
        self._reports = _classes(raw.get("reports"), "reports")
        self._question_words = _alternation(_words(raw.get("question_words"), "question_words"))
        self._max_chars = {
            OFF_TOPIC: _limit(raw, "off_topic_max_chars"),
            REPORT: _limit(raw, "report_max_chars"),
        }

    def asked(self, text: str) -> bool:
        """True for a message phrased as a question (punctuation or a question word)."""
        stripped = text.strip()
        if len(_WORD_CHAR.findall(stripped)) < MIN_QUESTION_CHARS:
            return False
        if _QUESTION_END.search(stripped):
            return True
        return self._question_words is not None and bool(self._question_words.search(stripped))

    def chitchat_class(self, text: str) -> str | None:
        """The small-talk class when the message holds nothing else, else None."""
        if len(_WORD_CHAR.findall(text)) <= 1:
            return SYMBOLS
        if self._chitchat_any is None:
            return None
        rest = self._chitchat_any.sub(" ", text)
        if self._fillers is not None:
            rest = self._fillers.sub(" ", rest)
        if _WORD_CHAR.search(rest):
            return None
        # the class with the longest cue names the reply ("很好" is praise, not 好 = acknowledge)
        best, label = 0, SYMBOLS
        for name, pattern in self._chitchat:
            longest = max((len(m) for m in pattern.findall(text)), default=0) if pattern else 0
            if longest > best:
                best, label = longest, name
        return label

    def is_legal(self, text: str) -> bool:
        return self._legal is not None and bool(self._legal.search(text))

    def detect(self, text: str, *, confident: bool = False, answerable: bool = False) -> Intent:
        """What the normalised message is. ``confident``: the knowledge base has a clear match
        for a message that is not short, which keeps it a legal question even with a report
        or off-topic word (a short everyday question often matches one word of an entry well,
        so the caller says when the match counts). A problem told as a statement ("村干部优亲厚友")
        stays a report; asked as a question with a clear match ("…去哪里举报", ``answerable``) it
        is answered."""
        label = self.chitchat_class(text)
        if label is not None:
            return Intent(CHITCHAT, label)
        asked = self.asked(text)
        legal = self.is_legal(text)
        size = len(_WORD_CHAR.findall(text))
        for kind, classes in ((REPORT, self._reports), (OFF_TOPIC, self._off_topic)):
            if size > self._max_chars[kind]:
                continue
            if confident if kind == OFF_TOPIC else answerable and asked:
                continue
            for cls in classes:
                if (cls.strong or not legal) and cls.matches(text):
                    return Intent(kind, cls.name, cls.pointer, asked)
        return Intent(QUESTION, asked=asked, legal=legal)
