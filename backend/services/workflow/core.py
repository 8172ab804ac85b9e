"""Workflow core: the transition table, and the one write path every action takes (``_apply``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update

from backend.models import (
    Case,
    CaseEvent,
    CaseFollower,
    CaseStatus,
    CaseTask,
    Person,
    Unit,
)
from backend.models.base import utcnow
from backend.services import outbox, runtime
from backend.services.deadlines import accept_deadline
from backend.services.directory import get_unit
from backend.services.errors import (
    DomainError,
    ErrorCode,
    InvalidTransition,
    NotFound,
    ValidationFailed,
)
from backend.services.outbox import NoticeKind
from backend.services.privacy import is_party
from backend.services.workflow.policy import actor_task, authorise
from backend.services.workflow.transitions import Action

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession


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
    guards: list[Any] = field(default_factory=list)
    """Extra WHERE conditions: a decision is written only if what it decides is still pending."""


async def _load(session: AsyncSession, case_id: int) -> Case:
    case = await session.get(Case, case_id, populate_existing=True)
    if case is None:
        raise NotFound()
    return case


async def _authorised(
    session: AsyncSession, action: Action, case_id: int, actor: Person
) -> tuple[Case, CaseTask | None]:
    """Load the case and the actor's 协办 task, and check the one policy for ``action``."""
    case = await _load(session, case_id)
    task = await actor_task(session, case, actor)
    authorise(action, case, actor, task=task)
    return case, task


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
    session: AsyncSession, case: Case, event: str, *, skip: Person | None = None, **extra: Any
) -> list[Notice]:
    """case_update for the reporter and followers (``skip``: the resident who acted and is
    answered directly, so they are not told twice)."""
    payload = {"event": event, "code": case.code, **extra}
    follower_payload = {"event": event, "code": case.code}  # no result text, no unit reply
    return [
        Notice(
            NoticeKind.case_update, payload if is_party(p, case) else follower_payload, person=p
        )
        for p in await _residents(session, case)
        if skip is None or p.id != skip.id
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


def _text(value: str | None, what: str, *, code: ErrorCode) -> str:
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
    if change.action in CARD_ACTIONS:
        change.notices += await _card_refresh(session, case, change.notices)
    try:
        values = {"status": change.to_status, "updated_at": now, **change.values}
        result = await session.exec(
            update(Case)
            .where(col(Case.id) == case.id, col(Case.status) == from_status, *change.guards)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            await end_unchanged(session)
            raise _conflict()
        for row in change.extra_rows:
            session.add(row)
        await record_event(session, case, actor, change, from_status, now)
        await session.commit()
    except DomainError:
        raise
    except IntegrityError as exc:
        # A concurrent decision inserted the same rows first (e.g. two 吹哨 approvals).
        await rollback_keeping(session, case, actor)
        raise _conflict() from exc
    except BaseException:
        await rollback_keeping(session, case, actor)
        raise
    await session.refresh(case)
    return case


# Actions after which the unit group's card shows another headline (or other buttons).
CARD_ACTIONS = frozenset(
    {
        Action.accept,
        Action.return_,
        Action.approve_return,
        Action.overrule_return,
        Action.transfer,
        Action.request_extension,
        Action.decide_extension,
        Action.resolve,
        Action.rate,
        Action.close,
    }
)


async def _card_refresh(session: AsyncSession, case: Case, notices: list[Notice]) -> list[Notice]:
    """Edit the last card a unit group got for this case in place (its headline follows every
    transition, whoever made it: bot, web or a rating). When the same unit also gets a new card
    (重办, 退单未获批准), the old one takes the new card's reason."""
    assert case.id is not None
    card = await outbox.last_sent_card(session=session, case_id=case.id)
    if card is None or card.recipient_unit_id is None:
        return []
    unit = await session.get(Unit, card.recipient_unit_id)
    if unit is None:
        return []
    payload: dict[str, Any] = {"outbox_id_of_card": card.id}
    for notice in notices:
        same_unit = notice.unit is not None and notice.unit.id == unit.id
        if notice.kind == NoticeKind.case_card and same_unit:
            payload["reason"] = notice.payload.get("reason")
    return [Notice(NoticeKind.card_update, payload, unit=unit)]


def _conflict() -> InvalidTransition:
    return InvalidTransition("该事项刚刚已被他人处理，请刷新后查看。", code=ErrorCode.conflict)


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
    rows = []
    for n in change.notices:
        recipient = f"p{n.person.id}" if n.person is not None else f"u{n.unit.id if n.unit else 0}"
        row = outbox.notice_row(
            kind=n.kind,
            case_id=case.id,
            payload={"code": case.code, **n.payload},
            dedupe_key=f"ev{event.id}:{n.kind}:{recipient}",
            person=n.person,
            unit=n.unit,
            now=now,
        )
        if row is not None:
            rows.append(row)
    await outbox.enqueue_rows(session=session, rows=rows)  # one statement for every notice
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
        raise ValidationFailed(
            "请选择至少一个协办单位（不含主办单位）。", code=ErrorCode.units_required
        )
    return codes
