"""Out-of-scope concepts: questions the county's legal desk does not answer (刑事辩护 公司法
知识产权 涉外法律 海事海商), recognised by weighted cue words per topic
(``data/out_of_scope.yaml``).

A question belongs to a topic when the weights of the distinct cues found in it, less the weights
of the topic's guards (the words of an in-scope look-alike: a debtor, an employee, a victim),
reach the threshold. Weights let one word decide (判刑, 股权) while weak words only count together
(儿子 + 被带走), so that 公司 alone is not company law and 被打了 alone is not criminal defence.
Works on text normalised by the search lexicon; pure and thread-safe once built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from knowledge_base.loader import ContentError

_FILE = "out_of_scope.yaml"


def _pattern(words: list[str]) -> re.Pattern[str] | None:
    """A scan for the longest word starting at each position (overlapping matches)."""
    if not words:
        return None
    alternation = "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))
    return re.compile(f"(?=({alternation}))")


def _found(pattern: re.Pattern[str] | None, text: str) -> set[str]:
    """The distinct words of ``pattern`` in ``text``, overlapping ones included ("会判多久"
    holds 会判 and 判多久), but not a word inside a longer one found at the same place (带走 in
    被带走)."""
    if pattern is None:
        return set()
    spans = [(m.start(), m.start() + len(m.group(1)), m.group(1)) for m in pattern.finditer(text)]
    return {
        word
        for start, end, word in spans
        if not any(s <= start and end <= e and (e - s) > (end - start) for s, e, _ in spans)
    }


def _weighted(raw: Any, where: str) -> dict[str, float]:
    """``{weight: [words]}`` → ``{word: weight}``; a word may have only one weight per list."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ContentError(_FILE, f"'{where}' must map weights to lists of words")
    weights: dict[str, float] = {}
    for weight, words in raw.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            raise ContentError(_FILE, f"'{where}': weights are positive numbers, not {weight!r}")
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise ContentError(_FILE, f"'{where}.{weight}' must be a list of words")
        for word in words:
            key = word.strip().lower()
            if key in weights:
                raise ContentError(_FILE, f"'{where}': '{word}' has two weights")
            weights[key] = float(weight)
    return weights


@dataclass(frozen=True)
class _Topic:
    name: str
    cues: dict[str, float]
    context: dict[str, float]
    guards: dict[str, float]
    guard_cap: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "_cue_re", _pattern(list(self.cues)))
        object.__setattr__(self, "_context_re", _pattern(list(self.context)))
        object.__setattr__(self, "_guard_re", _pattern(list(self.guards)))

    def score(self, text: str) -> float:
        """Weight of the distinct cues in ``text``, plus the heaviest context word (who asks
        about whom counts once: 儿子 and 老公 together are no stronger than one of them), less the
        weight of the distinct guards up to ``guard_cap`` (a strong cue survives any guard)."""
        cues = _found(self._cue_re, text)  # type: ignore[attr-defined]
        if not cues:
            return 0.0
        total = sum(self.cues[w] for w in cues)
        context = _found(self._context_re, text)  # type: ignore[attr-defined]
        total += max((self.context[w] for w in context), default=0.0)
        guards = _found(self._guard_re, text)  # type: ignore[attr-defined]
        return total - min(sum(self.guards[w] for w in guards), self.guard_cap)


class ScopeDetector:
    """Names the out-of-scope topic of a normalised question, or None when it is in scope."""

    def __init__(self, raw: dict[str, Any]) -> None:
        threshold = raw.get("threshold")
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
            raise ContentError(_FILE, "'threshold' must be a positive number")
        self.threshold = float(threshold)
        cap = raw.get("guard_cap")
        if isinstance(cap, bool) or not isinstance(cap, int | float) or cap < 0:
            raise ContentError(_FILE, "'guard_cap' must be a number (0 or more)")
        topics = raw.get("topics")
        if not isinstance(topics, dict) or not topics:
            raise ContentError(_FILE, "'topics' must map out-of-scope topics to cues and guards")
        self._topics: list[_Topic] = []
        for name, spec in topics.items():
            if not isinstance(spec, dict):
                raise ContentError(_FILE, f"topics.{name} must be a mapping")
            cues = _weighted(spec.get("cues"), f"topics.{name}.cues")
            if not cues:
                raise ContentError(_FILE, f"topics.{name} needs cues")
            context = _weighted(spec.get("context"), f"topics.{name}.context")
            guards = _weighted(spec.get("guards"), f"topics.{name}.guards")
            self._topics.append(_Topic(str(name), cues, context, guards, float(cap)))
        allow = raw.get("allow") or []
        if not isinstance(allow, list) or not all(isinstance(t, str) and t for t in allow):
            raise ContentError(_FILE, "'allow' must be a list of phrases")
        phrases = sorted((t.lower() for t in allow), key=len, reverse=True)
        self._allow = re.compile("|".join(map(re.escape, phrases))) if phrases else None

    @property
    def topics(self) -> list[str]:
        return [t.name for t in self._topics]

    def scores(self, text: str) -> dict[str, float]:
        """Each topic's score (for editors checking why a question is declined)."""
        text = self._allow.sub(" ", text) if self._allow is not None else text
        return {t.name: round(t.score(text), 3) for t in self._topics}

    def topic(self, text: str) -> str | None:
        """The out-of-scope topic with the highest score reaching the threshold, else None."""
        best, name = 0.0, None
        for topic, score in self.scores(text).items():
            if score >= self.threshold and score > best:
                best, name = score, topic
        return name
