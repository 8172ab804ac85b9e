"""Why a report went where it went, in plain words for staff (cards and the web case page).

The classifier records its reasons as short technical lines ("matched 排水沟+隔壁 → justice
(D04)", "general words for hrss: 个人 +0.4"); staff read "命中：排水沟、隔壁 → 司法局（邻里纠纷）".
Only the classification stored on the case is read; the classifier itself is not called.
"""

from __future__ import annotations

import re
from typing import Any

from backend.county import County

_MATCHED = re.compile(r"^matched (?P<words>.+?) → (?P<dept>[\w:]+) \((?P<cat>[\w]+)\)$")
_GENERAL = re.compile(r"^general words for (?P<dept>[\w:]+): (?P<words>.+)$")
_LEADS = re.compile(r"^high-risk signal → (?P<dept>[\w:]+) (?:leads|first)$")
_NEGATED = re.compile(r"^negated, not counted: (?P<words>.+)$")
_RISK = re.compile(r"^risk [A-Z]+\d+ (?P<name>\S+): (?P<words>.+)$")
_WEIGHT = re.compile(r"\s+[+-]\d+(?:\.\d+)?$")

TEMPLATES = {
    "zh": {
        "matched": "命中：{words} → {unit}（{category}）",
        "general": "相关词语：{words} → {unit}",
        "triage": "未能自动判断，由综治中心人工分派",
        "leads": "有高风险信号，由{unit}牵头",
        "negated": "否定说法，未计入：{words}",
        "risk": "风险信号：{name}（{words}）",
        "sep": "、",
    },
    "en": {
        "matched": "Matched: {words} → {unit} ({category})",
        "general": "Related words: {words} → {unit}",
        "triage": "Not clear enough: the center assigns it by hand",
        "leads": "High-risk signal: {unit} leads",
        "negated": "Negated, not counted: {words}",
        "risk": "Risk signal: {name} ({words})",
        "sep": ", ",
    },
}


def _words(text: str, sep: str) -> str:
    """ "a+b", "a +0.4, b +1.2" or "a, b" → "a、b" (weights dropped)."""
    words: list[str] = []
    for part in re.split(r"[,，、]\s*", text):
        for word in _WEIGHT.sub("", part).split("+"):
            if word.strip() and word.strip() not in words:
                words.append(word.strip())
    return sep.join(words)


def plain_reasons(
    classification: dict[str, Any] | None, county: County, lang: str = "zh", *, limit: int = 4
) -> list[str]:
    """The stored reasons as staff-readable lines (technical lines with no plain form dropped)."""
    texts = TEMPLATES["en" if lang == "en" else "zh"]
    raw = (classification or {}).get("reasons") or []
    reasons = [str(r) for r in ([raw] if isinstance(raw, str) else list(raw))]
    if any(_MATCHED.match(r) for r in reasons):  # the general words only repeat the match
        reasons = [r for r in reasons if not _GENERAL.match(r)]
    lines: list[str] = []
    for reason in reasons:
        line = _plain(reason, county, lang, texts)
        if line and line not in lines:
            lines.append(line)
    return lines[:limit]


def _plain(reason: str, county: County, lang: str, texts: dict[str, str]) -> str | None:
    sep = texts["sep"]
    if m := _MATCHED.match(reason):
        return texts["matched"].format(
            words=_words(m["words"], sep),
            unit=county.department_name(m["dept"], lang),
            category=county.category_name(m["cat"], lang),
        )
    if m := _GENERAL.match(reason):
        return texts["general"].format(
            words=_words(m["words"], sep), unit=county.department_name(m["dept"], lang)
        )
    if reason.startswith(("not confident enough", "no known words")):
        return texts["triage"]
    if m := _LEADS.match(reason):
        return texts["leads"].format(unit=county.department_name(m["dept"], lang))
    if m := _NEGATED.match(reason):
        return texts["negated"].format(words=_words(m["words"], sep))
    if m := _RISK.match(reason):
        return texts["risk"].format(name=m["name"], words=_words(m["words"], sep))
    if reason.startswith("risk ") or re.match(r"^[\x00-\x7f]+$", reason):
        return None  # the risk level is shown on its own; other internals mean nothing to staff
    return reason  # already plain (e.g. written by a person or a test double)
