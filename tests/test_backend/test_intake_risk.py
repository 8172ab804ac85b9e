"""A category the reporter picks (类别不对？换一个) recomputes the risk from the text and that
category with the real classifier, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from backend.models import RiskLevel
from backend.services import intake
from backend.services.intake import ReportDraft

from .conftest import T0, World


@pytest.fixture(autouse=True)
def fake_classifier() -> None:
    """These tests use the real classifier (overrides the package's fake)."""


async def test_picking_a_dispute_category_recomputes_the_risk(world: World) -> None:
    text = "隔壁家的鸡天天跑到我家菜地里"
    draft = ReportDraft(text=text, category_override="C18")
    service = await intake.submit_report(
        session=world.session, reporter=world["resident"], draft=draft, now=T0
    )
    draft = ReportDraft(text=text, category_override="D04")
    dispute = await intake.submit_report(
        session=world.session, reporter=world["resident"], draft=draft, now=T0
    )
    assert (service.category, service.risk_level) == ("C18", RiskLevel.blue)
    assert (dispute.category, dispute.risk_level) == ("D04", RiskLevel.yellow)


async def test_picking_another_category_keeps_a_red_danger_and_its_signals(world: World) -> None:
    draft = ReportDraft(text="煤气罐漏气了，一屋子味道", category_override="C8")
    case = await intake.submit_report(
        session=world.session, reporter=world["resident"], draft=draft, now=T0
    )
    assert case.category == "C8"
    assert case.risk_level == RiskLevel.red
    assert any("燃气泄漏" in s for s in case.risk_signals)


async def test_a_dog_bite_story_is_one_consistent_case_whatever_its_words(world: World) -> None:
    cases = []
    for text in ("娃娃着狗咬了，腿上流血", "娃娃着狗咬了，要打狂犬疫苗"):
        draft = ReportDraft(text=text)
        cases.append(
            await intake.submit_report(
                session=world.session, reporter=world["resident"], draft=draft, now=T0
            )
        )
    assert {(c.category, c.risk_level) for c in cases} == {("C6", RiskLevel.orange)}


def test_the_preview_after_a_category_change_still_warns_of_red() -> None:
    preview = intake.preview_routing(
        text="他拿着菜刀在我家门口说要砍死我全家", category_override="D04", now=T0
    )
    assert preview.category == "D04"
    assert preview.safety_alert is True
    assert preview.department == "police"
