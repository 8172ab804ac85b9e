"""The transition table: which status an action leads to, and why it is refused otherwise."""

from __future__ import annotations

from enum import StrEnum

from backend.models import CaseStatus
from backend.services.errors import ErrorCode, InvalidTransition

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
"""The 退单 reasons a unit picks from (bot buttons and the web form show these)."""


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
    message, code = STATE_REFUSALS.get(
        status, (InvalidTransition.default_message, ErrorCode.invalid_transition)
    )
    raise InvalidTransition(message, code=code)


# Why an action does not apply in a state (the code picks the user's text in the locales).
STATE_REFUSALS: dict[CaseStatus, tuple[str, ErrorCode]] = {
    S.closed: ("该事项已办结归档，不能再操作。", ErrorCode.case_closed),
    S.grid_resolved: ("该事项已由网格员就地化解，不能再操作。", ErrorCode.case_grid_resolved),
    S.accepted: ("该事项已被签收。", ErrorCode.case_accepted),
    S.resolved: ("该事项已办结，正在等待群众评价。", ErrorCode.case_resolved),
    S.returned: ("该事项已退回综治中心，正在等待审核。", ErrorCode.case_returned),
    S.triage: ("该事项正在综治中心分派中。", ErrorCode.case_triage),
    S.dispatched: ("该事项尚未签收。", ErrorCode.case_not_accepted),
    S.reopened: ("该事项尚未签收。", ErrorCode.case_not_accepted),
}
