"""Facts corrected in the content (issue 11): each assertion pins one legal fact an entry must get
right, so that a later edit cannot quietly bring the old mistake back."""

from __future__ import annotations

import re

import pytest

import knowledge_base
from knowledge_base import Entry

ENTRIES = {entry.id: entry for entry in knowledge_base.load().entries}


def _articles(entry: Entry, law: str) -> set[int]:
    return {n for ref in entry.laws if ref.law == law for n in ref.articles}


def test_classmate_harm_rests_on_guardian_and_school_fault_not_outsider_rule() -> None:
    entry = ENTRIES["pi-school-injury"]
    assert {1188, 1199, 1200} <= _articles(entry, "民法典")
    assert 1201 not in _articles(entry, "民法典")
    assert "监护人" in entry.answer
    classmate = next(s for s in entry.answer.split("。") if "同学" in s)
    assert "补充责任" not in classmate
    assert "校外" in next(s for s in entry.answer.split("。") if "补充责任" in s)


def test_fraud_victims_call_110_first_and_96110_is_the_warning_line() -> None:
    answer = ENTRIES["fraud-what-to-do-now"].answer
    assert answer.index("110") < answer.index("96110")
    assert "110或96110" not in answer
    assert "紧急止付" in answer
    assert "预警" in answer


def test_suing_the_county_government_goes_to_the_intermediate_court() -> None:
    entry = ENTRIES["procedure-administrative-review"]
    assert 15 in _articles(entry, "行政诉讼法")
    assert "中级人民法院" in entry.answer
    assert "12368" in entry.answer


def test_village_and_collective_decisions_can_be_revoked_by_a_court() -> None:
    entry = ENTRIES["acq-married-out-woman-compensation"]
    assert 265 in _articles(entry, "民法典")
    assert _articles(entry, "农村集体经济组织法")
    assert 36 not in _articles(entry, "村民委员会组织法")  # that article is about 村委会 decisions
    assert "撤销" in entry.answer


def test_a_lender_may_sue_at_home_as_the_place_of_performance() -> None:
    entry = ENTRIES["debt-repay-loan"]
    assert 24 in _articles(entry, "民事诉讼法")
    assert 18 in _articles(entry, "民事诉讼法解释")
    assert "合同履行地" in entry.answer
    assert "弥渡" in entry.answer


def test_village_house_sold_outside_the_collective_is_generally_invalid() -> None:
    entry = ENTRIES["ph-registration"]
    assert 62 in _articles(entry, "土地管理法")
    assert "集体经济组织以外" in entry.answer
    assert "无效" in entry.answer


def test_work_for_an_individual_is_not_sent_to_labour_arbitration() -> None:
    answer = ENTRIES["labour-unpaid-wages"].answer
    individual = next(s for s in answer.split("。") if "给个人干活" in s)
    assert "不是劳动关系" in individual
    assert "不能申请劳动仲裁" in individual
    assert "支付令" in individual
    assert "小额诉讼" in individual


def test_only_the_claims_of_article_995_escape_the_limitation_period() -> None:
    entry = ENTRIES["rights-reputation-insult"]
    assert {995, 188} <= _articles(entry, "民法典")
    exempt = next(s for s in entry.answer.split("；") if "不受诉讼时效" in s)
    assert "赔偿" not in exempt
    assert "3年" in entry.answer


def test_petition_deadlines_follow_the_2022_regulation() -> None:
    entry = ENTRIES["procedure-petition"]
    assert {23, 34} <= _articles(entry, "信访工作条例")
    for fact in ("15日内书面告知", "60日内办结", "不超过30日"):
        assert fact in entry.answer


@pytest.mark.parametrize("entry_id", ["marriage-registration", "marriage-divorce-by-agreement"])
def test_marriage_registration_follows_the_2025_regulation(entry_id: str) -> None:
    answer = ENTRIES[entry_id].answer
    assert "不再需要户口簿" in answer
    assert "全国任何一个婚姻登记机关" in answer
    assert "婚姻登记条例" in answer


def test_no_entry_cites_the_replaced_public_security_law_by_article() -> None:
    citing = [e.id for e in ENTRIES.values() for ref in e.laws if ref.law == "治安管理处罚法"]
    assert citing == []
    by_article = re.compile(r"治安管理处罚法》?第")
    assert [e.id for e in ENTRIES.values() if by_article.search(e.answer)] == []


def test_answers_address_the_resident_as_nin() -> None:
    assert [e.id for e in ENTRIES.values() if "你" in e.answer] == []
