"""The case (一案一码) and everything hanging off it."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from backend.models.base import json_column, json_list_column, tz_column, utcnow


class CaseStatus(StrEnum):
    submitted = "submitted"  # recorded, not yet routed (transient inside intake)
    triage = "triage"  # waiting in the center's manual triage window
    dispatched = "dispatched"  # queued at a unit, waiting for 签收
    accepted = "accepted"  # 签收: a staff member handles it
    returned = "returned"  # 退单: waiting for the dispatcher to approve or overrule
    resolved = "resolved"  # 办结: waiting for the resident's rating
    reopened = "reopened"  # 不满意 → 重办: queued again at the same unit, waiting for 签收
    closed = "closed"
    grid_resolved = "grid_resolved"  # 就地化解 record by a grid worker


OPEN_STATUSES = frozenset(
    {
        CaseStatus.submitted,
        CaseStatus.triage,
        CaseStatus.dispatched,
        CaseStatus.accepted,
        CaseStatus.returned,
        CaseStatus.reopened,
    }
)

# Queued at a unit and waiting for 签收 (the 签收 clock runs).
AWAITING_CLAIM_STATUSES = frozenset({CaseStatus.dispatched, CaseStatus.reopened})


class RiskLevel(StrEnum):
    red = "red"
    orange = "orange"
    yellow = "yellow"
    blue = "blue"


class TaskStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    done = "done"


class RatingScore(StrEnum):
    satisfied = "satisfied"
    basically_satisfied = "basically_satisfied"
    unsatisfied = "unsatisfied"


class Case(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=32)
    text: str = Field(sa_column=Column(Text, nullable=False))
    category: str | None = Field(default=None, max_length=16, index=True)
    department: str | None = Field(default=None, max_length=32, index=True)
    lead_unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    risk_level: RiskLevel = Field(default=RiskLevel.yellow, max_length=8, index=True)
    risk_signals: list[str] = Field(default_factory=list, sa_column=json_list_column())
    classification: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    township: str | None = Field(default=None, max_length=32, index=True)
    village: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=256)
    latitude: float | None = None
    longitude: float | None = None
    anonymous: bool = Field(default=False)
    contact_name: str | None = Field(default=None, max_length=64)
    contact_phone: str | None = Field(default=None, max_length=32)
    phone_visible: bool = Field(default=False)
    reporter_id: int | None = Field(default=None, foreign_key="person.id", index=True)
    filed_by_id: int | None = Field(default=None, foreign_key="person.id")
    channel: str = Field(default="telegram", max_length=16)
    grid_task_code: str | None = Field(default=None, max_length=8)
    status: CaseStatus = Field(default=CaseStatus.submitted, max_length=16, index=True)
    accepted_by_id: int | None = Field(default=None, foreign_key="person.id")
    result_text: str | None = Field(default=None, sa_column=Column(Text))
    extension_requested_until: datetime | None = Field(default=None, sa_column=tz_column())
    extension_reason: str | None = Field(default=None, max_length=500)
    return_count: int = 0
    reopen_count: int = 0
    extension_count: int = 0
    reporter_count: int = 1
    accept_deadline: datetime | None = Field(default=None, sa_column=tz_column(index=True))
    handle_deadline: datetime | None = Field(default=None, sa_column=tz_column(index=True))
    accept_warning: str = Field(default="", max_length=8)
    handle_warning: str = Field(default="", max_length=8)
    last_overdue_notice: datetime | None = Field(default=None, sa_column=tz_column())
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=tz_column(nullable=False, index=True)
    )
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_column(nullable=False))
    dispatched_at: datetime | None = Field(default=None, sa_column=tz_column())
    accepted_at: datetime | None = Field(default=None, sa_column=tz_column())
    resolved_at: datetime | None = Field(default=None, sa_column=tz_column())
    closed_at: datetime | None = Field(default=None, sa_column=tz_column())


class CaseTask(SQLModel, table=True):
    """An assisting unit's part of a joint case (协办); the lead unit's part is the case itself."""

    __table_args__ = (UniqueConstraint("case_id", "unit_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    status: TaskStatus = Field(default=TaskStatus.pending, max_length=16)
    accepted_by_id: int | None = Field(default=None, foreign_key="person.id")
    accepted_at: datetime | None = Field(default=None, sa_column=tz_column())
    done_at: datetime | None = Field(default=None, sa_column=tz_column())
    result_text: str | None = Field(default=None, sa_column=Column(Text))


class CaseEvent(SQLModel, table=True):
    """Append-only audit trail: one row per action on a case."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    actor_id: int | None = Field(default=None, foreign_key="person.id")
    actor_role: str = Field(default="system", max_length=16)
    action: str = Field(max_length=32, index=True)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    reason: str | None = Field(default=None, sa_column=Column(Text))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=tz_column(nullable=False, index=True)
    )


class CaseFollower(SQLModel, table=True):
    """A resident who follows an existing case (关注此案) instead of filing a duplicate."""

    __table_args__ = (UniqueConstraint("case_id", "person_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column(nullable=False))


class Attachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    kind: str = Field(max_length=16)  # photo | document | voice | video
    purpose: str = Field(default="report", max_length=16)  # report | evidence | material
    telegram_file_id: str = Field(max_length=256)
    file_name: str | None = Field(default=None, max_length=256)
    uploaded_by_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column(nullable=False))


class Rating(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    person_id: int | None = Field(default=None, foreign_key="person.id")
    score: RatingScore = Field(max_length=24)
    reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column(nullable=False))
