"""Column helpers shared by the tables."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Dialect
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Timezone-aware now in UTC; every stored timestamp is UTC."""
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """A stored time as an aware UTC datetime (SQLite hands back naive ones)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp stored as UTC and always read back aware (UTC).

    SQLite has no time zone type and returns naive values; this keeps every loaded value
    comparable with ``utcnow()`` on both databases. Naive values written are taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def json_column() -> Any:
    return Column(JSON, nullable=False, default=dict)


def json_list_column() -> Any:
    return Column(JSON, nullable=False, default=list)


def big_int_column(*, unique: bool = False, index: bool = False, nullable: bool = True) -> Any:
    return Column(BigInteger, unique=unique, index=index, nullable=nullable)


def tz_column(*, nullable: bool = True, index: bool = False) -> Any:
    return Column(UTCDateTime(), nullable=nullable, index=index)
