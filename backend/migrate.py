"""Run Alembic programmatically: no alembic.ini needed; migrations live in backend/migrations.

Regenerate after a model change (from the repository root)::

    python -m backend makemigration -m "add foo table"

which autogenerates a revision against a throw-away SQLite database upgraded to head.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

import backend.models  # noqa: F401  (registers every table)

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(MIGRATIONS / "versions"))
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database behind ``engine`` to ``revision`` (idempotent)."""

    def _run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        untracked = MigrationContext.configure(
            connection
        ).get_current_revision() is None and inspect(connection).has_table("case")
        if untracked:
            # Made by SQLModel.metadata.create_all (tests, early installs): adopt it as head,
            # but only when it matches the models exactly; otherwise stamping would hide a gap.
            differences = _differences(connection)
            if differences:
                raise RuntimeError(
                    "the database has tables but no Alembic version, and they differ from the "
                    f"models ({len(differences)} differences, first: {differences[0]!r}); "
                    "back it up and recreate it, or stamp the matching revision by hand"
                )
            command.stamp(config, "head")
        command.upgrade(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_run)


async def current_revision(engine: AsyncEngine) -> str | None:
    def _run(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_run)


async def schema_differences(engine: AsyncEngine) -> list[Any]:
    """What autogenerate would still add/change: empty when the migrations match the models."""

    async with engine.connect() as conn:
        return await conn.run_sync(_differences)


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "render_as_batch": connection.dialect.name == "sqlite"},
    )
    return list(compare_metadata(context, SQLModel.metadata))


async def make_revision(engine: AsyncEngine, message: str) -> None:
    """Autogenerate a new revision from the difference between head and the models."""
    await upgrade(engine)

    def _run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)

    async with engine.begin() as conn:
        await conn.run_sync(_run)


async def downgrade(engine: AsyncEngine, revision: str = "base") -> None:
    def _run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_run)
