"""Column helpers shared by the tables."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime


def utcnow() -> datetime:
    """Timezone-aware now in UTC; every stored timestamp is UTC."""
    return datetime.now(UTC)


def json_column() -> Any:
    return Column(JSON, nullable=False, default=dict)


def json_list_column() -> Any:
    return Column(JSON, nullable=False, default=list)


def big_int_column(*, unique: bool = False, index: bool = False, nullable: bool = True) -> Any:
    return Column(BigInteger, unique=unique, index=index, nullable=nullable)


def tz_column(*, nullable: bool = True, index: bool = False) -> Any:
    return Column(DateTime(timezone=True), nullable=nullable, index=index)
