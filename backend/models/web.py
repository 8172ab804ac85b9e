"""Web sign-in: one-time login links and server-side sessions of the dashboard."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from backend.models.base import tz_column, utcnow
from backend.models.case import Case


class WebLoginToken(SQLModel, table=True):
    """A one-time login link sent by the bot's /web command; ``used_at`` makes it single use."""

    id: int | None = Field(default=None, primary_key=True)
    jti: str = Field(unique=True, index=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column(nullable=False))
    expires_at: datetime = Field(sa_column=tz_column(nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=tz_column())


class WebSession(SQLModel, table=True):
    """A signed-in browser. Only the SHA-256 of the cookie value is stored."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column(nullable=False))
    expires_at: datetime = Field(sa_column=tz_column(nullable=False, index=True))
    ended_at: datetime | None = Field(default=None, sa_column=tz_column())


# Indexes the dashboard needs on the case table (measured with bench/bench_web.py, 50,000 cases):
# the board's "overdue" and "due today" sections filter on a status and its running clock.
Index("ix_case_status_accept_deadline", Case.status, Case.accept_deadline)  # type: ignore[arg-type]
Index("ix_case_status_handle_deadline", Case.status, Case.handle_deadline)  # type: ignore[arg-type]
