"""The two clocks of a case (签收 and 办理), working-day arithmetic, and the overdue scanner.

Working days follow the mainland calendar with its public holidays and 调休 make-up days, from
the maintained ``chinese_calendar`` package. A limit of N working days ends at midnight (local
time) after the N-th working day that follows the start day. Calendar-day limits (信访 60日)
that end on a rest day move to the next working day. Red/orange cases run on the clock.
Times are stored in UTC; day arithmetic happens in the county's time zone (Settings.tz).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import or_, update
from sqlmodel import col, select

from backend.county import TimeProfile
from backend.models import Case, CaseEvent, CaseStatus, Person, Unit
from backend.models.base import utcnow
from backend.models.case import AWAITING_CLAIM_STATUSES

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

DEFAULT_TZ = "Asia/Shanghai"
WARNING_RANK = {"": 0, "yellow": 1, "red": 2}


def _zone(tz: str | ZoneInfo | None) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    return ZoneInfo(tz or DEFAULT_TZ)


def as_utc(moment: datetime) -> datetime:
    """Aware UTC datetime (naive values are taken as UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def is_working_day(day: date) -> bool:
    """Mainland working day: weekdays that are not holidays, plus 调休 make-up weekends."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # Beyond the package's published years: plain Monday-Friday until it is updated.
        return day.weekday() < 5


def next_working_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def _local_midnight_after(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def add_working_time(
    start: datetime,
    *,
    days: int = 0,
    hours: int = 0,
    minutes: int = 0,
    tz: str | ZoneInfo | None = DEFAULT_TZ,
) -> datetime:
    """End of the ``days``-th working day after ``start``, plus clock hours/minutes."""
    zone = _zone(tz)
    result = as_utc(start)
    if days > 0:
        day = result.astimezone(zone).date()
        for _ in range(days):
            day = next_working_day(day)
        result = _local_midnight_after(day, zone)
    return result + timedelta(hours=hours, minutes=minutes)


def add_calendar_days(
    start: datetime, *, days: int, tz: str | ZoneInfo | None = DEFAULT_TZ
) -> datetime:
    """End of the ``days``-th calendar day after ``start``; moved to the next working day if that
    is a rest day (as statutory periods are)."""
    zone = _zone(tz)
    day = as_utc(start).astimezone(zone).date() + timedelta(days=days)
    while not is_working_day(day):
        day += timedelta(days=1)
    return _local_midnight_after(day, zone)


def accept_deadline(
    case: Case, profile: TimeProfile, start: datetime, *, tz: str | ZoneInfo | None = DEFAULT_TZ
) -> datetime:
    """签收 deadline, counted from dispatch."""
    clock = profile.risk_clocks.get(str(case.risk_level))
    if clock is not None:
        return as_utc(start) + timedelta(minutes=clock.accept_minutes)
    return add_working_time(start, days=profile.accept_working_days, tz=tz)


def handle_deadline(
    case: Case, profile: TimeProfile, start: datetime, *, tz: str | ZoneInfo | None = DEFAULT_TZ
) -> datetime:
    """办理 deadline, counted from 签收."""
    clock = profile.risk_clocks.get(str(case.risk_level))
    if clock is not None:
        return as_utc(start) + timedelta(hours=clock.handle_hours)
    if profile.handle_calendar_days:
        return add_calendar_days(start, days=profile.handle_calendar_days, tz=tz)
    return add_working_time(start, days=profile.handle_working_days, tz=tz)


def warn_fraction(case: Case, profile: TimeProfile) -> float:
    clock = profile.risk_clocks.get(str(case.risk_level))
    return clock.warn_at if clock is not None else profile.warn_at


def warning_level(
    start: datetime | None, deadline: datetime | None, now: datetime, fraction: float
) -> str:
    """ "" (in time), "yellow" (``fraction`` of the window used) or "red" (overdue)."""
    if deadline is None:
        return ""
    deadline, now = as_utc(deadline), as_utc(now)
    if now >= deadline:
        return "red"
    if start is not None:
        start = as_utc(start)
        if now >= start + (deadline - start) * fraction:
            return "yellow"
    return ""


@dataclass
class ScanResult:
    yellow: int = 0
    red: int = 0
    repeated: int = 0


HANDLE_CLOCK_STATUSES = (CaseStatus.accepted,)


async def scan_deadlines(
    *,
    session: AsyncSession,
    now: datetime | None = None,
    county: object | None = None,
    tz: str | ZoneInfo | None = None,
) -> ScanResult:
    """Mark cases near (yellow) or past (red) a deadline, once per level and clock, and raise 督办.

    Red repeats once per working day while the case stays overdue. Each change is claimed with a
    conditional UPDATE, so two scanners running at once never warn twice. Commits.
    """
    from backend.county import County
    from backend.services import outbox, runtime
    from backend.services.directory import unit_heads
    from backend.services.workflow.policy import awaits_claim  # workflow imports deadlines

    county_data = county if isinstance(county, County) else runtime.county()
    now = as_utc(now or utcnow())
    zone = _zone(tz or runtime.tz())
    result = ScanResult()
    rows = await session.exec(
        select(Case).where(
            or_(
                col(Case.status).in_(AWAITING_CLAIM_STATUSES)
                & col(Case.accept_deadline).is_not(None),
                col(Case.status).in_(HANDLE_CLOCK_STATUSES)
                & col(Case.handle_deadline).is_not(None),
            )
        )
    )
    center = (await session.exec(select(Unit).where(Unit.code == "center"))).first()
    for case in list(rows.all()):
        assert case.id is not None
        profile = county_data.category_profile(case.category)
        if awaits_claim(case):
            clock, start, deadline, current = (
                "accept",
                case.dispatched_at,
                case.accept_deadline,
                case.accept_warning,
            )
            field = "accept_warning"
        else:
            clock, start, deadline, current = (
                "handle",
                case.accepted_at,
                case.handle_deadline,
                case.handle_warning,
            )
            field = "handle_warning"
        level = warning_level(start, deadline, now, warn_fraction(case, profile))
        repeat = False
        if WARNING_RANK[level] <= WARNING_RANK[current or ""]:
            if not (level == "red" and _repeat_due(case.last_overdue_notice, now, zone)):
                continue
            repeat = True
        values: dict[str, object] = {field: level, "updated_at": now}
        if level == "red":
            values["last_overdue_notice"] = now
        claim = (
            update(Case)
            .where(col(Case.id) == case.id, col(Case.status) == case.status)
            .where(getattr(Case, field) == (current or ""))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if repeat:
            claim = claim.where(col(Case.last_overdue_notice) == case.last_overdue_notice)
        outcome = await session.exec(claim)
        if outcome.rowcount != 1:
            continue
        await session.refresh(case)
        event = CaseEvent(
            case_id=case.id,
            action="deadline_warning",
            from_status=str(case.status),
            to_status=str(case.status),
            payload={
                "clock": clock,
                "level": level,
                "deadline": as_utc(deadline).isoformat() if deadline else None,
                "repeat": repeat,
            },
            created_at=now,
        )
        session.add(event)
        await session.flush()
        payload = {
            "clock": clock,
            "level": level,
            "deadline": as_utc(deadline).isoformat() if deadline else None,
            "code": case.code,
            "repeat": repeat,
        }
        recipients_people: list[Person] = []
        recipients_units: list[Unit] = []
        claimer = await session.get(Person, case.accepted_by_id) if case.accepted_by_id else None
        heads = (
            await unit_heads(session=session, unit_id=case.lead_unit_id)
            if case.lead_unit_id
            else []
        )
        lead = await session.get(Unit, case.lead_unit_id) if case.lead_unit_id else None
        if claimer is not None and clock == "handle":
            recipients_people.append(claimer)
        elif lead is not None and level == "yellow":
            recipients_units.append(lead)
        recipients_people.extend(h for h in heads if h not in recipients_people)
        if level == "red" and center is not None:
            recipients_units.append(center)
        for person in recipients_people:
            await outbox.enqueue(
                session=session,
                kind=outbox.NoticeKind.deadline_warning,
                case_id=case.id,
                payload=payload,
                dedupe_key=f"ev{event.id}:deadline_warning:p{person.id}",
                person=person,
            )
        for unit in recipients_units:
            await outbox.enqueue(
                session=session,
                kind=outbox.NoticeKind.deadline_warning,
                case_id=case.id,
                payload=payload,
                dedupe_key=f"ev{event.id}:deadline_warning:u{unit.id}",
                unit=unit,
            )
        if repeat:
            result.repeated += 1
        elif level == "red":
            result.red += 1
        else:
            result.yellow += 1
        await session.commit()
    await session.commit()
    return result


def _repeat_due(last: datetime | None, now: datetime, zone: ZoneInfo) -> bool:
    """A red warning repeats on each later working day while the case stays overdue."""
    if last is None:
        return True
    today = now.astimezone(zone).date()
    return today > as_utc(last).astimezone(zone).date() and is_working_day(today)


async def enqueue_daily_digest(
    *, session: AsyncSession, now: datetime | None = None, tz: str | ZoneInfo | None = None
) -> dict[str, int]:
    """Queue the center's daily digest once per local day (commits); returns its numbers.

    payload: new (cases created since the previous local midnight), overdue (open past a
    deadline), due_today (a deadline by the end of today), satisfaction (per cent of
    满意/基本满意 among the ratings of the last 30 days, -1 when there are none).
    """
    from sqlalchemy import and_, func

    from backend.models import Rating, RatingScore
    from backend.services import outbox, runtime

    zone = _zone(tz or runtime.tz())
    now = as_utc(now or utcnow())
    today = now.astimezone(zone).date()
    midnight = datetime.combine(today, time(0), tzinfo=zone).astimezone(UTC)
    tomorrow = midnight + timedelta(days=1)
    waiting = col(Case.status).in_(AWAITING_CLAIM_STATUSES)
    working = col(Case.status).in_(HANDLE_CLOCK_STATUSES)

    async def count(*conditions: Any) -> int:
        result = await session.exec(select(func.count()).select_from(Case).where(*conditions))
        return int(result.one())

    new = await count(col(Case.created_at) >= midnight)
    overdue = await count(
        or_(
            and_(waiting, col(Case.accept_deadline) <= now),
            and_(working, col(Case.handle_deadline) <= now),
        )
    )
    due_today = await count(
        or_(
            and_(waiting, col(Case.accept_deadline) > now, col(Case.accept_deadline) <= tomorrow),
            and_(working, col(Case.handle_deadline) > now, col(Case.handle_deadline) <= tomorrow),
        )
    )
    ratings = (
        await session.exec(
            select(Rating.score).where(col(Rating.created_at) >= now - timedelta(days=30))
        )
    ).all()
    good = sum(1 for r in ratings if r != RatingScore.unsatisfied)
    numbers = {
        "new": new,
        "overdue": overdue,
        "due_today": due_today,
        "satisfaction": round(100 * good / len(ratings)) if ratings else -1,
    }
    center = (await session.exec(select(Unit).where(Unit.code == "center"))).first()
    if center is not None:
        await outbox.enqueue(
            session=session,
            kind=outbox.NoticeKind.digest,
            case_id=None,
            payload={**numbers, "date": today.isoformat()},
            dedupe_key=f"digest:{today.isoformat()}",
            unit=center,
            now=now,
        )
        await session.commit()
    return numbers


__all__ = [
    "ScanResult",
    "accept_deadline",
    "add_calendar_days",
    "add_working_time",
    "as_utc",
    "enqueue_daily_digest",
    "handle_deadline",
    "is_working_day",
    "next_working_day",
    "scan_deadlines",
    "warning_level",
]
