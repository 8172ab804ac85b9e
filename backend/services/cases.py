"""Read side of cases: lookups, queues, search, who may see what, phone masking."""

from __future__ import annotations

import re
from dataclasses import dataclass
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
from backend.services.directory import CENTER_ROLES, STAFF_ROLES
from backend.services.errors import NotFound

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

CASE_CODE_RE = re.compile(r"^[A-Z]{1,6}\d{8}-\d{4,}$")


def mask_phone(phone: str | None) -> str:
    """``13812345678`` → ``138****5678``; short numbers keep only their last 2 digits."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


@dataclass
class CaseDetail:
    case: Case
    lead_unit: Unit | None
    tasks: list[tuple[CaseTask, Unit]]
    events: list[CaseEvent]
    attachments: list[Attachment]
    ratings: list[Rating]
    followers: list[Person]


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


async def search_cases(*, session: AsyncSession, query: str, limit: int = 50) -> list[Case]:
    """By case code, phone number or words in the text."""
    query = query.strip()
    if not query:
        return []
    if CASE_CODE_RE.match(query.upper()):
        found = (await session.exec(select(Case).where(Case.code == query.upper()))).first()
        return [found] if found else []
    pattern = f"%{query}%"
    rows = await session.exec(
        select(Case)
        .where(
            or_(
                col(Case.code).ilike(pattern),
                col(Case.contact_phone) == query,
                col(Case.text).ilike(pattern),
                col(Case.address).ilike(pattern),
            )
        )
        .order_by(col(Case.created_at).desc())
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


async def can_view(person: Person | None, case: Case, *, session: AsyncSession) -> bool:
    """Reporter, filer and followers; staff of the lead or an assisting unit; center roles."""
    if person is None:
        return False
    if person.role in CENTER_ROLES:
        return True
    if person.id is not None and person.id in (case.reporter_id, case.filed_by_id):
        return True
    if person.role in STAFF_ROLES and person.unit_id is not None:
        if person.unit_id == case.lead_unit_id:
            return True
        if await assisting_task(session=session, case=case, person=person) is not None:
            return True
    follower = (
        await session.exec(
            select(CaseFollower).where(
                CaseFollower.case_id == case.id, CaseFollower.person_id == person.id
            )
        )
    ).first()
    return follower is not None
