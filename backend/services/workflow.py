"""The case workflow: the ONLY place a case changes status.

Every action follows the same path (Netflix Dispatch style): load the case, check the actor's
role and unit, ask ``next_status`` (one ``match`` over (status, action)) for the new status, then
``_apply``: a conditional ``UPDATE … WHERE status = <old>`` (so concurrent presses have exactly one
winner), one CaseEvent, the outbox rows the action causes, and one commit. A refusal raises
NotAllowed / InvalidTransition / NotFound / ValidationFailed and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select, update

from backend.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseFollower,
    CaseStatus,
    CaseTask,
    Person,
    Rating,
    RatingScore,
    Role,
    TaskStatus,
    Unit,
)
from backend.models.base import utcnow
from backend.services import outbox, runtime
from backend.services.deadlines import accept_deadline, add_working_time, handle_deadline
from backend.services.directory import CENTER_ROLES, STAFF_ROLES, get_unit, unit_heads
from backend.services.errors import (
    DomainError,
    InvalidTransition,
    NotAllowed,
    NotFound,
    ValidationFailed,
)
from backend.services.outbox import NoticeKind

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


# ---------------------------------------------------------------- helpers


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
    return [
        Notice(NoticeKind.case_update, payload, person=p) for p in await _residents(session, case)
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


# ---------------------------------------------------------------- routing (used by intake too)


async def route_notices(
    session: AsyncSession, case: Case, unit: Unit, reason: str
) -> list[Notice]:
    """Who hears about a case that lands in a unit's queue (or in the center's triage window)."""
    if unit.code == "center":
        return [Notice(NoticeKind.triage, {}, unit=unit)]
    return [Notice(NoticeKind.case_card, {"reason": reason}, unit=unit)]


# ---------------------------------------------------------------- dispatcher actions


async def dispatch(
    *,
    session: AsyncSession,
    actor: Person,
    case_id: int,
    unit_code: str,
    now: datetime | None = None,
) -> Case:
    """Dispatcher sends a triaged (or returned) case to a unit: the 签收 clock starts."""
    now = _now(now)
    _require(actor, DISPATCH_ROLES)
    case = await _load(session, case_id)
    to = next_status(case.status, Action.dispatch)
    unit = await get_unit(session=session, code=unit_code)
    if unit.code == "center":
        raise ValidationFailed("请选择一个承办单位。", code="unit_required")
    values = {"lead_unit_id": unit.id, "department": unit.department, **_clock_reset(case, now)}
    notices = await route_notices(session, case, unit, "new")
    return await _apply(
        session,
        case,
        actor,
        Change(Action.dispatch, to, values, payload={"unit_code": unit.code}, notices=notices),
        now,
    )


async def transfer(
    *,
    session: AsyncSession,
    actor: Person,
    case_id: int,
    unit_code: str,
    reason: str,
    now: datetime | None = None,
) -> Case:
    """转派 to another unit, by a dispatcher or by staff of the lead unit."""
    now = _now(now)
    case = await _load(session, case_id)
    if actor.role not in DISPATCH_ROLES:
        _require_lead_staff(actor, case)
    to = next_status(case.status, Action.transfer)
    reason = _text(reason, "转派理由", code="reason_required")
    unit = await get_unit(session=session, code=unit_code)
    if unit.id == case.lead_unit_id:
        raise ValidationFailed("该事项已在这个单位。", code="same_unit")
    if unit.code == "center":
        raise ValidationFailed("请选择一个承办单位。", code="unit_required")
    values = {"lead_unit_id": unit.id, "department": unit.department, **_clock_reset(case, now)}
    notices = await route_notices(session, case, unit, "transfer")
    notices += await _resident_update(session, case, "transferred", unit_name=unit.name)
    return await _apply(
        session,
        case,
        actor,
        Change(
            Action.transfer,
            to,
            values,
            reason=reason,
            payload={"unit_code": unit.code, "from_unit_id": case.lead_unit_id},
            notices=notices,
        ),
        now,
    )


# ---------------------------------------------------------------- unit actions


async def accept(
    *, session: AsyncSession, actor: Person, case_id: int, now: datetime | None = None
) -> Case:
    """签收. Exactly one of several concurrent claimers wins; the others get InvalidTransition.

    Staff of an assisting unit with a pending 协办 task accept that task instead.
    """
    now = _now(now)
    case = await _load(session, case_id)
    if actor.role not in STAFF_ROLES:
        raise NotAllowed()
    if not _is_lead_staff(actor, case):
        task = await _task_for(session, case, actor)
        if task is None:
            raise NotAllowed("该事项不在您单位的办理范围内。", code="other_unit")
        return await _accept_task(session, case, actor, task, now)
    to = next_status(case.status, Action.accept)
    profile = runtime.county().category_profile(case.category)
    values = {
        "accepted_by_id": actor.id,
        "accepted_at": now,
        "handle_deadline": handle_deadline(case, profile, now, tz=runtime.tz()),
        "handle_warning": "",
        "last_overdue_notice": None,
    }
    notices = await _resident_update(
        session, case, "accepted", unit_name=await _unit_name(session, case)
    )
    return await _apply(
        session, case, actor, Change(Action.accept, to, values, notices=notices), now
    )


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


async def _accept_task(
    session: AsyncSession, case: Case, actor: Person, task: CaseTask, now: datetime
) -> Case:
    to = next_status(case.status, Action.accept_task)
    claimed = await session.exec(
        update(CaseTask)
        .where(col(CaseTask.id) == task.id, col(CaseTask.status) == TaskStatus.pending)
        .values(status=TaskStatus.accepted, accepted_by_id=actor.id, accepted_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        await end_unchanged(session)
        raise InvalidTransition("您单位的协办任务已被签收。", code="task_taken")
    return await _apply(
        session,
        case,
        actor,
        Change(Action.accept_task, to, payload={"task_id": task.id, "unit_id": task.unit_id}),
        now,
    )


async def return_case(
    *,
    session: AsyncSession,
    actor: Person,
    case_id: int,
    reason_code: str,
    text: str,
    now: datetime | None = None,
) -> Case:
    """退单 to the center with a reason; the dispatcher approves or overrules."""
    now = _now(now)
    case = await _load(session, case_id)
    _require_lead_staff(actor, case)
    to = next_status(case.status, Action.return_)
    if reason_code not in RETURN_REASONS:
        raise ValidationFailed("请选择退单原因。", code="reason_code_unknown")
    text = _text(text, "退单说明", code="reason_required")
    unit = await _unit(session, case.lead_unit_id)
    payload = {"reason_code": reason_code, "text": text, "unit_code": unit.code if unit else None}
    center = await _center(session)
    return await _apply(
        session,
        case,
        actor,
        Change(
            Action.return_,
            to,
            {"return_count": col(Case.return_count) + 1, **_no_clock()},
            reason=f"{reason_code}：{text}",
            payload={**payload, "returned_by_id": actor.id},
            notices=[Notice(NoticeKind.return_request, payload, unit=center)],
        ),
        now,
    )


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


async def approve_return(
    *,
    session: AsyncSession,
    actor: Person,
    case_id: int,
    unit_code: str | None = None,
    now: datetime | None = None,
) -> Case:
    """Dispatcher accepts a 退单: the case goes to ``unit_code``, or back to triage if None."""
    now = _now(now)
    _require(actor, DISPATCH_ROLES)
    case = await _load(session, case_id)
    if case.status != S.returned:
        next_status(case.status, Action.approve_return, target=S.dispatched)
    returner = await _last_actor(session, case, Action.return_)
    staff_notice = (
        [Notice(NoticeKind.staff_notice, {"event": "return_approved"}, person=returner)]
        if returner
        else []
    )
    if unit_code is None or unit_code == "center":
        to = next_status(case.status, Action.approve_return, target=S.triage)
        center = await _center(session)
        values = {"lead_unit_id": center.id, "department": "center", **_no_clock()}
        notices = [Notice(NoticeKind.triage, {}, unit=center), *staff_notice]
        return await _apply(
            session,
            case,
            actor,
            Change(
                Action.approve_return, to, values, payload={"unit_code": None}, notices=notices
            ),
            now,
        )
    to = next_status(case.status, Action.approve_return, target=S.dispatched)
    unit = await get_unit(session=session, code=unit_code)
    values = {"lead_unit_id": unit.id, "department": unit.department, **_clock_reset(case, now)}
    notices = await route_notices(session, case, unit, "transfer") + staff_notice
    return await _apply(
        session,
        case,
        actor,
        Change(
            Action.approve_return, to, values, payload={"unit_code": unit.code}, notices=notices
        ),
        now,
    )


async def overrule_return(
    *, session: AsyncSession, actor: Person, case_id: int, note: str, now: datetime | None = None
) -> Case:
    """Dispatcher refuses a 退单: the case goes back to the same unit with a new 签收 clock."""
    now = _now(now)
    _require(actor, DISPATCH_ROLES)
    case = await _load(session, case_id)
    to = next_status(case.status, Action.overrule_return)
    note = _text(note, "驳回理由", code="reason_required")
    unit = await _unit(session, case.lead_unit_id)
    if unit is None:
        raise InvalidTransition("该事项没有原承办单位。", code="no_unit")
    returner = await _last_actor(session, case, Action.return_)
    notices = [Notice(NoticeKind.case_card, {"reason": "overrule", "note": note}, unit=unit)]
    if returner is not None:
        notices.append(
            Notice(
                NoticeKind.staff_notice,
                {"event": "return_overruled", "note": note},
                person=returner,
            )
        )
    return await _apply(
        session,
        case,
        actor,
        Change(Action.overrule_return, to, _clock_reset(case, now), reason=note, notices=notices),
        now,
    )


async def request_joint(
    *,
    session: AsyncSession,
    actor: Person,
    case_id: int,
    unit_codes: list[str],
    reason: str,
    now: datetime | None = None,
) -> Case:
    """Lead unit asks the center to 吹哨: pull in assisting units (联办)."""
    now = _now(now)
    case = await _load(session, case_id)
    _require_lead_staff(actor, case)
    to = next_status(case.status, Action.request_joint)
    reason = _text(reason, "联办理由", code="reason_required")
    codes = await _assisting_codes(session, case, unit_codes)
    center = await _center(session)
    payload = {"unit_codes": codes, "reason": reason}
    return await _apply(
        session,
        case,
        actor,
        Change(
            Action.request_joint,
            to,
            reason=reason,
            payload=payload,
            notices=[Notice(NoticeKind.joint_request, payload, unit=center)],
        ),
        now,
    )


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


async def approve_joint(
    *,
    session: AsyncSession,
    actor: Person,
    case_id: int,
    unit_codes: list[str],
    now: datetime | None = None,
) -> Case:
    """Dispatcher sets up joint handling: one 协办 task per assisting unit, each 签收 its part."""
    now = _now(now)
    _require(actor, DISPATCH_ROLES)
    case = await _load(session, case_id)
    to = next_status(case.status, Action.approve_joint)
    codes = await _assisting_codes(session, case, unit_codes)
    existing = {
        t.unit_id
        for t in (await session.exec(select(CaseTask).where(CaseTask.case_id == case.id))).all()
    }
    lead = await _unit(session, case.lead_unit_id)
    tasks: list[CaseTask] = []
    notices: list[Notice] = []
    for code in codes:
        unit = await get_unit(session=session, code=code)
        if unit.id in existing:
            continue
        assert unit.id is not None and case.id is not None
        tasks.append(CaseTask(case_id=case.id, unit_id=unit.id))
        notices.append(
            Notice(
                NoticeKind.joint_task, {"lead_unit_code": lead.code if lead else None}, unit=unit
            )
        )
    if not tasks:
        raise InvalidTransition("这些单位已在协办该事项。", code="already_joint")
    if case.accepted_by_id is not None:
        claimer = await session.get(Person, case.accepted_by_id)
        if claimer is not None:
            notices.append(
                Notice(NoticeKind.staff_notice, {"event": "joint_approved"}, person=claimer)
            )
    return await _apply(
        session,
        case,
        actor,
        Change(
            Action.approve_joint,
            to,
            payload={"unit_codes": [c for c in codes]},
            notices=notices,
            extra_rows=tasks,
        ),
        now,
    )


async def complete_task(
    *,
    session: AsyncSession,
    actor: Person,
    case_id: int,
    result_text: str,
    now: datetime | None = None,
) -> Case:
    """An assisting unit reports its part done (its task must have been 签收 first)."""
    now = _now(now)
    case = await _load(session, case_id)
    if actor.role not in STAFF_ROLES:
        raise NotAllowed()
    task = await _task_for(session, case, actor)
    if task is None:
        raise NotAllowed("您的单位没有该事项的协办任务。", code="other_unit")
    to = next_status(case.status, Action.complete_task)
    result_text = _text(result_text, "协办结果", code="result_required")
    if task.status != TaskStatus.accepted:
        raise InvalidTransition(
            "请先签收协办任务。" if task.status == TaskStatus.pending else "协办任务已完成。",
            code="task_not_accepted" if task.status == TaskStatus.pending else "task_done",
        )
    done = await session.exec(
        update(CaseTask)
        .where(col(CaseTask.id) == task.id, col(CaseTask.status) == TaskStatus.accepted)
        .values(status=TaskStatus.done, done_at=now, result_text=result_text)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        await end_unchanged(session)
        raise InvalidTransition("协办任务已完成。", code="task_done")
    notices: list[Notice] = []
    lead = await _unit(session, case.lead_unit_id)
    if lead is not None:
        notices.append(
            Notice(
                NoticeKind.case_card, {"reason": "task_done", "unit_id": task.unit_id}, unit=lead
            )
        )
    return await _apply(
        session,
        case,
        actor,
        Change(
            Action.complete_task,
            to,
            reason=result_text,
            payload={"task_id": task.id, "unit_id": task.unit_id},
            notices=notices,
        ),
        now,
    )


async def request_extension(
    *,
    session: AsyncSession,
    actor: Person,
    case_id: int,
    days: int,
    reason: str,
    now: datetime | None = None,
) -> Case:
    """延期申请 by the lead unit (working days); the center decides."""
    now = _now(now)
    case = await _load(session, case_id)
    _require_lead_staff(actor, case)
    to = next_status(case.status, Action.request_extension)
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise ValidationFailed(
            f"延期天数应为 1 至 {MAX_EXTENSION_DAYS} 个工作日。", code="days_invalid"
        )
    reason = _text(reason, "延期理由", code="reason_required")
    if case.extension_requested_until is not None:
        raise InvalidTransition("已有延期申请在审核中。", code="extension_pending")
    base = case.handle_deadline or now
    until = add_working_time(base, days=days, tz=runtime.tz())
    center = await _center(session)
    payload = {"days": days, "reason": reason}
    return await _apply(
        session,
        case,
        actor,
        Change(
            Action.request_extension,
            to,
            {"extension_requested_until": until, "extension_reason": reason[:500]},
            reason=reason,
            payload={**payload, "until": until.isoformat()},
            notices=[Notice(NoticeKind.extension_request, payload, unit=center)],
        ),
        now,
    )


async def decide_extension(
    *,
    session: AsyncSession,
    actor: Person,
    case_id: int,
    approve: bool,
    note: str | None = None,
    now: datetime | None = None,
) -> Case:
    """Dispatcher approves (deadline moves, resident told) or denies a pending 延期 request."""
    now = _now(now)
    _require(actor, DISPATCH_ROLES)
    case = await _load(session, case_id)
    to = next_status(case.status, Action.decide_extension)
    if case.extension_requested_until is None:
        raise InvalidTransition("没有待审核的延期申请。", code="no_extension_request")
    claimer = await session.get(Person, case.accepted_by_id) if case.accepted_by_id else None
    values: dict[str, Any] = {"extension_requested_until": None, "extension_reason": None}
    notices: list[Notice] = []
    event = "extension_approved" if approve else "extension_denied"
    if approve:
        new_deadline = case.extension_requested_until
        values.update(
            handle_deadline=new_deadline,
            handle_warning="",
            last_overdue_notice=None,
            extension_count=col(Case.extension_count) + 1,
        )
        notices += await _resident_update(
            session, case, "extended", new_deadline=new_deadline.isoformat()
        )
    if claimer is not None:
        notices.append(
            Notice(NoticeKind.staff_notice, {"event": event, "note": note}, person=claimer)
        )
    return await _apply(
        session,
        case,
        actor,
        Change(
            Action.decide_extension,
            to,
            values,
            reason=note,
            payload={"approved": approve},
            notices=notices,
        ),
        now,
    )


async def _involved(session: AsyncSession, case: Case, actor: Person) -> bool:
    """Staff of the lead unit or of an assisting unit."""
    if actor.role not in STAFF_ROLES or actor.unit_id is None:
        return False
    return _is_lead_staff(actor, case) or await _task_for(session, case, actor) is not None


async def add_note(
    *, session: AsyncSession, actor: Person, case_id: int, text: str, now: datetime | None = None
) -> Case:
    """A working note on the case (not shown to the resident)."""
    now = _now(now)
    case = await _load(session, case_id)
    if actor.role not in CENTER_ROLES and not await _involved(session, case, actor):
        raise NotAllowed()
    to = next_status(case.status, Action.note)
    text = _text(text, "备注内容", code="text_required")
    return await _apply(session, case, actor, Change(Action.note, to, reason=text), now)


async def add_attachment(
    *,
    session: AsyncSession,
    actor: Person,
    case_id: int,
    kind: str,
    file_id: str,
    file_name: str | None = None,
    purpose: str = "material",
    now: datetime | None = None,
) -> Case:
    """A photo/document from the reporter, or material/evidence from involved staff."""
    now = _now(now)
    case = await _load(session, case_id)
    is_reporter = actor.id is not None and actor.id in (case.reporter_id, case.filed_by_id)
    if (
        not is_reporter
        and actor.role not in CENTER_ROLES
        and not await _involved(session, case, actor)
    ):
        raise NotAllowed()
    to = next_status(case.status, Action.attachment)
    if not file_id:
        raise ValidationFailed("附件缺失。", code="file_required")
    assert case.id is not None
    row = Attachment(
        case_id=case.id,
        kind=kind[:16],
        purpose=purpose[:16],
        telegram_file_id=file_id,
        file_name=file_name,
        uploaded_by_id=actor.id,
        created_at=now,
    )
    return await _apply(
        session,
        case,
        actor,
        Change(
            Action.attachment, to, payload={"kind": kind, "purpose": purpose}, extra_rows=[row]
        ),
        now,
    )


async def resolve(
    *,
    session: AsyncSession,
    actor: Person,
    case_id: int,
    result_text: str,
    evidence: list[Any] | None = None,
    now: datetime | None = None,
) -> Case:
    """办结 by the lead unit, refused while a 协办 task is open; the resident is asked to rate."""
    now = _now(now)
    case = await _load(session, case_id)
    _require_lead_staff(actor, case)
    to = next_status(case.status, Action.resolve)
    result_text = _text(result_text, "办理结果", code="result_required")
    open_tasks = (
        await session.exec(
            select(CaseTask).where(CaseTask.case_id == case.id, CaseTask.status != TaskStatus.done)
        )
    ).all()
    if open_tasks:
        raise InvalidTransition("还有协办单位未完成，全部完成后才能办结。", code="tasks_pending")
    assert case.id is not None
    rows = [
        Attachment(
            case_id=case.id,
            kind=str(e.kind)[:16],
            purpose="evidence",
            telegram_file_id=e.file_id,
            file_name=getattr(e, "file_name", None),
            uploaded_by_id=actor.id,
            created_at=now,
        )
        for e in evidence or []
    ]
    notices = await _resident_update(session, case, "resolved", result_text=result_text)
    if case.reporter_id is not None:
        reporter = await session.get(Person, case.reporter_id)
        if reporter is not None:
            notices.append(Notice(NoticeKind.rating_request, {}, person=reporter))
    return await _apply(
        session,
        case,
        actor,
        Change(
            Action.resolve,
            to,
            {"result_text": result_text, "resolved_at": now},
            reason=result_text,
            payload={"evidence": len(rows)},
            notices=notices,
            extra_rows=rows,
        ),
        now,
    )


async def rate(
    *,
    session: AsyncSession,
    actor: Person,
    case_id: int,
    score: RatingScore | str,
    reason: str | None = None,
    now: datetime | None = None,
) -> Case:
    """The reporter rates: 满意/基本满意 close the case, 不满意 reopens it (重办) at the unit."""
    now = _now(now)
    case = await _load(session, case_id)
    if actor.id is None or actor.id != case.reporter_id:
        raise NotAllowed("只有反映人可以评价。", code="not_reporter")
    try:
        score = RatingScore(score)
    except ValueError as exc:
        raise ValidationFailed("请选择满意、基本满意或不满意。", code="score_unknown") from exc
    unsatisfied = score == RatingScore.unsatisfied
    to = next_status(case.status, Action.rate, target=S.reopened if unsatisfied else S.closed)
    assert case.id is not None
    rating = Rating(
        case_id=case.id, person_id=actor.id, score=score, reason=reason, created_at=now
    )
    if not unsatisfied:
        notices = await _resident_update(session, case, "closed")
        return await _apply(
            session,
            case,
            actor,
            Change(
                Action.rate,
                to,
                {"closed_at": now},
                reason=reason,
                payload={"score": str(score)},
                notices=notices,
                extra_rows=[rating],
            ),
            now,
        )
    unit = await _unit(session, case.lead_unit_id)
    center = await _center(session)
    notices = [Notice(NoticeKind.unsatisfied, {"reason": reason}, unit=center)]
    if unit is not None:
        notices.append(Notice(NoticeKind.case_card, {"reason": "reopen"}, unit=unit))
    notices += await _resident_update(session, case, "reopened")
    values = {
        "reopen_count": col(Case.reopen_count) + 1,
        "resolved_at": None,
        **_clock_reset(case, now),
    }
    return await _apply(
        session,
        case,
        actor,
        Change(
            Action.rate,
            to,
            values,
            reason=reason,
            payload={"score": str(score)},
            notices=notices,
            extra_rows=[rating],
        ),
        now,
    )


async def close(
    *, session: AsyncSession, actor: Person, case_id: int, reason: str, now: datetime | None = None
) -> Case:
    """结案 by the center: a resolved case not rated in time, or an open one (e.g. withdrawn)."""
    now = _now(now)
    _require(actor, CENTER_ROLES)
    case = await _load(session, case_id)
    to = next_status(case.status, Action.close)
    reason = _text(reason, "结案理由", code="reason_required")
    notices = await _resident_update(session, case, "closed")
    return await _apply(
        session,
        case,
        actor,
        Change(
            Action.close, to, {"closed_at": now, **_no_clock()}, reason=reason, notices=notices
        ),
        now,
    )


async def supervise(
    *, session: AsyncSession, actor: Person, case_id: int, note: str, now: datetime | None = None
) -> Case:
    """督办: a dispatcher or supervisor presses the unit; sent to its group and its heads."""
    now = _now(now)
    _require(actor, CENTER_ROLES)
    case = await _load(session, case_id)
    to = next_status(case.status, Action.supervise)
    note = _text(note, "督办意见", code="reason_required")
    unit = await _unit(session, case.lead_unit_id)
    payload = {"note": note, "by": actor.display_name}
    notices: list[Notice] = []
    if unit is not None:
        notices.append(Notice(NoticeKind.supervision, payload, unit=unit))
        notices += [
            Notice(NoticeKind.supervision, payload, person=h)
            for h in await unit_heads(session=session, unit_id=unit.id)
        ]
    return await _apply(
        session, case, actor, Change(Action.supervise, to, reason=note, notices=notices), now
    )


async def follow(
    *, session: AsyncSession, actor: Person, case_id: int, now: datetime | None = None
) -> Case:
    """关注此案: a resident with the same problem follows the case instead of a duplicate."""
    now = _now(now)
    case = await _load(session, case_id)
    to = next_status(case.status, Action.follow)
    if actor.id == case.reporter_id:
        return case
    assert case.id is not None and actor.id is not None
    existing = (
        await session.exec(
            select(CaseFollower).where(
                CaseFollower.case_id == case.id, CaseFollower.person_id == actor.id
            )
        )
    ).first()
    if existing is not None:
        return case
    row = CaseFollower(case_id=case.id, person_id=actor.id, created_at=now)
    return await _apply(
        session,
        case,
        actor,
        Change(
            Action.follow, to, {"reporter_count": col(Case.reporter_count) + 1}, extra_rows=[row]
        ),
        now,
    )
