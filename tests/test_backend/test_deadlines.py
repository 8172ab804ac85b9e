"""The two clocks on the mainland working-day calendar, and the overdue scanner (both DBs)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from sqlmodel import col, select

from backend.county import load_county
from backend.models import Case, CaseEvent, OutboxMessage, RiskLevel
from backend.services import intake, workflow
from backend.services.deadlines import (
    accept_deadline,
    add_calendar_days,
    add_working_time,
    handle_deadline,
    scan_deadlines,
)
from backend.services.intake import ReportDraft

from .conftest import World

CST = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CST)


def test_the_calendar_package_knows_2026_national_day_and_its_make_up_saturday() -> None:
    # The tests below rely on these facts from chinese_calendar, not on a table of our own.
    assert all(chinese_calendar.is_holiday(local(2026, 10, d).date()) for d in range(1, 8))
    assert local(2026, 10, 10).weekday() == 5
    assert chinese_calendar.is_workday(local(2026, 10, 10).date())


def test_working_days_skip_the_national_day_holiday() -> None:
    start = local(2026, 9, 30, 10)  # Wednesday before 国庆
    # The first working day after 9-30 is 10-08: the limit ends at midnight after it.
    assert add_working_time(start, days=1, tz="Asia/Shanghai") == local(2026, 10, 9)
    # 10-08, 10-09 and the 调休 Saturday 10-10 count.
    assert add_working_time(start, days=3, tz="Asia/Shanghai") == local(2026, 10, 11)


def test_a_make_up_saturday_counts_and_an_ordinary_weekend_does_not() -> None:
    assert add_working_time(local(2026, 10, 9, 15), days=1) == local(2026, 10, 11)
    assert add_working_time(local(2026, 11, 27, 15), days=1) == local(2026, 12, 1)


def test_red_and_orange_cases_run_on_the_clock_through_holidays() -> None:
    profile = load_county().category_profile("D08")
    start = local(2026, 10, 1, 9)
    red = Case(code="x", text="x", risk_level=RiskLevel.red)
    orange = Case(code="x", text="x", risk_level=RiskLevel.orange)
    assert accept_deadline(red, profile, start) == start + timedelta(minutes=30)
    assert handle_deadline(red, profile, start) == start + timedelta(hours=24)
    assert accept_deadline(orange, profile, start) == start + timedelta(hours=4)
    assert add_working_time(start, hours=2) == start + timedelta(hours=2)


def test_petition_limit_in_calendar_days_moves_off_a_holiday() -> None:
    # 60 days after 08-03 is 10-02 (国庆): the limit moves to the next working day, 10-08.
    assert add_calendar_days(local(2026, 8, 3, 10), days=60) == local(2026, 10, 9)
    petition = load_county().category_profile("D21")
    case = Case(code="x", text="x", risk_level=RiskLevel.yellow)
    assert handle_deadline(case, petition, local(2026, 8, 3, 10)) == local(2026, 10, 9)


async def test_both_clocks_of_a_case_across_the_holiday(world: World) -> None:
    dispatched = local(2026, 9, 30, 10).astimezone(UTC)
    case = await intake.submit_report(
        session=world.session,
        reporter=world["resident"],
        draft=ReportDraft(text="欠薪"),
        now=dispatched,
    )
    # 签收 clock: 1 working day from dispatch → end of 10-08.
    assert case.accept_deadline == local(2026, 10, 9)
    accepted = local(2026, 10, 9, 15).astimezone(UTC)
    case = await workflow.accept(
        session=world.session, actor=world["hrss_staff"], case_id=case.id, now=accepted
    )
    # 办理 clock (一般 7 working days) from 签收: 10-10 (调休 Sat), 12, 13, 14, 15, 16, 19.
    assert case.handle_deadline == local(2026, 10, 20)


# --------------------------------------------------------------------------- scanner

# Dispatched Wednesday 2026-11-25 10:00 local; 签收 limit ends Friday 00:00 local (Thu 16:00 UTC).
DISPATCHED = local(2026, 11, 25, 10).astimezone(UTC)


async def warnings(world: World, case: Case) -> list[tuple[str, str, bool]]:
    rows = await world.session.exec(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == "deadline_warning")
        .order_by(col(CaseEvent.id))
    )
    return [(e.payload["clock"], e.payload["level"], e.payload["repeat"]) for e in rows.all()]


async def warning_recipients(world: World, case: Case) -> list[tuple[str, str]]:
    rows = await world.session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.case_id == case.id, OutboxMessage.kind == "deadline_warning")
        .order_by(col(OutboxMessage.id))
    )
    units = {u.id: code for code, u in world.units.items()}
    people = {p.id: name for name, p in world.people.items()}
    return [
        (
            m.payload["level"],
            units[m.recipient_unit_id] if m.recipient_unit_id else people[m.recipient_person_id],
        )
        for m in rows.all()
    ]


async def test_scanner_warns_yellow_then_red_once_each_and_repeats_red_per_working_day(
    world: World,
) -> None:
    case = await intake.submit_report(
        session=world.session,
        reporter=world["resident"],
        draft=ReportDraft(text="欠薪"),
        now=DISPATCHED,
    )
    scan = lambda when: scan_deadlines(session=world.session, now=when)  # noqa: E731
    assert (await scan(DISPATCHED + timedelta(hours=1))).yellow == 0
    near = local(2026, 11, 26, 18).astimezone(UTC)  # > 80 % of the window used
    assert (await scan(near)).yellow == 1
    assert (await scan(near + timedelta(minutes=30))).yellow == 0
    overdue = local(2026, 11, 27, 9).astimezone(UTC)
    first_red = await scan(overdue)
    assert (first_red.red, first_red.repeated) == (1, 0)
    assert (await scan(overdue + timedelta(hours=3))).red == 0  # same day: nothing new
    assert (await scan(local(2026, 11, 28, 9).astimezone(UTC))).repeated == 0  # Saturday
    assert (await scan(local(2026, 11, 30, 9).astimezone(UTC))).repeated == 1  # Monday
    assert (await scan(local(2026, 11, 30, 17).astimezone(UTC))).repeated == 0
    assert await warnings(world, case) == [
        ("accept", "yellow", False),
        ("accept", "red", False),
        ("accept", "red", True),
    ]
    recipients = await warning_recipients(world, case)
    assert recipients[:2] == [("yellow", "hrss_head"), ("yellow", "hrss")]
    assert ("red", "hrss_head") in recipients and ("red", "center") in recipients


async def test_handle_clock_warnings_go_to_the_claimer_and_heads(world: World) -> None:
    case = await intake.submit_report(
        session=world.session,
        reporter=world["resident"],
        draft=ReportDraft(text="欠薪"),
        now=DISPATCHED,
    )
    case = await workflow.accept(
        session=world.session, actor=world["hrss_staff"], case_id=case.id, now=DISPATCHED
    )
    assert case.handle_deadline is not None
    result = await scan_deadlines(
        session=world.session, now=case.handle_deadline + timedelta(hours=1)
    )
    assert result.red == 1
    assert await warnings(world, case) == [("handle", "red", False)]
    assert await warning_recipients(world, case) == [
        ("red", "hrss_staff"),
        ("red", "hrss_head"),
        ("red", "center"),
    ]


async def test_an_approved_extension_clears_the_warning(world: World) -> None:
    case = await intake.submit_report(
        session=world.session,
        reporter=world["resident"],
        draft=ReportDraft(text="欠薪"),
        now=DISPATCHED,
    )
    case = await workflow.accept(
        session=world.session, actor=world["hrss_staff"], case_id=case.id, now=DISPATCHED
    )
    assert case.handle_deadline is not None
    late = case.handle_deadline - timedelta(hours=20)
    assert (await scan_deadlines(session=world.session, now=late)).yellow == 1
    await workflow.request_extension(
        session=world.session, actor=world["hrss_staff"], case_id=case.id, days=5, reason="等鉴定"
    )
    case = await workflow.decide_extension(
        session=world.session, actor=world["dispatcher"], case_id=case.id, approve=True
    )
    assert case.handle_warning == ""
    assert (await scan_deadlines(session=world.session, now=late)).yellow == 0


async def test_two_scanners_at_once_warn_only_once(world: World) -> None:
    case = await intake.submit_report(
        session=world.session,
        reporter=world["resident"],
        draft=ReportDraft(text="欠薪"),
        now=DISPATCHED,
    )
    overdue = local(2026, 11, 27, 9).astimezone(UTC)

    async def one_scanner() -> int:
        async with world.factory() as session:
            result = await scan_deadlines(session=session, now=overdue)
            return result.red

    results = await asyncio.gather(*(one_scanner() for _ in range(4)))
    assert sum(results) == 1
    assert await warnings(world, case) == [("accept", "red", False)]


@pytest.mark.parametrize("fraction_hours", [1, 20])
async def test_no_warning_early_in_the_window(world: World, fraction_hours: int) -> None:
    await intake.submit_report(
        session=world.session,
        reporter=world["resident"],
        draft=ReportDraft(text="欠薪"),
        now=DISPATCHED,
    )
    result = await scan_deadlines(
        session=world.session, now=DISPATCHED + timedelta(hours=fraction_hours)
    )
    assert (result.yellow, result.red) == (0, 0)


async def test_daily_digest_is_queued_once_per_local_day(world: World) -> None:
    from backend.services.deadlines import enqueue_daily_digest

    await intake.submit_report(
        session=world.session,
        reporter=world["resident"],
        draft=ReportDraft(text="欠薪"),
        now=DISPATCHED,
    )
    morning = local(2026, 11, 25, 18).astimezone(UTC)
    numbers = await enqueue_daily_digest(session=world.session, now=morning)
    assert numbers == {"new": 1, "overdue": 0, "due_today": 0, "satisfaction": -1}
    await enqueue_daily_digest(session=world.session, now=morning + timedelta(hours=1))
    next_day = local(2026, 11, 26, 20).astimezone(UTC)
    assert (await enqueue_daily_digest(session=world.session, now=next_day))["due_today"] == 1
    rows = (
        await world.session.exec(select(OutboxMessage).where(OutboxMessage.kind == "digest"))
    ).all()
    assert [r.payload["date"] for r in rows] == ["2026-11-25", "2026-11-26"]
