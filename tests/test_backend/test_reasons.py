"""Why a report went where it went, in plain words for staff (from the stored classification)."""

from __future__ import annotations

from backend.county import load_county
from backend.services.reasons import plain_reasons


def test_the_classifier_internals_become_plain_chinese() -> None:
    county = load_county()
    stored = {
        "reasons": [
            "matched 排水沟+隔壁 → justice (D04)",
            "general words for justice: 排水沟 +1.2, 个人 +0.4",
            "risk blue",
        ]
    }
    lines = plain_reasons(stored, county)
    assert lines == [
        f"命中：排水沟、隔壁 → {county.department_name('justice')}"
        f"（{county.category_name('D04')}）"
    ]
    assert not any("matched" in line or "+0.4" in line for line in lines)


def test_triage_and_risk_reasons_read_naturally_in_both_languages() -> None:
    county = load_county()
    stored = {
        "reasons": [
            "not confident enough (best 0.11): human triage",
            "high-risk signal → police leads",
            "risk R2 凶器、危险物品: 拿着刀",
        ]
    }
    assert plain_reasons(stored, county) == [
        "未能自动判断，由综治中心人工分派",
        f"有高风险信号，由{county.department_name('police')}牵头",
        "风险信号：凶器、危险物品（拿着刀）",
    ]
    english = plain_reasons(stored, county, "en")
    assert english[0] == "Not clear enough: the center assigns it by hand"


def test_general_words_without_a_match_keep_the_words_and_drop_the_weights() -> None:
    county = load_county()
    lines = plain_reasons({"reasons": ["general words for hrss: 个人 +0.4, 工资 +1.9"]}, county)
    assert lines == [f"相关词语：个人、工资 → {county.department_name('hrss')}"]
    assert plain_reasons({}, county) == []
    assert plain_reasons({"reasons": "关键词：欠薪"}, county) == ["关键词：欠薪"]
