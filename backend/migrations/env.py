"""Alembic environment: async-aware, SQLModel metadata, batch mode for SQLite.

Run programmatically (``backend.migrate``): a connection handed over in
``config.attributes["connection"]`` is used as is; otherwise an engine is made from
``sqlalchemy.url`` (or DATABASE_URL).
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import backend.models  # noqa: F401  (registers every table)
from backend.db import create_engine

config = context.config
target_metadata = SQLModel.metadata


def _configure(connection: Connection | None = None, url: str | None = None) -> dict[str, Any]:
    dialect = connection.dialect.name if connection is not None else (url or "").split(":")[0]
    return {
        "target_metadata": target_metadata,
        "render_as_batch": dialect.startswith("sqlite"),
        "compare_type": True,
        "compare_server_default": False,
    }


def run_offline() -> None:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL", "")
    context.configure(url=url, literal_binds=True, **_configure(url=url))
    with context.begin_transaction():
        context.run_migrations()


def _run_with(connection: Connection) -> None:
    context.configure(connection=connection, **_configure(connection))
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_run_with)
    finally:
        await engine.dispose()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_with(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL", "")
    asyncio.run(_run_async(url))


if context.is_offline_mode():
    run_offline()
else:
    run_online()
