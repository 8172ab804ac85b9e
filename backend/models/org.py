"""Who is who: units (departments and township centers), people, one-time invites."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from backend.models.base import big_int_column, tz_column, utcnow


class Role(StrEnum):
    resident = "resident"
    grid_worker = "grid_worker"
    staff = "staff"
    unit_head = "unit_head"
    dispatcher = "dispatcher"
    supervisor = "supervisor"
    admin = "admin"


class Unit(SQLModel, table=True):
    """A department (code = department code) or a township center (``township:<乡镇名>``)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=64)
    department: str = Field(index=True, max_length=32)
    name: str = Field(max_length=64)
    name_en: str = Field(default="", max_length=128)
    township: str | None = Field(default=None, max_length=32)
    chat_id: int | None = Field(default=None, sa_column=big_int_column(index=True))
    chat_title: str | None = Field(default=None, max_length=128)
    bound_at: datetime | None = Field(default=None, sa_column=tz_column())


class Person(SQLModel, table=True):
    """Anyone who talks to the bot. Residents have no unit; staff belong to one unit."""

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int | None = Field(
        default=None, sa_column=big_int_column(unique=True, index=True)
    )
    role: Role = Field(default=Role.resident, max_length=16)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    township: str | None = Field(default=None, max_length=32)
    village: str | None = Field(default=None, max_length=64)
    display_name: str = Field(default="", max_length=128)
    phone: str | None = Field(default=None, max_length=32)
    language: str = Field(default="zh", max_length=8)
    consent_contact: bool = Field(default=False)
    bot_blocked: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column(nullable=False))


class Invite(SQLModel, table=True):
    """A one-time registration code that gives its user a role in a unit.

    Used once, whatever happens (``used_at``). A person who already holds another role must
    confirm the change: meanwhile the code is reserved for them (``reserved_by_id``) and nobody
    else can use it.
    """

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=32)
    role: Role = Field(max_length=16)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    created_by_id: int | None = Field(default=None, foreign_key="person.id")
    created_at: datetime = Field(default_factory=utcnow, sa_column=tz_column(nullable=False))
    expires_at: datetime | None = Field(default=None, sa_column=tz_column())
    used_by_id: int | None = Field(default=None, foreign_key="person.id")
    used_at: datetime | None = Field(default=None, sa_column=tz_column())
    revoked: bool = Field(default=False)
    reserved_by_id: int | None = Field(default=None, foreign_key="person.id")
    reserved_at: datetime | None = Field(default=None, sa_column=tz_column())
