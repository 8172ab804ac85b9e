"""Shared fixtures: a fresh schema on SQLite and on the real PostgreSQL, and a clean Redis db.

PostgreSQL and Redis are real services (127.0.0.1). When one is unreachable the tests that need it
are skipped with the reason, except under CI=true, where they fail instead.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

import backend.models  # noqa: F401  (registers every table)
from backend.db import create_engine, create_session_factory

POSTGRES_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url.replace("+asyncpg", ""))
    try:
        address = (parsed.hostname or "127.0.0.1", parsed.port or default_port)
        with socket.create_connection(address, 2):
            return True
    except OSError:
        return False


def require_service(url: str, default_port: int, name: str) -> None:
    """Skip (or, in CI, fail) when a real service the test needs is not running."""
    if _reachable(url, default_port):
        return
    message = f"{name} is not reachable at {url}; start it (see README) to run this test"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


async def _fresh_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.drop_all)
        await conn.run_sync(SQLModel.metadata.create_all)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def postgres_url() -> str:
    require_service(POSTGRES_URL, 5432, "PostgreSQL")
    return POSTGRES_URL


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs twice: on a SQLite file and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    require_service(POSTGRES_URL, 5432, "PostgreSQL")
    return POSTGRES_URL


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url)
    await _fresh_schema(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
async def sqlite_engine(sqlite_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(sqlite_url)
    await _fresh_schema(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
async def postgres_engine(postgres_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(postgres_url)
    await _fresh_schema(eng)
    yield eng
    await eng.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(engine)


@pytest.fixture
async def session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with session_factory() as s:
        yield s


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A real Redis database, emptied before and after the test."""
    require_service(REDIS_URL, 6379, "Redis")
    from redis import Redis

    client = Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def shared_dir() -> Path:
    """The read-only ../shared folder (benchmarks, laws) that sits beside the checkout."""
    if not SHARED_DIR.is_dir():
        message = f"{SHARED_DIR} is missing (it sits beside the checkout in CI)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return SHARED_DIR


def run(coro: object) -> object:
    """Run a coroutine from synchronous test code."""
    return asyncio.run(coro)  # type: ignore[arg-type]
