"""SQLModel tables. Importing this package registers every table on SQLModel.metadata."""

from backend.models.case import (
    Attachment,
    Case,
    CaseEvent,
    CaseFollower,
    CaseStatus,
    CaseTask,
    Rating,
    RatingScore,
    RiskLevel,
    TaskStatus,
)
from backend.models.org import Invite, Person, Role, Unit
from backend.models.runtime import (
    CaseCodeSequence,
    FsmRecord,
    InboxUpdate,
    LegalQuestionLog,
    OutboxMessage,
    OutboxState,
    ProcessedUpdate,
)
from backend.models.web import WebLoginToken, WebSession

__all__ = [
    "Attachment",
    "Case",
    "CaseCodeSequence",
    "CaseEvent",
    "CaseFollower",
    "CaseStatus",
    "CaseTask",
    "FsmRecord",
    "InboxUpdate",
    "Invite",
    "LegalQuestionLog",
    "OutboxMessage",
    "OutboxState",
    "Person",
    "ProcessedUpdate",
    "Rating",
    "RatingScore",
    "RiskLevel",
    "Role",
    "TaskStatus",
    "Unit",
    "WebLoginToken",
    "WebSession",
]
