"""Build the Bot and the Dispatcher: storage, middlewares, routers and workflow data.

Everything is built in functions (never at import time) so tests can make a fresh dispatcher per
test, and a restart is just calling ``create_dispatcher`` again on the same storage.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.fsm.storage.redis import RedisEventIsolation, RedisStorage
from aiogram_dialog import setup_dialogs
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.county import County, load_county
from backend.db import is_sqlite
from backend.services import runtime
from bot import tuning
from bot.handlers import create_error_router, create_routers
from bot.middlewares import setup_middlewares
from bot.storage import (
    BatchingIsolation,
    BatchingStorage,
    DatabaseStorage,
    RedisBatchIsolation,
    RedisBatchStorage,
)

log = logging.getLogger(__name__)

PLACEHOLDER_TOKEN = "1:OFFLINE"  # the console runs without a real token
CONCURRENT_UPDATES = 16  # below the database pool (backend.db.POOL_SIZE): never waits there
SQLITE_CONCURRENT_UPDATES = 10
REDIS_CONNECTIONS = 100


def create_bot(settings: Settings, *, session: BaseSession | None = None) -> Bot:
    """A Bot talking to ``settings.telegram_api_url`` (official API, a local server, or a stub)."""
    tuning.keep_response_types()
    token = settings.bot_token.get_secret_value() if settings.bot_token else PLACEHOLDER_TOKEN
    if session is None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode="HTML"))


def concurrency_limit(settings: Settings) -> int:
    """How many updates one bot process handles at once (the rest wait their turn).

    Every update needs a database connection; the pool holds more than this (``POOL_SIZE``),
    so an update never waits there (SQLite also serialises writes); without a cap a burst of
    updates would queue inside the pool and time out instead of waiting in line. More
    throughput comes from more worker processes (webhook mode).
    """
    return SQLITE_CONCURRENT_UPDATES if is_sqlite(settings.database_url) else CONCURRENT_UPDATES


def create_redis(settings: Settings) -> Redis | None:
    """A Redis client that waits for a free connection (bounded pool) and retries blips.

    Under a burst, a fresh connection per waiting update would pile up connects that time out;
    a blocking pool makes updates wait their turn instead, and transient errors are retried.
    """
    if not settings.redis_url:
        return None
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=REDIS_CONNECTIONS,
        timeout=30,
        socket_timeout=30,
        socket_connect_timeout=10,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=2.0), 3),
    )
    return Redis.from_pool(pool)


def create_storage(
    settings: Settings,
    *,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis | None = None,
) -> tuple[BaseStorage, BaseEventIsolation]:
    """Redis storage + cross-worker isolation with REDIS_URL, else the embedded DB storage on
    the bot's own database pool (one engine per process: SQLite writers never queue behind a
    second engine's connections). Either way the FSM is read and written once per update."""
    key_builder = DefaultKeyBuilder(with_destiny=True)
    if redis is None:
        redis = create_redis(settings)
    if redis is not None:
        redis_storage = RedisBatchStorage(redis=redis, key_builder=key_builder)
        return redis_storage, RedisBatchIsolation(redis_storage)
    storage = DatabaseStorage(session_factory, key_builder, cache=is_sqlite(settings.database_url))
    return storage, BatchingIsolation(SimpleEventIsolation(), storage)


def create_dispatcher(
    settings: Settings,
    *,
    session_factory: async_sessionmaker[AsyncSession],
    storage: BaseStorage | None = None,
    events_isolation: BaseEventIsolation | None = None,
    county: County | None = None,
    **workflow_data: Any,
) -> Dispatcher:
    """The dispatcher with every router, middleware and the workflow data handlers ask for.

    Workflow data: ``settings``, ``session_factory``, ``county``, ``redis`` (or None).
    """
    runtime.configure(settings)
    redis: Redis | None = None
    if storage is None:
        redis = create_redis(settings)
        storage, default_isolation = create_storage(
            settings, session_factory=session_factory, redis=redis
        )
        events_isolation = events_isolation or default_isolation
    elif isinstance(storage, RedisBatchStorage):
        redis = storage.redis
        events_isolation = events_isolation or RedisBatchIsolation(storage)
    elif isinstance(storage, RedisStorage):
        redis = storage.redis
        events_isolation = events_isolation or RedisEventIsolation(
            redis=redis, key_builder=storage.key_builder
        )
    elif isinstance(storage, BatchingStorage) and events_isolation is None:
        events_isolation = BatchingIsolation(SimpleEventIsolation(), storage)
    dp = Dispatcher(
        storage=storage,
        events_isolation=events_isolation or SimpleEventIsolation(),
        settings=settings,
        session_factory=session_factory,
        county=county or load_county(settings.county_data),
        redis=redis,
        **workflow_data,
    )
    setup_middlewares(dp, session_factory=session_factory, redis=redis)
    dp.include_routers(*create_routers())
    setup_dialogs(dp)
    dp.include_router(create_error_router())
    dp.startup.register(_start_warm_up)
    return dp


_warm_ups: set[asyncio.Task[None]] = set()


async def _start_warm_up() -> None:
    """Load the classifier and index the legal FAQ in a worker thread at start-up (a few
    seconds), then freeze the heap: the first update is taken at once, and the first resident
    who types a text does not wait for the load."""
    task = asyncio.create_task(tuning.warm_up(), name="warm-up")
    _warm_ups.add(task)
    task.add_done_callback(_warm_ups.discard)


async def warmed_up() -> None:
    """Wait for the start-up warm-up (benchmarks measure after it, as a resident would)."""
    await asyncio.gather(*_warm_ups, return_exceptions=True)
