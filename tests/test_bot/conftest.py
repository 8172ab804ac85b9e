"""Fixtures for bot tests: a dispatcher on a fresh database, a MockedBot, a resident driver."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiogram import Dispatcher
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

import backend.models  # noqa: F401  (registers every table)
from backend.config import Settings
from backend.county import load_county
from backend.db import create_engine, create_session_factory
from backend.services import directory
from bot.factory import create_dispatcher
from tests.mocked_bot import MockedBot
from tests.tg import TgUser


def make_settings(database_url: str, redis_url: str | None = None, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=None,
        database_url=database_url,
        redis_url=redis_url,
        **extra,
    )


async def _build_template(path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    async with create_session_factory(engine)() as session:
        await directory.sync_units(session=session, county=load_county())
    async with engine.begin() as conn:
        await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    await engine.dispose()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with the schema and the county's units, built once per test session."""
    path = tmp_path_factory.mktemp("bot-template") / "template.db"
    asyncio.run(_build_template(path))
    return path


@pytest.fixture
async def bot_engine(template_db: Path, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """The embedded database (SQLite) of one test: a fresh copy of the template."""
    target = tmp_path / "bot.db"
    shutil.copyfile(template_db, target)
    engine = create_engine(f"sqlite+aiosqlite:///{target}")
    yield engine
    await engine.dispose()


@pytest.fixture
def bot_session_factory(bot_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(bot_engine)


@pytest.fixture
def bot_settings(bot_engine: AsyncEngine) -> Settings:
    return make_settings(str(bot_engine.url))


@pytest.fixture
async def dp(
    bot_settings: Settings, bot_session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[Dispatcher]:
    dispatcher = create_dispatcher(bot_settings, session_factory=bot_session_factory)
    yield dispatcher
    await dispatcher.storage.close()


@pytest.fixture
def bot() -> MockedBot:
    return MockedBot()


@pytest.fixture
def resident(dp: Dispatcher, bot: MockedBot) -> TgUser:
    return TgUser(dp, bot, user_id=1001)
