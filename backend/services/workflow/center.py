"""Center actions (综治中心 dispatcher and supervisor).

Dispatch, transfer, 退单 decisions, 联办 set-up, 延期 decisions, 结案, 督办.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select

from backend.models import (
    Case,
    CaseTask,
    Person,
)
from backend.services.directory import get_unit, unit_heads
from backend.services.errors import ErrorCode, InvalidTransition, ValidationFailed
from backend.services.outbox import NoticeKind
from backend.services.workflow.core import (
    Change,
    Notice,
    _apply,
    _assisting_codes,
    _authorised,
    _center,
    _clock_reset,
    _last_actor,
    _no_clock,
    _now,
    _resident_update,
    _text,
    _unit,
    route_notices,
)
from backend.services.workflow.transitions import Action, S, next_status

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession


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
    case, _ = await _authorised(session, Action.dispatch, case_id, actor)
    to = next_status(case.status, Action.dispatch)
    unit = await get_unit(session=session, code=unit_code)
    if unit.code == "center":
        raise ValidationFailed("请选择一个承办单位。", code=ErrorCode.unit_required)
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
    case, _ = await _authorised(session, Action.transfer, case_id, actor)
    to = next_status(case.status, Action.transfer)
    reason = _text(reason, "转派理由", code=ErrorCode.reason_required)
    unit = await get_unit(session=session, code=unit_code)
    if unit.id == case.lead_unit_id:
        raise ValidationFailed("该事项已在这个单位。", code=ErrorCode.same_unit)
    if unit.code == "center":
        raise ValidationFailed("请选择一个承办单位。", code=ErrorCode.unit_required)
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
    case, _ = await _authorised(session, Action.approve_return, case_id, actor)
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
    case, _ = await _authorised(session, Action.overrule_return, case_id, actor)
    to = next_status(case.status, Action.overrule_return)
    note = _text(note, "驳回理由", code=ErrorCode.reason_required)
    unit = await _unit(session, case.lead_unit_id)
    if unit is None:
        raise InvalidTransition("该事项没有原承办单位。", code=ErrorCode.no_unit)
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
    case, _ = await _authorised(session, Action.approve_joint, case_id, actor)
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
        raise InvalidTransition("这些单位已在协办该事项。", code=ErrorCode.already_joint)
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
    case, _ = await _authorised(session, Action.decide_extension, case_id, actor)
    to = next_status(case.status, Action.decide_extension)
    requested = case.extension_requested_until
    assert requested is not None
    claimer = await session.get(Person, case.accepted_by_id) if case.accepted_by_id else None
    values: dict[str, Any] = {"extension_requested_until": None, "extension_reason": None}
    notices: list[Notice] = []
    event = "extension_approved" if approve else "extension_denied"
    if approve:
        new_deadline = requested
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
            guards=[col(Case.extension_requested_until).is_not(None)],
        ),
        now,
    )


async def close(
    *, session: AsyncSession, actor: Person, case_id: int, reason: str, now: datetime | None = None
) -> Case:
    """结案 by the center: a resolved case not rated in time, or an open one (e.g. withdrawn)."""
    now = _now(now)
    case, _ = await _authorised(session, Action.close, case_id, actor)
    to = next_status(case.status, Action.close)
    reason = _text(reason, "结案理由", code=ErrorCode.reason_required)
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
    case, _ = await _authorised(session, Action.supervise, case_id, actor)
    to = next_status(case.status, Action.supervise)
    note = _text(note, "督办意见", code=ErrorCode.reason_required)
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
