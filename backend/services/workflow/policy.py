"""The one policy: what may this actor do with this case now.

``allowed_actions(case, actor, task=...)`` is the only answer every screen asks (group cards, the
claimer's panel, the center desk, the web case page); the workflow's actions check the same
``authorise`` before they write. Role, unit and state are decided here and nowhere else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import select

from backend.models import Case, CaseStatus, CaseTask, Person, Role, TaskStatus
from backend.models.case import AWAITING_CLAIM_STATUSES, OPEN_STATUSES
from backend.services.directory import CENTER_ROLES, STAFF_ROLES
from backend.services.errors import ErrorCode, InvalidTransition, NotAllowed
from backend.services.workflow.transitions import Action, next_status

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

S = CaseStatus

DISPATCH_ROLES = frozenset({Role.dispatcher, Role.admin})

# Actions a screen can offer as a button or a form (submit and grid_resolved come from intake).
SCREEN_ACTIONS = (
    Action.accept,
    Action.accept_task,
    Action.return_,
    Action.resolve,
    Action.request_extension,
    Action.request_joint,
    Action.complete_task,
    Action.note,
    Action.attachment,
    Action.dispatch,
    Action.transfer,
    Action.approve_return,
    Action.overrule_return,
    Action.decide_extension,
    Action.approve_joint,
    Action.close,
    Action.supervise,
    Action.rate,
    Action.follow,
)

_LEAD_ACTIONS = frozenset(
    {Action.accept, Action.return_, Action.resolve, Action.request_extension, Action.request_joint}
)
_DISPATCH_ACTIONS = frozenset(
    {
        Action.dispatch,
        Action.approve_return,
        Action.overrule_return,
        Action.decide_extension,
        Action.approve_joint,
    }
)
_CENTER_ACTIONS = frozenset({Action.close, Action.supervise})


def is_open(case: Case) -> bool:
    """Still being worked on (not resolved, closed or settled on the spot)."""
    return case.status in OPEN_STATUSES


def awaits_claim(case: Case) -> bool:
    """Queued at a unit and waiting for 签收 (new, transferred or reopened)."""
    return case.status in AWAITING_CLAIM_STATUSES


def is_in_hand(case: Case) -> bool:
    """签收 and being handled by the lead unit."""
    return case.status == S.accepted


def awaits_rating(case: Case) -> bool:
    """办结 and waiting for the resident's rating."""
    return case.status == S.resolved


def has_outcome(case: Case) -> bool:
    """Resolved, closed or settled on the spot: its result can be shown."""
    return case.status in (S.resolved, S.closed, S.grid_resolved)


def in_triage(case: Case) -> bool:
    """Waiting at the center to be routed by hand."""
    return case.status == S.triage


def settled_on_the_spot(case: Case) -> bool:
    """就地化解 by a grid worker: recorded, never routed."""
    return case.status == S.grid_resolved


def being_recorded(case: Case) -> bool:
    """Inside intake's transaction, not yet routed (invisible outside)."""
    return case.status == S.submitted


def is_lead_staff(actor: Person | None, case: Case) -> bool:
    return (
        actor is not None
        and actor.role in STAFF_ROLES
        and actor.unit_id is not None
        and actor.unit_id == case.lead_unit_id
    )


def is_dispatcher(actor: Person | None) -> bool:
    return actor is not None and actor.role in DISPATCH_ROLES


def is_center(actor: Person | None) -> bool:
    return actor is not None and actor.role in CENTER_ROLES


def _role_permits(action: Action, case: Case, actor: Person | None, task: CaseTask | None) -> bool:
    if actor is None:
        return False
    assisting = task is not None and actor.role in STAFF_ROLES
    involved = is_lead_staff(actor, case) or assisting
    reporter = actor.id is not None and actor.id in (case.reporter_id, case.filed_by_id)
    if action in _LEAD_ACTIONS:
        return is_lead_staff(actor, case)
    if action in (Action.accept_task, Action.complete_task):
        return assisting and not is_lead_staff(actor, case)
    if action == Action.transfer:
        return is_dispatcher(actor) or is_lead_staff(actor, case)
    if action in _DISPATCH_ACTIONS:
        return is_dispatcher(actor)
    if action in _CENTER_ACTIONS:
        return is_center(actor)
    if action == Action.note:
        return is_center(actor) or involved
    if action == Action.attachment:
        return reporter or is_center(actor) or involved
    if action == Action.rate:
        return actor.id is not None and actor.id == case.reporter_id
    if action == Action.follow:  # residents with the same problem, instead of a duplicate
        return actor.role in (Role.resident, Role.grid_worker) and actor.id != case.reporter_id
    return False


def state_refusal(
    action: Action, case: Case, task: CaseTask | None = None
) -> InvalidTransition | None:
    """Why ``action`` does not apply to the case as it is now (None: it applies)."""
    target = {Action.approve_return: S.dispatched, Action.rate: S.closed}.get(action)
    try:
        next_status(case.status, action, target=target)
    except InvalidTransition as refusal:
        return refusal
    if action == Action.request_extension and case.extension_requested_until is not None:
        return InvalidTransition("已有延期申请在审核中。", code=ErrorCode.extension_pending)
    if action == Action.decide_extension and case.extension_requested_until is None:
        return InvalidTransition("没有待审核的延期申请。", code=ErrorCode.no_extension_request)
    if action == Action.accept_task and (task is None or task.status != TaskStatus.pending):
        return InvalidTransition("您单位的协办任务已被签收。", code=ErrorCode.task_taken)
    if action == Action.complete_task and (task is None or task.status != TaskStatus.accepted):
        if task is not None and task.status == TaskStatus.pending:
            return InvalidTransition("请先签收协办任务。", code=ErrorCode.task_not_accepted)
        return InvalidTransition("协办任务已完成。", code=ErrorCode.task_done)
    return None


def allowed_actions(
    case: Case, actor: Person | None, *, task: CaseTask | None = None
) -> frozenset[Action]:
    """Every action ``actor`` may take on ``case`` now (``task``: its unit's 协办 task)."""
    return frozenset(
        action
        for action in SCREEN_ACTIONS
        if _role_permits(action, case, actor, task) and state_refusal(action, case, task) is None
    )


def authorise(
    action: Action, case: Case, actor: Person | None, *, task: CaseTask | None = None
) -> None:
    """Raise NotAllowed (role/unit) or InvalidTransition (state) unless the action applies."""
    if not _role_permits(action, case, actor, task):
        raise _role_refusal(action, case, actor)
    refusal = state_refusal(action, case, task)
    if refusal is not None:
        raise refusal


def _role_refusal(action: Action, case: Case, actor: Person | None) -> NotAllowed:
    staff = actor is not None and actor.role in STAFF_ROLES
    if action in _LEAD_ACTIONS | {Action.accept_task, Action.complete_task} or (
        staff and action in (Action.transfer, Action.note, Action.attachment)
    ):
        if not staff:
            return NotAllowed("只有承办单位的工作人员可以操作。", code=ErrorCode.not_staff)
        return NotAllowed("该事项不在您单位的办理范围内。", code=ErrorCode.other_unit)
    if action in _DISPATCH_ACTIONS | _CENTER_ACTIONS | {Action.transfer}:
        return NotAllowed("只有综治中心调度员可以操作。", code=ErrorCode.not_dispatcher)
    if action == Action.rate:
        return NotAllowed("只有反映人可以评价。", code=ErrorCode.not_reporter)
    return NotAllowed()


async def actor_task(session: AsyncSession, case: Case, actor: Person | None) -> CaseTask | None:
    """The 协办 task of the actor's unit on this case, if it assists."""
    if actor is None or actor.unit_id is None or case.id is None:
        return None
    return (
        await session.exec(
            select(CaseTask)
            .where(CaseTask.case_id == case.id, CaseTask.unit_id == actor.unit_id)
            .execution_options(populate_existing=True)
        )
    ).first()


async def actions_for(
    session: AsyncSession, case: Case, actor: Person | None
) -> frozenset[Action]:
    """``allowed_actions`` with the actor's 协办 task looked up."""
    return allowed_actions(case, actor, task=await actor_task(session, case, actor))
