"""The desk in Telegram follows backend/services/privacy.py: groups never see numbers, the
claimer does in private, residents and anonymous reporters are never named, followers get no
staff view."""

from __future__ import annotations

import pytest

from backend.models import CaseFollower, Person, RatingScore
from backend.services import legal, workflow
from bot.callbacks import Act as A
from tests.fakes import FakeCategory
from tests.test_staff.conftest import CATEGORIES, GROUPS, Desk
from tests.test_staff.test_desk_flow import card_message_id

TEXT = "老板欠薪三个月，我叫王秀英，手机139 8765 4321，身份证532925199001011234"
PLAIN = ("13987654321", "139 8765 4321", "532925199001011234", "13812345678")


def group_texts(desk: Desk) -> str:
    return "\n".join(text for chat in GROUPS.values() for text in desk.bot.texts(chat))


async def test_the_legal_hand_off_card_masks_the_phone_in_every_group(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    import classifier

    legal_category = FakeCategory("C10", "法律咨询", "Legal advice", "justice")
    monkeypatch.setattr(classifier, "categories", lambda: {**CATEGORIES, "C10": legal_category})
    async with desk.factory() as session:
        person = await session.get(Person, desk["resident"].id)
        assert person is not None
        case = await legal.handoff_to_lawyer(
            session=session,
            person=person,
            question="离婚后孩子抚养费对方不给怎么办？我电话0872-1234567",
            contact_phone="13812345678",
        )
    await desk.deliver()
    groups = group_texts(desk)
    assert case.code in groups and "138****5678" in groups and "0872-****567" in groups
    assert "13812345678" not in groups and "0872-1234567" not in groups


async def test_numbers_are_shown_to_the_claimer_in_private_only(desk: Desk) -> None:
    case = await desk.submit(TEXT, township="弥城镇", contact_phone="13812345678")
    assert case.id is not None
    await desk.deliver()
    message_id = await card_message_id(desk, case.id)
    await desk.press("hrss_staff", A.claim, case.id, chat="hrss", message_id=message_id)
    await desk.press("hrss_staff", A.detail, case.id, chat="hrss", message_id=message_id)
    groups = group_texts(desk)
    assert "139****4321" in groups and "532***********1234" in groups
    for plain in PLAIN:
        assert plain not in groups, plain

    await desk.press("hrss_staff", A.detail, case.id)  # the claimer, in private
    claimer = desk.bot.texts(desk.tg("hrss_staff"))[-1]
    assert "139 8765 4321" in claimer and "13812345678" in claimer

    await desk.press("hrss_staff2", A.detail, case.id)  # a colleague, in private
    colleague = desk.bot.texts(desk.tg("hrss_staff2"))[-1]
    assert "139****4321" in colleague and "13987654321" not in colleague


async def test_the_history_never_names_the_resident_or_an_anonymous_reporter(desk: Desk) -> None:
    for anonymous in (False, True):
        case = await desk.submit("老板欠薪三个月", township="弥城镇", anonymous=anonymous)
        assert case.id is not None
        await desk.press("dispatcher", A.detail, case.id)
        detail = desk.bot.texts(desk.tg("dispatcher"))[-1]
        assert "办理记录" in detail and "群众" in detail
        assert "resident" not in detail  # the reporter's Telegram display name


async def test_a_follower_pressing_a_forged_detail_button_gets_no_staff_view(desk: Desk) -> None:
    case = await desk.submit(TEXT, township="弥城镇", contact_phone="13812345678")
    assert case.id is not None
    async with desk.factory() as session:
        session.add(CaseFollower(case_id=case.id, person_id=desk["stranger"].id))
        await session.commit()
    await desk.press("stranger", A.detail, case.id)
    for text in desk.bot.texts(desk.tg("stranger")):
        assert "王秀英" not in text and "欠薪" not in text
    assert desk.alerts()


async def test_free_text_in_center_notices_is_masked(desk: Desk) -> None:
    case = await desk.submit("老板欠薪三个月", township="弥城镇")
    assert case.id is not None
    async with desk.factory() as session:
        staff = await session.get(Person, desk["hrss_staff"].id)
        resident = await session.get(Person, desk["resident"].id)
        assert staff is not None and resident is not None
        await workflow.accept(session=session, actor=staff, case_id=case.id)
        await workflow.resolve(session=session, actor=staff, case_id=case.id, result_text="已结清")
        await workflow.rate(
            session=session,
            actor=resident,
            case_id=case.id,
            score=RatingScore.unsatisfied,
            reason="根本没结清，打我电话13987654321",
        )
    await desk.deliver()
    groups = group_texts(desk)
    assert "根本没结清" in groups and "139****4321" in groups
    assert "13987654321" not in groups
