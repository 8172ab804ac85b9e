"""Intake: a report becomes a routed case with its classification, event and notifications."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import col, select

from backend.models import Attachment, Case, CaseEvent, CaseStatus, OutboxMessage
from backend.services import intake
from backend.services.errors import NotAllowed, ValidationFailed
from backend.services.intake import AttachmentIn, ReportDraft

from .conftest import T0, World


async def outbox_kinds(world: World, case: Case) -> list[str]:
    rows = await world.session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.case_id == case.id)
        .order_by(col(OutboxMessage.id))
    )
    return [m.kind for m in rows.all()]


async def test_report_is_dispatched_to_the_owning_unit_with_reasons(world: World) -> None:
    draft = ReportDraft(
        text="老板欠薪三个月不给",
        township="弥城镇",
        contact_phone="13812345678",
        attachments=[AttachmentIn("photo", "file-1")],
    )
    case = await intake.submit_report(
        session=world.session, reporter=world["resident"], draft=draft, now=T0
    )
    assert case.status == CaseStatus.dispatched
    assert case.lead_unit_id == world.units["hrss"].id
    assert case.category == "D08"
    assert case.classification["reasons"] == ["关键词：欠薪"]
    assert case.accept_deadline is not None and case.accept_deadline > T0
    assert re.fullmatch(r"MD20261125-0001", case.code)
    events = (
        await world.session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id))
    ).all()
    assert [(e.action, e.from_status, e.to_status) for e in events] == [
        ("submit", None, "dispatched")
    ]
    assert await outbox_kinds(world, case) == ["case_card", "case_update"]
    files = (await world.session.exec(select(Attachment))).all()
    assert [f.telegram_file_id for f in files] == ["file-1"]


async def test_abstaining_classifier_sends_the_report_to_center_triage(world: World) -> None:
    case = await intake.submit_report(
        session=world.session,
        reporter=world["resident"],
        draft=ReportDraft(text="有个事情想问问"),
        now=T0,
    )
    assert case.status == CaseStatus.triage
    assert case.lead_unit_id == world.units["center"].id
    assert case.accept_deadline is None
    assert await outbox_kinds(world, case) == ["triage", "case_update"]


async def test_township_department_goes_to_the_reporters_township_center(world: World) -> None:
    case = await intake.submit_report(
        session=world.session,
        reporter=world["resident"],
        draft=ReportDraft(text="邻居家滴水", township="弥城镇"),
        now=T0,
    )
    assert case.lead_unit_id == world.units["township:弥城镇"].id


async def test_red_risk_alerts_the_center_at_once_even_when_routed(world: World) -> None:
    case = await intake.submit_report(
        session=world.session,
        reporter=world["resident"],
        draft=ReportDraft(text="有人拿刀砍人"),
        now=T0,
    )
    assert case.status == CaseStatus.dispatched
    assert case.risk_level == "red"
    assert case.accept_deadline == T0 + timedelta(minutes=30)
    assert await outbox_kinds(world, case) == ["case_card", "red_alert", "case_update"]


async def test_case_codes_follow_the_daily_sequence_and_restart_each_local_day(
    world: World,
) -> None:
    codes = []
    for hours in (0, 1, 15):  # 15h after 10:00 local is the next local day
        case = await intake.submit_report(
            session=world.session,
            reporter=world["resident"],
            draft=ReportDraft(text=f"欠薪 {hours}"),
            now=T0 + timedelta(hours=hours),
        )
        codes.append(case.code)
    assert codes == ["MD20261125-0001", "MD20261125-0002", "MD20261126-0001"]


async def test_grid_worker_records_a_dispute_resolved_on_the_spot(world: World) -> None:
    case = await intake.submit_report(
        session=world.session,
        reporter=world["grid"],
        draft=ReportDraft(
            text="邻居两家为滴水吵架",
            township="弥城镇",
            on_behalf=True,
            grid_resolved=True,
            grid_action_text="现场调解，双方同意改排水沟",
            grid_task_code="A2",
        ),
        now=T0,
    )
    assert case.status == CaseStatus.grid_resolved
    assert case.result_text == "现场调解，双方同意改排水沟"
    assert case.filed_by_id == world["grid"].id
    assert case.closed_at == T0
    assert await outbox_kinds(world, case) == []
    events = (
        await world.session.exec(select(CaseEvent).where(CaseEvent.case_id == case.id))
    ).all()
    assert [e.action for e in events] == ["grid_resolved"]


GRID_ONLY_DRAFTS = {
    "risk_override": {"risk_override": "blue"},
    "risk_override_red": {"risk_override": "red"},
    "grid_task_code": {"grid_task_code": "A2"},
    "on_behalf": {"on_behalf": True, "contact_name": "李四"},
    "grid_resolved": {"grid_resolved": True, "grid_action_text": "调解了"},
    "grid_action_text": {"grid_action_text": "调解了"},
}


@pytest.mark.parametrize("fields", GRID_ONLY_DRAFTS.values(), ids=GRID_ONLY_DRAFTS.keys())
@pytest.mark.parametrize("role", ["resident", "hrss_staff", "dispatcher", "supervisor"])
async def test_only_a_grid_worker_may_set_grid_fields(
    world: World, role: str, fields: dict[str, object]
) -> None:
    """The service refuses grid-only fields from anyone else, whatever channel calls it."""
    draft = ReportDraft(text="邻居两家为滴水吵架", township="弥城镇", **fields)  # type: ignore[arg-type]
    with pytest.raises(NotAllowed) as err:
        await intake.submit_report(session=world.session, reporter=world[role], draft=draft)
    assert err.value.code == "grid_only"
    assert (await world.session.exec(select(Case))).all() == []


async def test_a_grid_worker_may_set_the_risk_level(world: World) -> None:
    draft = ReportDraft(text="邻居两家为滴水吵架", risk_override="orange", grid_task_code="A2")
    case = await intake.submit_report(session=world.session, reporter=world["grid"], draft=draft)
    assert (case.risk_level, case.grid_task_code) == ("orange", "A2")


async def test_resident_cannot_record_a_grid_resolution(world: World) -> None:
    with pytest.raises(NotAllowed):
        await intake.submit_report(
            session=world.session,
            reporter=world["resident"],
            draft=ReportDraft(text="邻居吵架", grid_resolved=True, grid_action_text="调解了"),
        )
    assert (await world.session.exec(select(Case))).all() == []


async def test_empty_report_is_refused(world: World) -> None:
    with pytest.raises(ValidationFailed):
        await intake.submit_report(
            session=world.session, reporter=world["resident"], draft=ReportDraft(text="  ")
        )


async def test_anonymous_report_keeps_no_contact_details(world: World) -> None:
    case = await intake.submit_report(
        session=world.session,
        reporter=world["resident"],
        draft=ReportDraft(
            text="欠薪", anonymous=True, contact_name="张三", contact_phone="13800000000"
        ),
        now=T0,
    )
    assert (case.contact_name, case.contact_phone) == (None, None)


async def test_category_override_routes_to_that_categorys_department(world: World) -> None:
    case = await intake.submit_report(
        session=world.session,
        reporter=world["resident"],
        draft=ReportDraft(text="想咨询一个法律问题", category_override="C10"),
        now=T0,
    )
    assert (case.category, case.lead_unit_id) == ("C10", world.units["justice"].id)


def test_preview_shows_where_a_report_goes_and_the_safety_alert() -> None:
    preview = intake.preview_routing(text="有人拿刀", now=T0)
    assert preview.unit_code == "police"
    assert preview.safety_alert is True
    assert preview.accept_by == T0 + timedelta(minutes=30)
    calm = intake.preview_routing(text="随便问问", now=T0)
    assert calm.needs_triage is True and calm.safety_alert is False


async def test_similar_open_cases_are_found_in_the_same_village(world: World) -> None:
    first = await intake.submit_report(
        session=world.session,
        reporter=world["resident"],
        draft=ReportDraft(text="工地老板欠薪三个月了", township="弥城镇", village="西山村"),
        now=T0,
    )
    found = await intake.find_similar_open_cases(
        session=world.session,
        text="工地老板欠薪三个月",
        category="D08",
        township="弥城镇",
        village="西山村",
        latitude=None,
        longitude=None,
        now=T0,
    )
    assert [c.id for c in found] == [first.id]
    elsewhere = await intake.find_similar_open_cases(
        session=world.session,
        text="工地老板欠薪三个月",
        category="D08",
        township="红岩镇",
        village="八家村",
        latitude=None,
        longitude=None,
        now=T0,
    )
    assert elsewhere == []


async def test_following_a_case_counts_one_more_reporter_once(world: World) -> None:
    case = await intake.submit_report(
        session=world.session, reporter=world["resident"], draft=ReportDraft(text="欠薪"), now=T0
    )
    for _ in range(2):
        case = await intake.follow_case(
            session=world.session, person=world["neighbour"], case_code=case.code
        )
    assert case.reporter_count == 2
