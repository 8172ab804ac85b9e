"""Database engine and sessions: the only place that knows how to connect."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.untrusted import without_nul

# PostgreSQL connections per process: more than the updates a bot process handles at once
# (bot.factory.CONCURRENT_UPDATES) plus its notifier and inbox sweeper, so an update never waits
# for a connection; the overflow absorbs the web dashboard's bursts.
POOL_SIZE = 24
MAX_OVERFLOW = 16


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


class WithoutRowData(logging.Filter):
    """Drop the DEBUG records that carry row data: SQLAlchemy logs every result row, aiosqlite
    every statement with its parameters, and both hold names, phone numbers and report texts.
    SQL statements themselves still get through (parameters hidden, see ``create_engine``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "aiosqlite":
            return record.levelno > logging.DEBUG
        return not (isinstance(record.msg, str) and record.msg.startswith("Row "))


ROW_DATA_LOGGERS = ("sqlalchemy.engine.Engine", "aiosqlite")


def _keep_rows_out_of_logs() -> None:
    for name in ROW_DATA_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, WithoutRowData) for f in logger.filters):
            logger.addFilter(WithoutRowData())


def _strip_nul_from_parameters(engine: AsyncEngine) -> None:
    """The one place NUL is removed: every statement's parameters, on both databases."""

    @event.listens_for(engine.sync_engine, "before_cursor_execute", retval=True)
    def _strip(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> tuple[str, Any]:
        return statement, without_nul(parameters)


def create_engine(database_url: str, **kwargs: Any) -> AsyncEngine:
    """Create the async engine; SQLite gets WAL, a busy timeout and its folder created.

    SQL parameters (names, phone numbers, report texts) are kept out of exception messages,
    so a logged database error never carries personal data; NUL characters never reach the
    database (``without_nul``).
    """
    url = make_url(database_url)
    kwargs.setdefault("hide_parameters", True)
    _keep_rows_out_of_logs()
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30})
        # Sessions and connections end their own transactions (commit, or rollback on close);
        # the pool's extra rollback on every check-in is one more trip to aiosqlite's thread.
        kwargs.setdefault("pool_reset_on_return", None)
        engine = create_async_engine(url, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            # WAL + NORMAL survives a process crash and syncs per checkpoint, not per write.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        _strip_nul_from_parameters(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", POOL_SIZE)
    kwargs.setdefault("max_overflow", MAX_OVERFLOW)
    engine = create_async_engine(url, **kwargs)
    _strip_nul_from_parameters(engine)
    return engine


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def engine_from_settings(settings: Settings) -> AsyncEngine:
    return create_engine(settings.database_url)


@asynccontextmanager
async def session_scope(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session that rolls back on error and always closes."""
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
