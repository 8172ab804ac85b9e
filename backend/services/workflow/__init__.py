"""The case workflow: the ONLY place a case changes status.

Every action follows the same path (Netflix Dispatch style): load the case, check the actor's
role and unit, ask ``next_status`` (one ``match`` over (status, action)) for the new status, then
``_apply``: a conditional ``UPDATE … WHERE status = <old>`` (so concurrent presses have exactly one
winner), one CaseEvent, the outbox rows the action causes, and one commit. A refusal raises
NotAllowed / InvalidTransition / NotFound / ValidationFailed and changes nothing.

transitions.py holds the table, policy.py the one answer to "what may this actor do with this
case now" (``allowed_actions``; every screen renders its buttons from it, every action checks it),
core.py the write path; center.py, unit.py and resident.py the actions.
"""

from backend.services.workflow.center import (
    approve_joint,
    approve_return,
    close,
    decide_extension,
    dispatch,
    overrule_return,
    supervise,
    transfer,
)
from backend.services.workflow.core import (
    Change,
    Notice,
    end_unchanged,
    record_event,
    rollback_keeping,
    route_notices,
)
from backend.services.workflow.policy import (
    DISPATCH_ROLES,
    actions_for,
    actor_task,
    allowed_actions,
    authorise,
    awaits_claim,
    awaits_rating,
    being_recorded,
    has_outcome,
    in_triage,
    is_center,
    is_dispatcher,
    is_in_hand,
    is_lead_staff,
    is_open,
    settled_on_the_spot,
)
from backend.services.workflow.resident import follow, rate
from backend.services.workflow.transitions import (
    MAX_EXTENSION_DAYS,
    RETURN_REASONS,
    Action,
    next_status,
)
from backend.services.workflow.unit import (
    accept,
    add_attachment,
    add_note,
    complete_task,
    request_extension,
    request_joint,
    resolve,
    return_case,
)

__all__ = [
    "DISPATCH_ROLES",
    "MAX_EXTENSION_DAYS",
    "RETURN_REASONS",
    "Action",
    "Change",
    "Notice",
    "accept",
    "actions_for",
    "actor_task",
    "add_attachment",
    "add_note",
    "allowed_actions",
    "approve_joint",
    "approve_return",
    "authorise",
    "awaits_claim",
    "awaits_rating",
    "being_recorded",
    "close",
    "complete_task",
    "decide_extension",
    "dispatch",
    "end_unchanged",
    "follow",
    "has_outcome",
    "in_triage",
    "is_center",
    "is_dispatcher",
    "is_in_hand",
    "is_lead_staff",
    "is_open",
    "next_status",
    "overrule_return",
    "rate",
    "record_event",
    "request_extension",
    "request_joint",
    "resolve",
    "return_case",
    "rollback_keeping",
    "route_notices",
    "settled_on_the_spot",
    "supervise",
    "transfer",
]
