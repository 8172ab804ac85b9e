"""Workflow core: the transition table, and the one write path every action takes (``_apply``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select, update

from backend.models import (
    Case,
    CaseEvent,
    CaseFollower,
    CaseStatus,
    CaseTask,
    Person,
    Role,
    Unit,
)
from backend.models.base import utcnow
from backend.services import outbox, runtime
from backend.services.deadlines import accept_deadline
from backend.services.directory import STAFF_ROLES, get_unit
from backend.services.errors import (
    DomainError,
    InvalidTransition,
    NotAllowed,
    NotFound,
    ValidationFailed,
)
from backend.services.outbox import NoticeKind
from backend.services.privacy import is_party

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession


S = CaseStatus


class Action(StrEnum):
    submit = "submit"
    dispatch = "dispatch"
    accept = "accept"
    accept_task = "accept_task"
    return_ = "return"
    approve_return = "approve_return"
    overrule_return = "overrule_return"
    transfer = "transfer"
    request_joint = "request_joint"
    approve_joint = "approve_joint"
    complete_task = "complete_task"
    request_extension = "request_extension"
    decide_extension = "decide_extension"
    note = "note"
    attachment = "attachment"
    resolve = "resolve"
    rate = "rate"
    close = "close"
    supervise = "supervise"
    follow = "follow"
    grid_resolved = "grid_resolved"


RETURN_REASONS = ("属地不符", "权属不清", "职能交叉", "其他")


DISPATCH_ROLES = frozenset({Role.dispatcher, Role.admin})


OPEN = (S.triage, S.dispatched, S.accepted, S.returned, S.reopened)


WORKING = (S.dispatched, S.accepted, S.reopened)


MAX_EXTENSION_DAYS = 30


def next_status(
    status: CaseStatus, action: Action, *, target: CaseStatus | None = None
) -> CaseStatus:
    """The one transition table: the status after ``action``, or InvalidTransition.

    ``target`` picks between the outcomes of actions that have two (approve_return →
    dispatched or triage; rate → closed or reopened).
    """
    match (status, action):
        case (S.triage | S.returned, Action.dispatch):
            return S.dispatched
        case (S.dispatched | S.reopened, Action.accept):
            return S.accepted
        case (S.dispatched | S.reopened | S.accepted, Action.return_):
            return S.returned
        case (S.returned, Action.approve_return) if target in (S.dispatched, S.triage):
            return target
        case (S.returned, Action.overrule_return):
            return S.dispatched
        case (S.triage | S.dispatched | S.accepted | S.returned | S.reopened, Action.transfer):
            return S.dispatched
        case (
            S.accepted,
            Action.request_joint | Action.request_extension | Action.decide_extension,
        ):
            return status
        case (S.dispatched | S.accepted | S.reopened, Action.approve_joint):
            return status
        case (S.dispatched | S.accepted | S.reopened, Action.accept_task | Action.complete_task):
            return status
        case (S.accepted, Action.resolve):
            return S.resolved
        case (S.resolved, Action.rate) if target in (S.closed, S.reopened):
            return target
        case (
            S.triage | S.dispatched | S.accepted | S.returned | S.reopened | S.resolved,
            Action.close,
        ):
            return S.closed
        case (
            S.triage | S.dispatched | S.accepted | S.returned | S.reopened | S.resolved,
            Action.note | Action.attachment | Action.supervise | Action.follow,
        ):
            return status
    raise InvalidTransition(_STATE_MESSAGES.get(status, InvalidTransition.default_message))


_STATE_MESSAGES = {
    S.closed: "该事项已办结归档，不能再操作。",
    S.grid_resolved: "该事项已由网格员就地化解，不能再操作。",
    S.accepted: "该事项已被签收。",
    S.resolved: "该事项已办结，正在等待群众评价。",
    S.returned: "该事项已退回综治中心，正在等待审核。",
    S.triage: "该事项正在综治中心分派中。",
}


@dataclass
class Notice:
    kind: NoticeKind
    payload: dict[str, Any]
    person: Person | None = None
    unit: Unit | None = None


@dataclass
class Change:
    """What ``_apply`` writes: the new status, column values, the event and the notices."""

    action: Action
    to_status: CaseStatus
    values: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    notices: list[Notice] = field(default_factory=list)
    extra_rows: list[Any] = field(default_factory=list)


async def _load(session: AsyncSession, case_id: int) -> Case:
    case = await session.get(Case, case_id, populate_existing=True)
    if case is None:
        raise NotFound()
    return case


def _require(
    actor: Person, roles: frozenset[Role] | set[Role], message: str | None = None
) -> None:
    if actor.role not in roles:
        raise NotAllowed(message)


def _is_lead_staff(actor: Person, case: Case) -> bool:
    return (
        actor.role in STAFF_ROLES
        and actor.unit_id is not None
        and actor.unit_id == case.lead_unit_id
    )


def _require_lead_staff(actor: Person, case: Case) -> None:
    if actor.role not in STAFF_ROLES:
        raise NotAllowed()
    if not _is_lead_staff(actor, case):
        raise NotAllowed("该事项不在您单位的办理范围内。", code="other_unit")


async def _center(session: AsyncSession) -> Unit:
    return await get_unit(session=session, code="center")


async def _unit(session: AsyncSession, unit_id: int | None) -> Unit | None:
    return await session.get(Unit, unit_id) if unit_id is not None else None


async def _residents(session: AsyncSession, case: Case) -> list[Person]:
    """The reporter and the people following the case (they get case_update)."""
    people: list[Person] = []
    if case.reporter_id is not None:
        reporter = await session.get(Person, case.reporter_id)
        if reporter is not None:
            people.append(reporter)
    rows = await session.exec(
        select(Person)
        .join(CaseFollower, col(CaseFollower.person_id) == col(Person.id))
        .where(CaseFollower.case_id == case.id)
        .order_by(col(Person.id))
    )
    people.extend(p for p in rows.all() if p not in people)
    return people


async def _resident_update(
    session: AsyncSession, case: Case, event: str, **extra: Any
) -> list[Notice]:
    payload = {"event": event, "code": case.code, **extra}
    follower_payload = {"event": event, "code": case.code}  # no result text, no unit reply
    return [
        Notice(
            NoticeKind.case_update, payload if is_party(p, case) else follower_payload, person=p
        )
        for p in await _residents(session, case)
    ]


def _clock_reset(case: Case, now: datetime) -> dict[str, Any]:
    """A fresh 签收 clock: the case waits at a unit from ``now``."""
    profile = runtime.county().category_profile(case.category)
    return {
        "dispatched_at": now,
        "accept_deadline": accept_deadline(case, profile, now, tz=runtime.tz()),
        "accept_warning": "",
        "accepted_by_id": None,
        "accepted_at": None,
        "handle_deadline": None,
        "handle_warning": "",
        "last_overdue_notice": None,
    }


def _no_clock() -> dict[str, Any]:
    return {
        "accept_deadline": None,
        "accept_warning": "",
        "handle_deadline": None,
        "handle_warning": "",
        "last_overdue_notice": None,
    }


def _text(value: str | None, what: str, *, code: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationFailed(f"请填写{what}。", code=code)
    return value


async def _apply(
    session: AsyncSession, case: Case, actor: Person | None, change: Change, now: datetime
) -> Case:
    """Write one action atomically: conditional status UPDATE, event, outbox rows, commit."""
    assert case.id is not None
    from_status = case.status
    try:
        values = {"status": change.to_status, "updated_at": now, **change.values}
        result = await session.exec(
            update(Case)
            .where(col(Case.id) == case.id, col(Case.status) == from_status)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            await end_unchanged(session)
            raise InvalidTransition("该事项刚刚已被他人处理，请刷新后查看。", code="conflict")
        for row in change.extra_rows:
            session.add(row)
        await record_event(session, case, actor, change, from_status, now)
        await session.commit()
    except DomainError:
        raise
    except BaseException:
        await rollback_keeping(session, case, actor)
        raise
    await session.refresh(case)
    return case


async def end_unchanged(session: AsyncSession) -> None:
    """End a transaction that wrote nothing (a lost race) without expiring the caller's objects.

    A rollback would expire every loaded object, and the transports still hold them (actor, unit).
    """
    if session.new or session.dirty or session.deleted:
        await session.rollback()
    else:
        await session.commit()


async def rollback_keeping(session: AsyncSession, *objects: Any) -> None:
    """Roll back after an unexpected failure, then reload the caller's objects (best effort)."""
    await session.rollback()
    for obj in objects:
        if obj is None:
            continue
        try:
            await session.refresh(obj)
        except Exception:
            return


async def record_event(
    session: AsyncSession,
    case: Case,
    actor: Person | None,
    change: Change,
    from_status: CaseStatus | None,
    now: datetime,
) -> CaseEvent:
    """Append the action's CaseEvent and enqueue its notices (no commit: caller's transaction)."""
    assert case.id is not None
    event = CaseEvent(
        case_id=case.id,
        actor_id=actor.id if actor else None,
        actor_role=str(actor.role) if actor else "system",
        action=str(change.action),
        from_status=str(from_status) if from_status is not None else None,
        to_status=str(change.to_status),
        reason=change.reason,
        payload=change.payload,
        created_at=now,
    )
    session.add(event)
    await session.flush()
    for n in change.notices:
        recipient = f"p{n.person.id}" if n.person is not None else f"u{n.unit.id if n.unit else 0}"
        await outbox.enqueue(
            session=session,
            kind=n.kind,
            case_id=case.id,
            payload={"code": case.code, **n.payload},
            dedupe_key=f"ev{event.id}:{n.kind}:{recipient}",
            person=n.person,
            unit=n.unit,
            now=now,
        )
    return event


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


async def route_notices(
    session: AsyncSession, case: Case, unit: Unit, reason: str
) -> list[Notice]:
    """Who hears about a case that lands in a unit's queue (or in the center's triage window)."""
    if unit.code == "center":
        return [Notice(NoticeKind.triage, {}, unit=unit)]
    return [Notice(NoticeKind.case_card, {"reason": reason}, unit=unit)]


async def _unit_name(session: AsyncSession, case: Case) -> str:
    unit = await _unit(session, case.lead_unit_id)
    return unit.name if unit else ""


async def _task_for(session: AsyncSession, case: Case, actor: Person) -> CaseTask | None:
    if actor.unit_id is None:
        return None
    return (
        await session.exec(
            select(CaseTask)
            .where(CaseTask.case_id == case.id, CaseTask.unit_id == actor.unit_id)
            .execution_options(populate_existing=True)
        )
    ).first()


async def _last_actor(session: AsyncSession, case: Case, action: Action) -> Person | None:
    event = (
        await session.exec(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id, CaseEvent.action == str(action))
            .order_by(col(CaseEvent.id).desc())
        )
    ).first()
    if event is None or event.actor_id is None:
        return None
    return await session.get(Person, event.actor_id)


async def _assisting_codes(session: AsyncSession, case: Case, unit_codes: list[str]) -> list[str]:
    codes: list[str] = []
    for code in unit_codes:
        unit = await get_unit(session=session, code=code)
        if unit.id == case.lead_unit_id or unit.code == "center" or unit.code in codes:
            continue
        codes.append(unit.code)
    if not codes:
        raise ValidationFailed("请选择至少一个协办单位（不含主办单位）。", code="units_required")
    return codes


async def _involved(session: AsyncSession, case: Case, actor: Person) -> bool:
    """Staff of the lead unit or of an assisting unit."""
    if actor.role not in STAFF_ROLES or actor.unit_id is None:
        return False
    return _is_lead_staff(actor, case) or await _task_for(session, case, actor) is not None


# Public name for transports (the bot shows these when a button no longer applies).
STATE_MESSAGES = _STATE_MESSAGES
