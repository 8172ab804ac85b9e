"""Read side of cases: lookups, queues, search, who may see what, and the case view.

Phone masking and who sees numbers unmasked live in backend/services/privacy.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import or_
from sqlmodel import col, select

from backend.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseFollower,
    CaseStatus,
    CaseTask,
    Person,
    Rating,
    Unit,
)
from backend.services import privacy, workflow
from backend.services.directory import CENTER_ROLES, STAFF_ROLES
from backend.services.errors import NotAllowed, NotFound

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

CASE_CODE_RE = re.compile(r"^[A-Z]{1,6}\d{8}-\d{4,}$")
# A code as people type it: any case, spaces or a full-width dash, the number without its zeros.
TYPED_CODE_RE = re.compile(r"(?<![A-Za-z])([A-Za-z]{1,6})\s*(\d{8})\s*[-－—–]\s*(\d{1,6})(?!\d)")
# Words around a code that still make the message a lookup ("我的编号是…", "帮我查一下…进度");
# a longer text that mentions a code is a description, not a lookup.
LOOKUP_EXTRA_CHARS = 16
SEQUENCE_DIGITS = 4


@dataclass
class CaseDetail:
    case: Case
    lead_unit: Unit | None
    tasks: list[tuple[CaseTask, Unit]]
    events: list[CaseEvent]
    attachments: list[Attachment]
    ratings: list[Rating]
    followers: list[Person]


def typed_case_code(text: str) -> str | None:
    """The case code a message asks about ("md20261204-2" → "MD20261204-0002"), or None.

    None as well when the code only appears inside a longer text (a report that mentions it).
    """
    found = TYPED_CODE_RE.search(text)
    if found is None:
        return None
    rest = TYPED_CODE_RE.sub("", text, count=1)
    if len(re.sub(r"[\s\W_]", "", rest)) > LOOKUP_EXTRA_CHARS:
        return None
    prefix, day, number = found.groups()
    return f"{prefix.upper()}{day}-{number.zfill(SEQUENCE_DIGITS)}"


async def get_case(*, session: AsyncSession, case_id: int) -> Case:
    case = await session.get(Case, case_id)
    if case is None:
        raise NotFound()
    return case


async def get_case_by_code(*, session: AsyncSession, code: str) -> Case:
    case = (await session.exec(select(Case).where(Case.code == code.strip().upper()))).first()
    if case is None:
        raise NotFound("没有找到该编号的事项，请核对编号。")
    return case


async def case_detail(*, session: AsyncSession, case_id: int) -> CaseDetail:
    case = await get_case(session=session, case_id=case_id)
    lead = await session.get(Unit, case.lead_unit_id) if case.lead_unit_id else None
    tasks = await session.exec(
        select(CaseTask, Unit)
        .join(Unit, col(Unit.id) == col(CaseTask.unit_id))
        .where(CaseTask.case_id == case_id)
        .order_by(col(CaseTask.id))
    )
    events = await session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.id))
    )
    attachments = await session.exec(
        select(Attachment).where(Attachment.case_id == case_id).order_by(col(Attachment.id))
    )
    ratings = await session.exec(
        select(Rating).where(Rating.case_id == case_id).order_by(col(Rating.id))
    )
    followers = await session.exec(
        select(Person)
        .join(CaseFollower, col(CaseFollower.person_id) == col(Person.id))
        .where(CaseFollower.case_id == case_id)
        .order_by(col(Person.id))
    )
    return CaseDetail(
        case=case,
        lead_unit=lead,
        tasks=[(t, u) for t, u in tasks.all()],
        events=list(events.all()),
        attachments=list(attachments.all()),
        ratings=list(ratings.all()),
        followers=list(followers.all()),
    )


async def list_cases_for_person(
    *, session: AsyncSession, person: Person, limit: int = 20
) -> list[Case]:
    """Cases the person reported, filed (grid worker) or follows; newest first."""
    followed = select(CaseFollower.case_id).where(CaseFollower.person_id == person.id)
    rows = await session.exec(
        select(Case)
        .where(
            or_(
                col(Case.reporter_id) == person.id,
                col(Case.filed_by_id) == person.id,
                col(Case.id).in_(followed),
            )
        )
        .order_by(col(Case.created_at).desc(), col(Case.id).desc())
        .limit(limit)
    )
    return list(rows.all())


async def list_unit_queue(
    *,
    session: AsyncSession,
    unit_id: int,
    statuses: list[CaseStatus] | None = None,
    category: str | None = None,
    township: str | None = None,
    risk: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Case]:
    """A unit's cases (lead or assisting), most urgent deadline first."""
    statuses = statuses or [
        CaseStatus.dispatched,
        CaseStatus.reopened,
        CaseStatus.accepted,
        CaseStatus.returned,
    ]
    assisting = select(CaseTask.case_id).where(CaseTask.unit_id == unit_id)
    query = select(Case).where(
        or_(col(Case.lead_unit_id) == unit_id, col(Case.id).in_(assisting)),
        col(Case.status).in_(statuses),
    )
    if category:
        query = query.where(Case.category == category)
    if township:
        query = query.where(Case.township == township)
    if risk:
        query = query.where(Case.risk_level == risk)
    query = query.order_by(
        col(Case.accept_deadline).is_(None),
        col(Case.accept_deadline),
        col(Case.created_at),
    )
    rows = await session.exec(query.offset(offset).limit(limit))
    return list(rows.all())


async def list_in_hand(*, session: AsyncSession, person: Person, limit: int = 30) -> list[Case]:
    """Cases this staff member claimed and still handles, most urgent deadline first."""
    rows = await session.exec(
        select(Case)
        .where(col(Case.accepted_by_id) == person.id, col(Case.status) == CaseStatus.accepted)
        .order_by(col(Case.handle_deadline).is_(None), col(Case.handle_deadline))
        .limit(limit)
    )
    return list(rows.all())


async def list_cases(
    *,
    session: AsyncSession,
    statuses: list[CaseStatus] | None = None,
    unit_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Case]:
    """All cases, newest first (CLI, dashboards)."""
    query = select(Case)
    if statuses:
        query = query.where(col(Case.status).in_(statuses))
    if unit_id is not None:
        query = query.where(Case.lead_unit_id == unit_id)
    rows = await session.exec(
        query.order_by(col(Case.created_at).desc(), col(Case.id).desc())
        .offset(offset)
        .limit(limit)
    )
    return list(rows.all())


async def assisting_task(*, session: AsyncSession, case: Case, person: Person) -> CaseTask | None:
    """The assisting (协办) task the person's unit holds on this case, if any."""
    if person.unit_id is None:
        return None
    rows = await session.exec(
        select(CaseTask).where(CaseTask.case_id == case.id, CaseTask.unit_id == person.unit_id)
    )
    return rows.first()


async def can_view_as_staff(person: Person | None, case: Case, *, session: AsyncSession) -> bool:
    """Center roles, and staff of the lead or an assisting unit: the staff screens."""
    if person is None:
        return False
    if person.role in CENTER_ROLES:
        return True
    if person.role in STAFF_ROLES and person.unit_id is not None:
        if person.unit_id == case.lead_unit_id:
            return True
        if await assisting_task(session=session, case=case, person=person) is not None:
            return True
    return False


async def is_follower(person: Person | None, case: Case, *, session: AsyncSession) -> bool:
    if person is None or person.id is None:
        return False
    row = (
        await session.exec(
            select(CaseFollower.id).where(
                CaseFollower.case_id == case.id, CaseFollower.person_id == person.id
            )
        )
    ).first()
    return row is not None


async def can_view(person: Person | None, case: Case, *, session: AsyncSession) -> bool:
    """Reporter, filer and followers; staff of the lead or an assisting unit; center roles."""
    if person is None:
        return False
    if privacy.is_party(person, case):
        return True
    if await can_view_as_staff(person, case, session=session):
        return True
    return await is_follower(person, case, session=session)


@dataclass(frozen=True)
class CaseView:
    """A case as one person may see it outside the staff desk (/mycases, deep link).

    ``restricted`` is the view of a follower (关注此案): code, category, unit and status only;
    no text, place, reporter, attachments, deadlines or result. Everyone else who may see the
    case gets the text, with numbers masked unless ``privacy.may_see_contact`` allows them.
    """

    case_id: int
    code: str
    status: CaseStatus
    category: str | None
    unit: Unit | None
    restricted: bool
    created_at: datetime | None = None
    text: str = ""
    result_text: str = ""
    accept_deadline: datetime | None = None
    handle_deadline: datetime | None = None
    may_rate: bool = False


def running_clocks(case: Case) -> tuple[datetime | None, datetime | None]:
    """(签收 deadline, 办理 deadline), each only while that clock runs."""
    return (
        case.accept_deadline if workflow.awaits_claim(case) else None,
        case.handle_deadline if workflow.is_in_hand(case) else None,
    )


async def case_view(
    *, session: AsyncSession, person: Person | None, case: Case, private: bool = True
) -> CaseView:
    """The case as ``person`` may see it; NotAllowed when they may not see it at all."""
    assert case.id is not None
    unit = await session.get(Unit, case.lead_unit_id) if case.lead_unit_id else None
    restricted = CaseView(
        case_id=case.id,
        code=case.code,
        status=case.status,
        category=case.category,
        unit=unit,
        restricted=True,
    )
    if privacy.is_party(person, case) or await can_view_as_staff(person, case, session=session):
        reveal = privacy.may_see_contact(person, case, private=private)
        accept_deadline, handle_deadline = running_clocks(case)
        return replace(
            restricted,
            restricted=False,
            created_at=case.created_at,
            text=privacy.shown_text(case.text, reveal=reveal),
            accept_deadline=accept_deadline,
            handle_deadline=handle_deadline,
            result_text=(
                privacy.shown_text(case.result_text, reveal=reveal)
                if workflow.has_outcome(case)
                else ""
            ),
            may_rate=person is not None
            and workflow.Action.rate in workflow.allowed_actions(case, person),
        )
    if await is_follower(person, case, session=session):
        return restricted
    raise NotAllowed("您无权查看该事项。", code="case_not_visible")
