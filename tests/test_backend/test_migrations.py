"""Alembic head builds exactly SQLModel.metadata's schema (a missing migration fails here).

When this fails after a model change, regenerate: ``python -m backend makemigration -m "what"``.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from backend import migrate


async def _empty(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.drop_all)
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


async def test_upgrade_head_matches_the_models_with_no_differences(engine: AsyncEngine) -> None:
    await _empty(engine)
    await migrate.upgrade(engine)
    assert await migrate.schema_differences(engine) == []
    assert await migrate.current_revision(engine) is not None


async def test_upgrade_is_idempotent_and_adopts_a_create_all_schema(engine: AsyncEngine) -> None:
    # The engine fixture made the tables with create_all: init must adopt them, not fail.
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await migrate.upgrade(engine)
    first = await migrate.current_revision(engine)
    await migrate.upgrade(engine)
    assert await migrate.current_revision(engine) == first is not None


async def test_downgrade_to_base_and_upgrade_again(engine: AsyncEngine) -> None:
    await _empty(engine)
    await migrate.upgrade(engine)
    await migrate.downgrade(engine, "base")
    await migrate.upgrade(engine)
    assert await migrate.schema_differences(engine) == []


async def test_an_unversioned_schema_that_differs_from_the_models_is_not_adopted(
    engine: AsyncEngine,
) -> None:
    import pytest

    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        await conn.execute(text("DROP TABLE rating"))
    with pytest.raises(RuntimeError, match="no Alembic version"):
        await migrate.upgrade(engine)
    assert await migrate.current_revision(engine) is None
