"""The concept danger model (risk.yaml `concepts`, `masks`, `dampeners`, `combinations`).

One Aho-Corasick pass finds every concept word, look-alike mask and dampener word; a small regex
counts people written with Arabic or Chinese numerals (十几个人, 二三十个村民, 30多人). A
combination fires when each of its slots holds one of its concepts. Built once, read-only
afterwards: safe to share between threads.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass

import ahocorasick

from .rules import Combination, Dampener, DangerModel

# a number, then an optional 多/来/余, measure word and a word for people
_PEOPLE_COUNT = re.compile(
    r"([0-9]+几?|[一二两三四五六七八九十百千几]+)(?:多|来|余)?(?:个|号|名|位|户)?"
    r"(?:人|村民|工人|家属|家长|学生|群众|老人|妇女|青年|业主|农民工|男子)"
)
_DIGITS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_SOME = 2  # 几 is "a few": count it as the smallest plausible number
# a calendar year written out (2008年, 1998年): before this year it dates the story
_YEAR = re.compile(r"(?<![0-9])((?:19|20)[0-9]{2})年")


def count_value(numeral: str) -> int:
    """十几 → 12, 二三十 → 20, 一两百 → 100, 几十 → 20, 35 → 35, 30几 → 30 (a lower bound)."""
    if numeral.rstrip("几").isdigit():
        return int(numeral.rstrip("几"))
    total = 0
    digit: int | None = None
    for ch in numeral:
        if ch in _UNITS:
            total += (digit if digit is not None else 1) * _UNITS[ch]
            digit = None
        elif digit is None:  # in a range (二三十, 五六个) the first digit is the lower bound
            digit = _DIGITS.get(ch, _SOME)
    return total + (digit or 0)


def people_counted(text: str) -> tuple[int, str, int]:
    """The largest number of people the text counts, how it was written, and where."""
    best, words, where = 0, "", -1
    for m in _PEOPLE_COUNT.finditer(text):
        value = count_value(m.group(1))
        if value > best:
            best, words, where = value, m.group(0), m.start()
    return best, words, where


@dataclass(frozen=True)
class Findings:
    """What the concept model saw in one normalised text."""

    concepts: dict[str, str]  # concept → the word (or count) that shows it
    dampeners: dict[Dampener, str]  # dampener in force → its word
    masks: list[tuple[int, int]]  # spans of look-alike phrases (start, end inclusive)
    fired: list[tuple[Combination, str]]  # combination → evidence ("煤气+漏气")

    def masked(self, start: int, end: int) -> bool:
        """A word that starts inside a look-alike phrase (想死 in 想死你, 死人 in 急死人)."""
        return any(s <= start <= e and (s, e) != (start, end) for s, e in self.masks)


_MAX_PLACES = 8  # occurrences kept per concept (enough to find a close pair)
_NEGATOR_REACH = 8  # characters between a long negator and the word it cancels
_CLAUSE_BREAKS = frozenset("，。！？；,.!?;\n")
# a word that is itself a negation (没呼吸, 不动了, 叫不醒) is not cancelled by one before it:
# 喊不醒没有呼吸 is two signs, not a denial
_SELF_NEGATED = frozenset("没不无未")
# V不C: a verb, 不 and a result (爬不起来, 叫不醒, 拉不上来)
_COMPLEMENTS = frozenset("起动醒到着住上下出开见应过回进")
_RESULTS = _COMPLEMENTS | frozenset("稳好完")
_NOT_VERBS = frozenset("是也都就还并绝决再又可要会能敢肯想我你他她它们人")
_FRAME_NEGATORS = ("不是", "并非", "没有", "没", "不", "未", "别")


class DangerMatcher:
    """Compiled concept model; `scan(text)` is pure."""

    def __init__(self, model: DangerModel) -> None:
        self.model = model
        concepts: dict[str, list[str]] = {}
        dampeners: dict[str, list[str]] = {}
        for concept in model.concepts.values():
            for word in concept.words:
                concepts.setdefault(word, []).append(concept.name)
        for dampener in model.dampeners:
            for word in dampener.words:
                dampeners.setdefault(word, []).append(dampener.name)
        fixed = {c.name for c in model.concepts.values() if not c.negatable}
        self._automaton = _automaton(
            {
                w: (
                    w,
                    len(w),
                    tuple(concepts.get(w, ())),
                    tuple(dampeners.get(w, ())),
                    w not in dampeners
                    and (w[0] in _SELF_NEGATED or all(n in fixed for n in concepts.get(w, ()))),
                    w[0] in _SELF_NEGATED and len(w) > 1,
                )
                for w in concepts.keys() | dampeners.keys()
            }
        )
        self._masks = _automaton({w: len(w) for w in model.masks})
        self._dampeners = {d.name: d for d in model.dampeners}
        self._past_years = [d.name for d in model.dampeners if d.past_years]
        self._this_year = datetime.date.today().year
        self._counted = [c for c in model.concepts.values() if c.count_at_least]
        self._guarded = {
            c.name: (c.not_after, c.not_before)
            for c in model.concepts.values()
            if c.not_after or c.not_before
        }
        # combinations by the concepts of their first slot: only those can fire
        self._combos_by_concept: dict[str, list[int]] = {}
        self._combos = []
        for i, combo in enumerate(model.combinations):
            self._combos.append(
                (combo, [frozenset(slot) for slot in combo.slots[1:]], frozenset(combo.unless))
            )
            for name in combo.slots[0]:
                self._combos_by_concept.setdefault(name, []).append(i)

    def scan(self, text: str, negated: Callable[[str, int], bool]) -> Findings:
        masks: list[tuple[int, int]] = []
        if self._masks is not None:
            masks = [(end - size + 1, end) for end, size in self._masks.iter(text)]
        concepts: dict[str, str] = {}  # concept → first word
        places: dict[str, list[int]] = {}  # concept → where its words start
        present: dict[str, str] = {}
        guarded = self._guarded
        for end, (word, size, names, damps, fixed, self_negated) in (
            self._automaton.iter(text) if self._automaton is not None else ()
        ):
            fresh = any(len(places.get(n, ())) < _MAX_PLACES for n in names) or any(
                n not in present for n in damps
            )
            if not fresh:
                continue
            start = end - size + 1
            if masks and any(s <= start <= e for s, e in masks):
                continue  # starts inside a look-alike phrase (想死 in 想死你)
            if names and not fixed:
                if negated(text, start) and not _after_complement(text, start):
                    continue
                if self._denied(text, start):
                    continue
            if not names and _frame_denied(text, start):
                continue
            if self_negated and start and text[start - 1] == word[1]:
                continue  # 有没有呼吸, 动不动: a question or "often", not the sign
            for name in damps:
                present.setdefault(name, word)
            for name in names:
                guard = guarded.get(name)
                if guard is not None:
                    if start and text[start - 1] in guard[0]:
                        continue
                    if any(text.startswith(w, end + 1) for w in guard[1]):
                        continue
                concepts.setdefault(name, word)
                places.setdefault(name, []).append(start)
        if self._counted:
            count, written, where = people_counted(text)
            for concept in self._counted:
                if count >= concept.count_at_least:
                    concepts.setdefault(concept.name, written)
                    places.setdefault(concept.name, []).append(where)
        if self._past_years and "年" in text:
            for m in _YEAR.finditer(text):
                if int(m.group(1)) < self._this_year:
                    for name in self._past_years:
                        present.setdefault(name, m.group(0))
                    break
        dampeners = {
            self._dampeners[name]: word
            for name, word in present.items()
            if not any(c in concepts for c in self._dampeners[name].unless)
        }
        fired: list[tuple[Combination, str]] = []
        keys = concepts.keys()
        candidates: set[int] = set()
        for name in keys & self._combos_by_concept.keys():
            candidates.update(self._combos_by_concept[name])
        for i in sorted(candidates):  # in file order
            combo, slot_sets, unless = self._combos[i]
            if any(s.isdisjoint(keys) for s in slot_sets) or not unless.isdisjoint(keys):
                continue
            slots = [[c for c in slot if c in concepts] for slot in combo.slots]
            window = combo.within or self.model.window
            if len(slots) > 1 and not _close(slots, places, window):
                continue
            evidence: list[str] = []
            for slot in slots:
                if concepts[slot[0]] not in evidence:
                    evidence.append(concepts[slot[0]])
            fired.append((combo, "+".join(evidence)))
        return Findings(concepts, dampeners, masks, fired)

    def _denied(self, text: str, start: int) -> bool:
        """A long negation in the same clause a few words before (没有发生过火灾)."""
        if not self.model.negators:
            return False
        before = text[max(0, start - _NEGATOR_REACH) : start]
        for neg in self.model.negators:
            idx = before.rfind(neg)
            if idx >= 0 and _CLAUSE_BREAKS.isdisjoint(before[idx:]):
                return True
        return False


def _after_complement(text: str, start: int) -> bool:
    """The only negation just before the word is a verb's own complement (爬不起来, 叫不醒,
    没躲开): it negates that verb, not what is told next (爬不起来在地上躺了, 没躲开被炸到了)."""
    before = text[max(0, start - 4) : start]
    idx = before.rfind("没")
    if idx >= 0 and "不" not in before[idx:]:
        # 没躲开, 没站稳: 没 + a verb and its result, then the word (没躲开被炸到了)
        between = before[idx + 1 :]
        return len(between) >= 2 and between[-1] in _RESULTS and "有" not in between[:1]
    idx = before.rfind("不")
    if idx < 1 or any(n in before for n in ("未", "不是", "无")):
        return False
    return before[idx - 1] not in _NOT_VERBS and before[idx + 1 : idx + 2] in _COMPLEMENTS


def _frame_denied(text: str, start: int) -> bool:
    """A frame word (开玩笑, 万一, 谣言) is denied only by a negation right before it (不是开玩笑),
    not by one further back (没人管了，万一…), nor by a question (是不是谣言)."""
    before = text[max(0, start - 2) : start]
    for neg in _FRAME_NEGATORS:
        if before.endswith(neg):
            at = start - len(neg)
            after = text[at + 1] if at + 1 < len(text) else ""
            return not (at > 0 and text[at - 1] == after)
    return False


def _automaton(values: dict[str, object]) -> ahocorasick.Automaton | None:
    if not values:
        return None
    automaton = ahocorasick.Automaton()
    for word, value in values.items():
        automaton.add_word(word, value)
    automaton.make_automaton()
    return automaton


def _close(slots: list[list[str]], places: dict[str, list[int]], window: int) -> bool:
    """Is there a place of the first slot with every other slot within `window` characters?"""
    for anchor in (p for c in slots[0] for p in places[c]):
        if all(
            any(abs(p - anchor) <= window for c in slot for p in places[c]) for slot in slots[1:]
        ):
            return True
    return False
