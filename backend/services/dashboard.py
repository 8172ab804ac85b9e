"""Read side of the web dashboard: the center's board, a unit's queue, search, the case page.

Every query here is scoped by the signed-in person: the center roles (dispatcher, supervisor,
admin) see the whole county; staff and unit heads see only cases their unit leads or assists.
Nothing here changes a case (that is backend/services/workflow.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseStatus,
    CaseTask,
    Invite,
    Person,
    Rating,
    RiskLevel,
    Role,
    Unit,
)
from backend.models.case import AWAITING_CLAIM_STATUSES, OPEN_STATUSES
from backend.services import privacy
from backend.services.errors import NotAllowed, NotFound
from backend.services.web_auth import WebUser

CASE_CODE_RE = re.compile(r"^[A-Za-z]{1,6}\d{8}-\d{1,6}$")
PHONE_RE = re.compile(r"^\+?\d[\d\s-]{5,18}\d$")
NUMBER_PROBE_RE = re.compile(r"\d{4}")
BOARD_LIMIT = 15


def local_day_bounds(now: datetime, tz: str) -> tuple[datetime, datetime]:
    """Start and end (UTC) of the local calendar day containing ``now``."""
    zone = ZoneInfo(tz)
    day = now.astimezone(zone).date()
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """Open cases whose running clock (签收 or 办理) has passed."""
    return or_(
        and_(col(Case.status).in_(AWAITING_CLAIM_STATUSES), col(Case.accept_deadline) < now),
        and_(col(Case.status) == CaseStatus.accepted, col(Case.handle_deadline) < now),
    )


def due_between_clause(start: datetime, end: datetime) -> ColumnElement[bool]:
    return or_(
        and_(
            col(Case.status).in_(AWAITING_CLAIM_STATUSES),
            col(Case.accept_deadline) >= start,
            col(Case.accept_deadline) < end,
        ),
        and_(
            col(Case.status) == CaseStatus.accepted,
            col(Case.handle_deadline) >= start,
            col(Case.handle_deadline) < end,
        ),
    )


def unit_scope_clause(unit_id: int) -> ColumnElement[bool]:
    """Cases a unit leads or assists (协办)."""
    assisted = select(CaseTask.case_id).where(CaseTask.unit_id == unit_id)
    return or_(col(Case.lead_unit_id) == unit_id, col(Case.id).in_(assisted))


def scope_clause(user: WebUser) -> ColumnElement[bool] | None:
    if user.is_center:
        return None
    if user.unit is None or user.unit.id is None:
        return col(Case.id) == -1  # staff without a unit see nothing
    return unit_scope_clause(user.unit.id)


# ------------------------------------------------------------------ board


BOARD_SECTIONS = (
    "new",
    "triage",
    "red",
    "overdue",
    "due_today",
    "returned",
    "extension",
    "unsatisfied",
)


@dataclass
class BoardSection:
    key: str
    count: int
    cases: list[Case]


def board_clauses(now: datetime, tz: str) -> dict[str, ColumnElement[bool]]:
    _, day_end = local_day_bounds(now, tz)
    return {
        "new": col(Case.created_at) >= now - timedelta(hours=24),
        "triage": col(Case.status) == CaseStatus.triage,
        "red": and_(col(Case.risk_level) == RiskLevel.red, col(Case.status).in_(OPEN_STATUSES)),
        "overdue": overdue_clause(now),
        "due_today": due_between_clause(now, day_end),
        "returned": col(Case.status) == CaseStatus.returned,
        "extension": and_(
            col(Case.status) == CaseStatus.accepted,
            col(Case.extension_requested_until).is_not(None),
        ),
        "unsatisfied": col(Case.status) == CaseStatus.reopened,
    }


async def center_board(
    *, session: AsyncSession, user: WebUser, tz: str, now: datetime | None = None
) -> list[BoardSection]:
    """The center's board: one section per thing that needs a decision today."""
    if not user.is_center:
        raise NotAllowed("综治中心总览仅供中心调度、督办和管理员使用。")
    moment = now or datetime.now(UTC)
    sections = []
    for key, clause in board_clauses(moment, tz).items():
        count = (await session.exec(select(func.count()).select_from(Case).where(clause))).one()
        order = col(Case.created_at).desc()
        rows = (
            await session.exec(select(Case).where(clause).order_by(order).limit(BOARD_LIMIT))
        ).all()
        sections.append(BoardSection(key=key, count=int(count), cases=list(rows)))
    return sections


# ------------------------------------------------------------------ queue


@dataclass
class QueueFilter:
    unit_id: int | None = None
    status: str | None = None  # a CaseStatus, or "open"
    category: str | None = None
    township: str | None = None
    risk: str | None = None
    deadline: str | None = None  # overdue | today | week
    page: int = 1
    per_page: int = 50


@dataclass
class QueuePage:
    cases: list[Case]
    total: int
    filters: QueueFilter
    unit: Unit | None


async def unit_queue(
    *,
    session: AsyncSession,
    user: WebUser,
    filters: QueueFilter,
    tz: str,
    now: datetime | None = None,
) -> QueuePage:
    """A unit's queue with filters; staff and unit heads are held to their own unit."""
    moment = now or datetime.now(UTC)
    clauses: list[ColumnElement[bool]] = []
    unit: Unit | None = None
    if user.is_center:
        if filters.unit_id is not None:
            unit = await session.get(Unit, filters.unit_id)
            if unit is None:
                raise NotFound("没有找到该单位。")
            clauses.append(unit_scope_clause(filters.unit_id))
    else:
        if filters.unit_id is not None and (user.unit is None or filters.unit_id != user.unit.id):
            raise NotAllowed("您只能查看本单位的事项。")
        unit = user.unit
        scope = scope_clause(user)
        if scope is not None:
            clauses.append(scope)
    if filters.status == "open" or not filters.status:
        clauses.append(col(Case.status).in_(OPEN_STATUSES))
    elif filters.status != "all":
        clauses.append(col(Case.status) == filters.status)
    if filters.category:
        clauses.append(col(Case.category) == filters.category)
    if filters.township:
        clauses.append(col(Case.township) == filters.township)
    if filters.risk:
        clauses.append(col(Case.risk_level) == filters.risk)
    if filters.deadline == "overdue":
        clauses.append(overdue_clause(moment))
    elif filters.deadline == "today":
        clauses.append(due_between_clause(moment, local_day_bounds(moment, tz)[1]))
    elif filters.deadline == "week":
        clauses.append(due_between_clause(moment, moment + timedelta(days=7)))
    where = and_(*clauses) if clauses else None
    count_q = select(func.count()).select_from(Case)
    list_q = select(Case)
    if where is not None:
        count_q = count_q.where(where)
        list_q = list_q.where(where)
    total = int((await session.exec(count_q)).one())
    page = max(filters.page, 1)
    rows = (
        await session.exec(
            list_q.order_by(col(Case.created_at).desc())
            .offset((page - 1) * filters.per_page)
            .limit(filters.per_page)
        )
    ).all()
    return QueuePage(cases=list(rows), total=total, filters=filters, unit=unit)


# ------------------------------------------------------------------ search


@dataclass
class SearchResult:
    query: str
    kind: str  # code | phone | words | empty
    cases: list[Case]
    refused_phone: bool = False


async def search(
    *, session: AsyncSession, user: WebUser, query: str, limit: int = 50
) -> SearchResult:
    """Find cases by case code, words of the text, or (center roles only) phone number."""
    text = query.strip()
    if not text:
        return SearchResult(query=text, kind="empty", cases=[])
    scope = scope_clause(user)
    base = select(Case)
    if scope is not None:
        base = base.where(scope)
    if CASE_CODE_RE.match(text):
        rows = (await session.exec(base.where(col(Case.code) == text.upper()))).all()
        return SearchResult(query=text, kind="code", cases=list(rows))
    if PHONE_RE.match(text):
        if not user.is_center:
            return SearchResult(query=text, kind="phone", cases=[], refused_phone=True)
        digits = re.sub(r"\D", "", text)
        rows = (
            await session.exec(
                base.where(
                    col(Case.contact_phone).contains(digits), col(Case.anonymous).is_(False)
                )
                .order_by(col(Case.created_at).desc())
                .limit(limit)
            )
        ).all()
        return SearchResult(query=text, kind="phone", cases=list(rows))
    words = [word for word in re.split(r"\s+", text) if word][:5]
    query_q = base
    for word in words:
        query_q = query_q.where(
            or_(col(Case.code).contains(word.upper()), *_text_match(user, word))
        )
    rows = (await session.exec(query_q.order_by(col(Case.created_at).desc()).limit(limit))).all()
    return SearchResult(query=text, kind="words", cases=list(rows))


def _text_match(user: WebUser, word: str) -> list[ColumnElement[bool]]:
    """Where a search word may match besides the code. Digits (a number fragment) match the
    text only where this user would see that number unmasked, so a search cannot be used to
    confirm a masked number digit by digit."""
    clauses = [
        col(Case.text).contains(word),
        col(Case.village).contains(word),
        col(Case.address).contains(word),
    ]
    if not NUMBER_PROBE_RE.search(word):
        return clauses
    if not user.is_center:
        return []
    return [and_(col(Case.anonymous).is_(False), or_(*clauses))]


# ------------------------------------------------------------------ case page


@dataclass
class TimelineEntry:
    event: CaseEvent
    actor_label: str


@dataclass
class CasePage:
    case: Case
    lead_unit: Unit | None
    tasks: list[tuple[CaseTask, Unit | None]]
    timeline: list[TimelineEntry]
    attachments: list[Attachment]
    ratings: list[Rating]
    accepted_by: str
    phone_shown: str
    may_see_phone: bool
    text: str = ""  # the case text as this user may read it (numbers masked or not)
    result_text: str = ""
    address: str = ""
    reasons: list[str] = field(default_factory=list)
    classification: dict[str, Any] = field(default_factory=dict)


ROLE_LABELS = {
    Role.resident: "群众",
    Role.grid_worker: "网格员",
    Role.staff: "工作人员",
    Role.unit_head: "单位负责人",
    Role.dispatcher: "中心调度",
    Role.supervisor: "中心督办",
    Role.admin: "管理员",
    "system": "系统",
}


async def can_view(*, session: AsyncSession, user: WebUser, case: Case) -> bool:
    if user.is_center:
        return True
    if user.unit is None or user.unit.id is None:
        return False
    if case.lead_unit_id == user.unit.id:
        return True
    task = (
        await session.exec(
            select(CaseTask.id).where(
                CaseTask.case_id == case.id, CaseTask.unit_id == user.unit.id
            )
        )
    ).first()
    return task is not None


async def load_case(*, session: AsyncSession, user: WebUser, code: str) -> Case:
    """The case by its code, if the user may see it (NotFound / NotAllowed otherwise)."""
    case = (await session.exec(select(Case).where(Case.code == code))).first()
    if case is None:
        raise NotFound()
    if not await can_view(session=session, user=user, case=case):
        raise NotAllowed("该事项不属于您的单位，无法查看。")
    return case


def _actor_label(
    case: Case, person: Person | None, role: str, units: dict[int, Unit], actor_id: int | None
) -> str:
    if privacy.actor_hidden(case, actor_id=actor_id, actor_role=role):
        anonymous_reporter = case.anonymous and actor_id == case.reporter_id
        return "匿名群众" if anonymous_reporter else "群众"  # never named on staff pages
    role_label = ROLE_LABELS.get(role, role)
    if person is None:
        return role_label
    unit = units.get(person.unit_id or -1)
    name = person.display_name or f"#{person.id}"
    return f"{name}（{unit.name + ' · ' if unit else ''}{role_label}）"


async def case_page(*, session: AsyncSession, user: WebUser, code: str) -> CasePage:
    """Everything the case page shows: text, reasons, tasks, timeline, attachments, ratings."""
    case = await load_case(session=session, user=user, code=code)
    units = {unit.id: unit for unit in (await session.exec(select(Unit))).all() if unit.id}
    tasks = (await session.exec(select(CaseTask).where(CaseTask.case_id == case.id))).all()
    events = (
        await session.exec(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id)
            .order_by(col(CaseEvent.created_at), col(CaseEvent.id))
        )
    ).all()
    actor_ids = {e.actor_id for e in events if e.actor_id} | (
        {case.accepted_by_id} if case.accepted_by_id else set()
    )
    people: dict[int, Person] = {}
    if actor_ids:
        found = (await session.exec(select(Person).where(col(Person.id).in_(actor_ids)))).all()
        people = {p.id: p for p in found if p.id}
    timeline = [
        TimelineEntry(
            event=e,
            actor_label=_actor_label(
                case, people.get(e.actor_id or -1), e.actor_role, units, e.actor_id
            ),
        )
        for e in events
    ]
    attachments = (
        await session.exec(select(Attachment).where(Attachment.case_id == case.id))
    ).all()
    ratings = (
        await session.exec(
            select(Rating).where(Rating.case_id == case.id).order_by(col(Rating.created_at))
        )
    ).all()
    may_see_phone = privacy.may_see_contact(user.person, case, private=True)
    phone = case.contact_phone or ""
    classification = dict(case.classification or {})
    reasons = classification.get("reasons") or []
    accepted_by = people.get(case.accepted_by_id or -1)
    return CasePage(
        case=case,
        lead_unit=units.get(case.lead_unit_id or -1),
        tasks=[(task, units.get(task.unit_id)) for task in tasks],
        timeline=timeline,
        attachments=list(attachments),
        ratings=list(ratings),
        accepted_by=(
            _actor_label(case, accepted_by, accepted_by.role, units, accepted_by.id)
            if accepted_by
            else ""
        ),
        phone_shown=privacy.shown_phone(phone, reveal=may_see_phone),
        may_see_phone=may_see_phone,
        text=privacy.shown_text(case.text, reveal=may_see_phone),
        result_text=privacy.shown_text(case.result_text, reveal=may_see_phone),
        address=privacy.shown_text(case.address, reveal=may_see_phone),
        reasons=[str(r) for r in reasons] if isinstance(reasons, list) else [str(reasons)],
        classification=classification,
    )


async def units_by_id(*, session: AsyncSession) -> dict[int, Unit]:
    return {unit.id: unit for unit in (await session.exec(select(Unit))).all() if unit.id}


# ------------------------------------------------------------------ admin


@dataclass
class UnitRow:
    unit: Unit
    staff: int
    open_cases: int


async def unit_rows(*, session: AsyncSession) -> list[UnitRow]:
    """Units with their bound chat, number of staff and open cases."""
    units = (await session.exec(select(Unit).order_by(col(Unit.code)))).all()
    staff = dict(
        (
            await session.exec(
                select(Person.unit_id, func.count())
                .where(col(Person.unit_id).is_not(None))
                .group_by(col(Person.unit_id))
            )
        ).all()
    )
    open_cases = dict(
        (
            await session.exec(
                select(Case.lead_unit_id, func.count())
                .where(col(Case.status).in_(OPEN_STATUSES))
                .group_by(col(Case.lead_unit_id))
            )
        ).all()
    )
    return [
        UnitRow(unit=u, staff=int(staff.get(u.id, 0)), open_cases=int(open_cases.get(u.id, 0)))
        for u in units
    ]


async def recent_invites(*, session: AsyncSession, limit: int = 100) -> list[Invite]:
    rows = (
        await session.exec(select(Invite).order_by(col(Invite.created_at).desc()).limit(limit))
    ).all()
    return list(rows)
