"""Unit actions (department and township staff).

签收, 退单, 联办 requests and 协办 tasks, 延期 requests, notes, attachments, 办结.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select, update

from backend.models import (
    Attachment,
    Case,
    CaseTask,
    Person,
    TaskStatus,
)
from backend.services import runtime
from backend.services.deadlines import add_working_time, handle_deadline
from backend.services.errors import ErrorCode, InvalidTransition, ValidationFailed
from backend.services.outbox import NoticeKind
from backend.services.workflow.core import (
    Change,
    Notice,
    _apply,
    _assisting_codes,
    _authorised,
    _center,
    _load,
    _no_clock,
    _now,
    _resident_update,
    _text,
    _unit,
    _unit_name,
    end_unchanged,
)
from backend.services.workflow.policy import actor_task, authorise, is_lead_staff
from backend.services.workflow.transitions import (
    MAX_EXTENSION_DAYS,
    RETURN_REASONS,
    Action,
    next_status,
)

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession


async def accept(
    *, session: AsyncSession, actor: Person, case_id: int, now: datetime | None = None
) -> Case:
    """签收. Exactly one of several concurrent claimers wins; the others get InvalidTransition.

    Staff of an assisting unit with a pending 协办 task accept that task instead.
    """
    now = _now(now)
    case = await _load(session, case_id)
    task = await actor_task(session, case, actor)
    lead = is_lead_staff(actor, case)
    authorise(Action.accept if lead else Action.accept_task, case, actor, task=task)
    if not lead:
        assert task is not None
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
        raise InvalidTransition("您单位的协办任务已被签收。", code=ErrorCode.task_taken)
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
    case, _ = await _authorised(session, Action.return_, case_id, actor)
    to = next_status(case.status, Action.return_)
    if reason_code not in RETURN_REASONS:
        raise ValidationFailed("请选择退单原因。", code=ErrorCode.reason_code_unknown)
    text = _text(text, "退单说明", code=ErrorCode.reason_required)
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
    case, _ = await _authorised(session, Action.request_joint, case_id, actor)
    to = next_status(case.status, Action.request_joint)
    reason = _text(reason, "联办理由", code=ErrorCode.reason_required)
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
    case, task = await _authorised(session, Action.complete_task, case_id, actor)
    assert task is not None
    to = next_status(case.status, Action.complete_task)
    result_text = _text(result_text, "协办结果", code=ErrorCode.result_required)
    done = await session.exec(
        update(CaseTask)
        .where(col(CaseTask.id) == task.id, col(CaseTask.status) == TaskStatus.accepted)
        .values(status=TaskStatus.done, done_at=now, result_text=result_text)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        await end_unchanged(session)
        raise InvalidTransition("协办任务已完成。", code=ErrorCode.task_done)
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
    case, _ = await _authorised(session, Action.request_extension, case_id, actor)
    to = next_status(case.status, Action.request_extension)
    if not 1 <= days <= MAX_EXTENSION_DAYS:
        raise ValidationFailed(
            f"延期天数应为 1 至 {MAX_EXTENSION_DAYS} 个工作日。",
            code=ErrorCode.days_invalid,
            max=MAX_EXTENSION_DAYS,
        )
    reason = _text(reason, "延期理由", code=ErrorCode.reason_required)
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
            guards=[col(Case.extension_requested_until).is_(None)],
        ),
        now,
    )


async def add_note(
    *, session: AsyncSession, actor: Person, case_id: int, text: str, now: datetime | None = None
) -> Case:
    """A working note on the case (not shown to the resident)."""
    now = _now(now)
    case, _ = await _authorised(session, Action.note, case_id, actor)
    to = next_status(case.status, Action.note)
    text = _text(text, "备注内容", code=ErrorCode.text_required)
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
    case, _ = await _authorised(session, Action.attachment, case_id, actor)
    to = next_status(case.status, Action.attachment)
    if not file_id:
        raise ValidationFailed("附件缺失。", code=ErrorCode.file_required)
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
    case, _ = await _authorised(session, Action.resolve, case_id, actor)
    to = next_status(case.status, Action.resolve)
    result_text = _text(result_text, "办理结果", code=ErrorCode.result_required)
    open_tasks = (
        await session.exec(
            select(CaseTask).where(CaseTask.case_id == case.id, CaseTask.status != TaskStatus.done)
        )
    ).all()
    if open_tasks:
        raise InvalidTransition(
            "还有协办单位未完成，全部完成后才能办结。", code=ErrorCode.tasks_pending
        )
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
