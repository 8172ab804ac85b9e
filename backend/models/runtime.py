"""Operational tables: outbox, update inbox, processed updates, embedded FSM storage, FAQ log,
code counter."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel

from backend.models.base import big_int_column, json_column, tz_column, utcnow


class OutboxState(StrEnum):
    pending = "pending"
    sent = "sent"
    failed = "failed"  # gave up after the retry budget
    blocked = "blocked"  # 403: the user blocked the bot


class OutboxMessage(SQLModel, table=True):
    """A notification to deliver, written in the same transaction as the change that caused it.

    ``kind`` names what to render (the bot owns the wording); ``payload`` holds ids and facts.
    The recipient is a person or a unit; ``chat_id`` is resolved when the row is written if known.
    """

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)
    recipient_person_id: int | None = Field(default=None, foreign_key="person.id")
    recipient_unit_id: int | None = Field(default=None, foreign_key="unit.id")
    chat_id: int | None = Field(default=None, sa_column=big_int_column(index=True))
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    dedupe_key: str = Field(unique=True, max_length=160)
    state: OutboxState = Field(default=OutboxState.pending, max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=tz_column(nullable=False, index=True)
    )
    last_error: str | None = Field(default=None, max_length=500)
    telegram_message_id: int | None = Field(default=None, sa_column=big_int_column())
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column(nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=tz_column())


class ProcessedUpdate(SQLModel, table=True):
    """Telegram update ids already handled, so an update delivered twice is handled once."""

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=tz_column(nullable=False, index=True)
    )


class InboxUpdate(SQLModel, table=True):
    """A Telegram update written down before Telegram is told it arrived, until it is handled.

    Polling moves the offset (which acknowledges the update) and a webhook answers 200 only after
    the update is here, so an update whose handler was cut short by a crash is handled again
    after the restart (``backend.services.inbox``).
    """

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    done: bool = Field(default=False, index=True)
    lease_until: datetime = Field(sa_column=tz_column(nullable=False, index=True))
    received_at: datetime = Field(
        default_factory=utcnow, sa_column=tz_column(nullable=False, index=True)
    )


class FsmRecord(SQLModel, table=True):
    """Embedded aiogram FSM storage (used when REDIS_URL is not set): survives a restart."""

    key: str = Field(primary_key=True, max_length=255)
    state: str | None = Field(default=None, max_length=255)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    updated_at: datetime = Field(default_factory=utcnow, sa_column=tz_column(nullable=False))


class LegalQuestionLog(SQLModel, table=True):
    """Legal questions asked in the bot: unanswered ones are the admin's list of entries to add."""

    id: int | None = Field(default=None, primary_key=True)
    question: str = Field(sa_column=Column(Text, nullable=False))
    entry_id: str | None = Field(default=None, max_length=64)
    score: float | None = None
    answered: bool = Field(default=False, index=True)
    helpful: bool | None = None
    person_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column(nullable=False))


class CaseCodeSequence(SQLModel, table=True):
    """Daily counter behind the public case code (一案一码 ``MD20261127-0042``).

    Incremented with one ``UPDATE … RETURNING`` inside the intake transaction, so concurrent
    reports never get the same code.
    """

    day: str = Field(primary_key=True, max_length=24)  # prefix + local date, e.g. MD20261127
    last: int = 0
