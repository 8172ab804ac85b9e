"""Fixtures for bot tests: a dispatcher on a fresh database, a MockedBot, a resident driver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Dispatcher
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.county import load_county
from backend.db import create_session_factory
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


@pytest.fixture
async def bot_engine(sqlite_engine: AsyncEngine) -> AsyncEngine:
    """The embedded database (SQLite) with the county's units loaded."""
    factory = create_session_factory(sqlite_engine)
    async with factory() as session:
        await directory.sync_units(session=session, county=load_county())
    return sqlite_engine


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
