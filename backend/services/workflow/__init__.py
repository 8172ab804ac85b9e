"""The case workflow: the ONLY place a case changes status.

Every action follows the same path (Netflix Dispatch style): load the case, check the actor's
role and unit, ask ``next_status`` (one ``match`` over (status, action)) for the new status, then
``_apply``: a conditional ``UPDATE … WHERE status = <old>`` (so concurrent presses have exactly one
winner), one CaseEvent, the outbox rows the action causes, and one commit. A refusal raises
NotAllowed / InvalidTransition / NotFound / ValidationFailed and changes nothing.

core.py holds the table and the write path; center.py, unit.py and resident.py the actions.
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
    _STATE_MESSAGES,
    DISPATCH_ROLES,
    MAX_EXTENSION_DAYS,
    RETURN_REASONS,
    STATE_MESSAGES,
    Action,
    Change,
    Notice,
    end_unchanged,
    next_status,
    record_event,
    rollback_keeping,
    route_notices,
)
from backend.services.workflow.resident import follow, rate
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
    "STATE_MESSAGES",
    "_STATE_MESSAGES",
    "Action",
    "Change",
    "Notice",
    "accept",
    "add_attachment",
    "add_note",
    "approve_joint",
    "approve_return",
    "close",
    "complete_task",
    "decide_extension",
    "dispatch",
    "end_unchanged",
    "follow",
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
    "supervise",
    "transfer",
]
