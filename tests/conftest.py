"""Shared fixtures: a fresh schema on SQLite and on the real PostgreSQL, and a clean Redis db.

PostgreSQL and Redis are real services (127.0.0.1). When one is unreachable the tests that need it
are skipped with the reason, except under CI=true, where they fail instead.

Each test run works in a database of its own (created on the `test` database's server, dropped at
the end) and in a Redis db number it has locked, so two runs on one machine never clobber each
other.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlparse

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

import backend.models  # noqa: F401  (registers every table)
from backend.db import create_engine, create_session_factory

BASE_POSTGRES_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
BASE_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"


T = TypeVar("T")
RUN_DATABASE_PREFIX = "zzt_run_"
REDIS_LOCK_SECONDS = 3600


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def _create_run_database(base_url: str) -> str:
    """Create this run's own database (and drop those left by runs that died); return its URL."""
    import asyncpg  # type: ignore[import-untyped]

    parsed = urlparse(base_url.replace("+asyncpg", ""))
    conn = await asyncpg.connect(parsed._replace(scheme="postgresql").geturl())
    try:
        rows = await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", RUN_DATABASE_PREFIX + "%"
        )
        for row in rows:
            owner_pid = row["datname"].removeprefix(RUN_DATABASE_PREFIX).split("_")[0]
            if owner_pid.isdigit() and not _pid_alive(int(owner_pid)):
                await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
        name = f"{RUN_DATABASE_PREFIX}{os.getpid()}_{secrets.token_hex(3)}"
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return base_url.rsplit("/", 1)[0] + "/" + name


async def _drop_run_database(base_url: str, run_url: str) -> None:
    import asyncpg

    parsed = urlparse(base_url.replace("+asyncpg", ""))
    conn = await asyncpg.connect(parsed._replace(scheme="postgresql").geturl())
    try:
        name = run_url.rsplit("/", 1)[1]
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _lock_redis_db(base_url: str) -> tuple[str, str]:
    """Lock a free Redis db number (1..15) for this run; return (url, lock key)."""
    from redis import Redis

    root = base_url.rsplit("/", 1)[0]
    with Redis.from_url(root + "/0") as client:
        for number in [int(base_url.rsplit("/", 1)[1] or 15), *range(15, 0, -1)]:
            key = f"zzt:test-run-lock:{number}"
            holder = client.get(key)
            if holder is not None and not _pid_alive(int(holder)):
                client.delete(key)
            if client.set(key, os.getpid(), nx=True, ex=REDIS_LOCK_SECONDS):
                return f"{root}/{number}", key
    raise RuntimeError("every Redis test db (1..15) is locked by a running test run")


def _run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion even when a test's event loop is already running."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def _run_postgres_url() -> Iterator[str]:
    if not _reachable(BASE_POSTGRES_URL, 5432):
        yield BASE_POSTGRES_URL  # require_service() skips or fails with the reason
        return
    url = _run_in_thread(_create_run_database(BASE_POSTGRES_URL))
    yield url
    _run_in_thread(_drop_run_database(BASE_POSTGRES_URL, url))


@pytest.fixture(scope="session")
def _run_redis_url() -> Iterator[str]:
    if not _reachable(BASE_REDIS_URL, 6379):
        yield BASE_REDIS_URL
        return
    url, lock_key = _lock_redis_db(BASE_REDIS_URL)
    yield url
    from redis import Redis

    with Redis.from_url(url.rsplit("/", 1)[0] + "/0") as client:
        client.delete(lock_key)


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
def postgres_url(_run_postgres_url: str) -> str:
    require_service(_run_postgres_url, 5432, "PostgreSQL")
    return _run_postgres_url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs twice: on a SQLite file and on the real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    return str(request.getfixturevalue("postgres_url"))


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
def redis_url(_run_redis_url: str) -> Iterator[str]:
    """A real Redis database (this run's own db number), emptied before and after the test."""
    require_service(_run_redis_url, 6379, "Redis")
    from redis import Redis

    client = Redis.from_url(_run_redis_url)
    client.flushdb()
    yield _run_redis_url
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
