"""Every press is checked on the server: role, unit, case state; refusals change nothing."""

from __future__ import annotations

from sqlmodel import func, select

from backend.models import CaseEvent, CaseStatus
from bot.callbacks import Act as A
from tests.test_staff.conftest import GROUPS, Desk
from tests.tg import make_callback_update


async def dispatched_case(desk: Desk) -> int:
    case = await desk.submit("老板欠薪三个月不给", township="弥城镇")
    assert case.id is not None
    await desk.deliver()
    return case.id


async def event_count(desk: Desk, case_id: int) -> int:
    async with desk.factory() as session:
        result = await session.exec(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id)
        )
        return int(result.one())


async def test_staff_of_another_unit_cannot_claim(desk: Desk) -> None:
    case_id = await dispatched_case(desk)
    events = await event_count(desk, case_id)
    await desk.press("police_staff", A.claim, case_id, chat="hrss")
    assert "不在您单位" in desk.alerts()[-1]
    assert (await desk.case(case_id)).status == CaseStatus.dispatched
    assert await event_count(desk, case_id) == events
    assert not desk.bot.calls("editMessageText")


async def test_a_resident_cannot_claim_return_or_dispatch(desk: Desk) -> None:
    case_id = await dispatched_case(desk)
    for action in (A.claim, A.ret, A.supervise, A.pick_unit, A.overrule):
        await desk.press("stranger", action, case_id, chat="hrss")
    assert len(desk.alerts()) == 5
    assert all("权限" in alert or "只有" in alert for alert in desk.alerts())
    assert (await desk.case(case_id)).status == CaseStatus.dispatched


async def test_forged_callback_data_naming_another_units_case_is_refused(desk: Desk) -> None:
    police_case = await desk.submit("有人拿刀威胁", township="弥城镇")
    assert police_case.id is not None
    await desk.deliver()
    # hrss staff forge a claim of the police case from their own group.
    await desk.press("hrss_staff", A.claim, police_case.id, chat="hrss")
    assert "不在您单位" in desk.alerts()[-1]
    await desk.press("hrss_staff", A.detail, police_case.id, chat="hrss")
    assert "权限" in desk.alerts()[-1]
    assert (await desk.case(police_case.id)).status == CaseStatus.dispatched


async def test_garbage_and_unknown_case_ids_are_refused(desk: Desk) -> None:
    await desk.press("hrss_staff", A.claim, 999_999, chat="hrss")
    assert "没有找到" in desk.alerts()[-1]
    await desk.dp.feed_update(
        desk.bot,
        make_callback_update(
            desk.tg("dispatcher"), "ca:dto:1:not-a-number", chat_id=GROUPS["center"]
        ),
    )
    assert desk.alerts()[-1]  # answered with a reason, nothing raised


async def test_closed_case_buttons_change_nothing(desk: Desk) -> None:
    case_id = await dispatched_case(desk)
    async with desk.factory() as session:
        from backend.services import workflow

        dispatcher = await session.get(type(desk["dispatcher"]), desk["dispatcher"].id)
        assert dispatcher is not None
        await workflow.close(session=session, actor=dispatcher, case_id=case_id, reason="群众撤回")
    events = await event_count(desk, case_id)
    await desk.press("hrss_staff", A.claim, case_id, chat="hrss")
    await desk.press("hrss_staff", A.ret, case_id, chat="hrss")
    await desk.press("dispatcher", A.supervise, case_id, chat="center")
    assert all("已办结归档" in alert for alert in desk.alerts()[-3:])
    assert await event_count(desk, case_id) == events


async def test_double_claim_is_harmless(desk: Desk) -> None:
    case_id = await dispatched_case(desk)
    await desk.press("hrss_staff", A.claim, case_id, chat="hrss")
    await desk.press("hrss_staff", A.claim, case_id, chat="hrss")
    await desk.press("hrss_staff2", A.claim, case_id, chat="hrss")
    case = await desk.case(case_id)
    assert case.status == CaseStatus.accepted and case.accepted_by_id == desk["hrss_staff"].id
    assert sum("已被签收" in alert for alert in desk.alerts()) == 2
    async with desk.factory() as session:
        accepts = (
            await session.exec(
                select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.action == "accept")
            )
        ).all()
    assert len(accepts) == 1


async def test_double_dispatch_and_double_overrule_are_harmless(desk: Desk) -> None:
    case = await desk.submit("村口路灯坏了")
    assert case.id is not None
    hrss = str(desk.units["hrss"].id)
    await desk.press("dispatcher", A.dispatch_to, case.id, hrss, chat="center")
    await desk.press("dispatcher", A.dispatch_to, case.id, hrss, chat="center")
    assert desk.alerts()  # the second press is refused with a reason
    assert (await desk.case(case.id)).status == CaseStatus.dispatched
    async with desk.factory() as session:
        dispatches = (
            await session.exec(
                select(CaseEvent).where(
                    CaseEvent.case_id == case.id, CaseEvent.action == "dispatch"
                )
            )
        ).all()
    assert len(dispatches) == 1


async def test_only_the_lead_unit_sees_the_private_panel_actions(desk: Desk) -> None:
    case = await desk.submit("老板欠薪三个月不给", township="弥城镇")
    assert case.id is not None
    await desk.deliver()
    await desk.press("hrss_staff", A.claim, case.id, chat="hrss")
    desk.bot.reset()
    for action in (A.resolve, A.extend, A.joint, A.note, A.material):
        await desk.press("police_staff", action, case.id)
    assert len(desk.alerts()) == 5
    assert all("不在您单位" in alert for alert in desk.alerts())
    assert not desk.bot.calls("sendMessage")


async def test_staff_cannot_use_center_buttons(desk: Desk) -> None:
    case_id = await dispatched_case(desk)
    for action in (A.pick_unit, A.approve_return, A.overrule, A.extension_yes, A.supervise):
        await desk.press("hrss_head", action, case_id, chat="center")
    assert len(desk.alerts()) == 5
    assert all("综治中心" in alert for alert in desk.alerts())


async def test_joint_approval_uses_the_stored_request_not_the_button(desk: Desk) -> None:
    case_id = await dispatched_case(desk)
    # An outbox id that is not a joint request of this case (e.g. the case card itself).
    card = (await desk.outbox("case_card"))[-1]
    await desk.press("dispatcher", A.joint_approve, case_id, str(card.id), chat="center")
    assert "联办申请" in desk.alerts()[-1]
