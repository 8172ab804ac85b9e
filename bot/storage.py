"""FSM storage: aiogram state and data in the ``FsmRecord`` table (embedded) or Redis, written
once per update.

A resident halfway through a report continues after a restart because every update's state
change is a committed row. Keys come from aiogram's ``DefaultKeyBuilder(with_destiny=True)``, the
same layout as the Redis storage, so switching storages never mixes two users' conversations.

One write per update: handlers (and aiogram-dialog) read and write the state many times while
handling one update (``state.clear()`` alone is a state and a data write). Inside the per-user
lock of an update (:class:`BatchingIsolation`, :class:`RedisBatchIsolation`) reads are answered
from memory after the first one and writes are collected, then written together when the update
is done (one transaction, or one Redis pipeline together with releasing the lock). An update cut
short by a crash is handled again from the inbox, from the state before it, which is what the
update's all-or-nothing write gives it. Outside an update (tests, the console's helpers, a
notifier setting someone's state) every write goes straight through.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
from collections import OrderedDict
from collections.abc import AsyncGenerator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, cast

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseEventIsolation,
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from aiogram.fsm.storage.redis import DEFAULT_REDIS_LOCK_KWARGS, RedisStorage
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import create_engine, create_session_factory
from backend.models import FsmRecord
from backend.models.base import utcnow

CACHE_SIZE = 10_000  # people whose conversation state is kept in memory (embedded SQLite)
LOCK_RETRY_SECONDS = 0.02  # a busy per-user lock (the same person's previous update) is retried


def _state_name(state: StateType) -> str | None:
    if state is None:
        return None
    if isinstance(state, State):
        return state.state
    return str(state)


_UNSET: Any = object()


@dataclass
class _Entry:
    """One key as this update sees it: values read or written (``_UNSET``: not known yet)."""

    state: Any = _UNSET
    data: Any = _UNSET
    state_written: bool = False
    data_written: bool = False

    @property
    def written(self) -> bool:
        return self.state_written or self.data_written


class FsmBatch:
    """The FSM reads and writes of one update, made while its per-user lock is held."""

    def __init__(self) -> None:
        self.entries: dict[StorageKey, _Entry] = {}

    def entry(self, key: StorageKey) -> _Entry:
        found = self.entries.get(key)
        if found is None:
            found = self.entries[key] = _Entry()
        return found

    def written(self) -> list[tuple[StorageKey, _Entry]]:
        return [(key, entry) for key, entry in self.entries.items() if entry.written]


_batch: ContextVar[FsmBatch | None] = ContextVar("fsm_batch", default=None)
_riders: ContextVar[list[Any] | None] = ContextVar("fsm_riders", default=None)


@contextmanager
def ride_along(statements: list[Any]) -> Iterator[list[Any]]:
    """Statements to commit in the same transaction as this update's FSM write, if the update
    writes its state to the database (the inbox's "handled" mark: one commit instead of two,
    and never a state saved without its update marked, or the reverse). Whatever is still in
    the list afterwards was not written: the caller runs it itself."""
    token = _riders.set(statements)
    try:
        yield statements
    finally:
        _riders.reset(token)


def current_batch() -> FsmBatch | None:
    """The FSM batch of the update being handled in this task (None outside an update)."""
    return _batch.get()


class BatchingStorage(BaseStorage):
    """A storage whose reads and writes inside an update go through the update's batch."""

    async def _load(self, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
        raise NotImplementedError

    async def flush(self, batch: FsmBatch) -> None:
        """Write what the update changed (one transaction / one round trip)."""
        raise NotImplementedError

    async def _fill(self, key: StorageKey, entry: _Entry) -> None:
        if entry.state is _UNSET or entry.data is _UNSET:
            state, data = await self._load(key)
            if entry.state is _UNSET:
                entry.state = state
            if entry.data is _UNSET:
                entry.data = data

    async def get_state(self, key: StorageKey) -> str | None:
        batch = _batch.get()
        if batch is None:
            return (await self._load(key))[0]
        entry = batch.entry(key)
        if entry.state is _UNSET:
            await self._fill(key, entry)
        return cast(str | None, entry.state)

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        batch = _batch.get()
        if batch is None:
            return copy.deepcopy((await self._load(key))[1])
        entry = batch.entry(key)
        if entry.data is _UNSET:
            await self._fill(key, entry)
        return copy.deepcopy(cast(dict[str, Any], entry.data))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        batch = _batch.get()
        if batch is None:
            await self._write_now(key, state=_state_name(state))
            return
        entry = batch.entry(key)
        name = _state_name(state)
        if entry.state is not _UNSET and entry.state == name:
            return  # unchanged: nothing to write
        entry.state, entry.state_written = name, True

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise TypeError(f"data must be a dict, not {type(data).__name__}")
        copied = copy.deepcopy(dict(data))
        batch = _batch.get()
        if batch is None:
            await self._write_now(key, data=copied)
            return
        entry = batch.entry(key)
        if entry.data is not _UNSET and entry.data == copied:
            return  # unchanged (aiogram-dialog saves its stack after every update): no write
        entry.data, entry.data_written = copied, True

    async def _write_now(self, key: StorageKey, **values: Any) -> None:
        batch = FsmBatch()
        entry = batch.entry(key)
        if "state" in values:
            entry.state, entry.state_written = values["state"], True
        if "data" in values:
            entry.data, entry.data_written = values["data"], True
        await self.flush(batch)


class BatchingIsolation(BaseEventIsolation):
    """Wraps an isolation: the outermost lock of an update opens its FSM batch and writes it
    before the lock is released (nested locks, e.g. aiogram-dialog's stack lock, join it)."""

    def __init__(self, inner: BaseEventIsolation, storage: BatchingStorage) -> None:
        self.inner = inner
        self.storage = storage

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        async with self.inner.lock(key):
            if _batch.get() is not None:
                yield None
                return
            batch = FsmBatch()
            token = _batch.set(batch)
            try:
                yield None
            finally:
                _batch.reset(token)
                await self.storage.flush(batch)

    async def close(self) -> None:
        await self.inner.close()


class DatabaseStorage(BatchingStorage):
    """aiogram ``BaseStorage`` on the FsmRecord table (SQLite or PostgreSQL)."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        key_builder: KeyBuilder | None = None,
        *,
        engine: AsyncEngine | None = None,
        cache: bool = False,
    ) -> None:
        self.session_factory = session_factory
        self.key_builder = key_builder or DefaultKeyBuilder(with_destiny=True)
        self._engine = engine  # owned (disposed on close) when built by from_url
        # Optional write-through cache of (state, data) per key, for the single-process SQLite
        # setup: aiogram's event isolation runs one update per user at a time, so once a record
        # is read, later reads need no database round trip; every write still commits first.
        # Off for PostgreSQL, where several bot processes may share the table.
        self._cache_enabled = cache
        self._cache: OrderedDict[str, tuple[str | None, dict[str, Any]]] = OrderedDict()

    @classmethod
    def from_url(cls, database_url: str, key_builder: KeyBuilder | None = None) -> DatabaseStorage:
        """A storage with its own engine (tests, tools); the bot shares its main engine."""
        engine = create_engine(database_url)
        cache = engine.dialect.name == "sqlite"
        return cls(create_session_factory(engine), key_builder, engine=engine, cache=cache)

    async def _load(self, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
        record_key = self.key_builder.build(key)
        cached = self._cache.get(record_key)
        if cached is not None:
            self._cache.move_to_end(record_key)
            return cached
        async with self.session_factory() as session:
            result = await session.exec(select(FsmRecord).where(col(FsmRecord.key) == record_key))
            record = result.first()
        value = (record.state, dict(record.data or {})) if record else (None, {})
        self._remember(record_key, value)
        return value

    def _remember(self, record_key: str, value: tuple[str | None, dict[str, Any]]) -> None:
        if not self._cache_enabled:
            return
        self._cache[record_key] = value
        self._cache.move_to_end(record_key)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    async def flush(self, batch: FsmBatch) -> None:
        """Upsert every changed record, or delete it once it holds nothing; one transaction."""
        written = batch.written()
        if not written:
            return
        for key, entry in written:
            await self._fill(key, entry)  # a record is written whole (usually known already)
        now = utcnow()
        async with self.session_factory() as session:
            dialect = session.bind.dialect.name if session.bind else "sqlite"
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            for key, entry in written:
                record_key = self.key_builder.build(key)
                if entry.state is None and not entry.data:
                    await session.exec(delete(FsmRecord).where(col(FsmRecord.key) == record_key))
                    continue
                row = {"key": record_key, "state": entry.state, "data": entry.data}
                statement = insert(FsmRecord).values(**row, updated_at=now)
                await session.exec(
                    statement.on_conflict_do_update(
                        index_elements=["key"],
                        set_={"state": entry.state, "data": entry.data, "updated_at": now},
                    )
                )
            riders = _riders.get()
            taken = list(riders) if riders else []
            for rider in taken:
                await session.exec(rider)
            await session.commit()
            if riders:
                del riders[: len(taken)]
        for key, entry in written:
            self._remember(self.key_builder.build(key), (entry.state, copy.deepcopy(entry.data)))

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()


RELEASE_LOCK = """
if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) end
return 0
"""


class RedisBatchStorage(BatchingStorage, RedisStorage):
    """aiogram's Redis storage, read and written once per update (see the module docstring)."""

    async def _load(self, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(self.key_builder.build(key, "state"))
            pipe.get(self.key_builder.build(key, "data"))
            state, data = await pipe.execute()
        return self._decode(state, data)

    def _decode(self, state: Any, data: Any) -> tuple[str | None, dict[str, Any]]:
        if isinstance(state, bytes):
            state = state.decode("utf-8")
        if isinstance(data, bytes):
            data = data.decode("utf-8")
        return state, (cast(dict[str, Any], self.json_loads(data)) if data else {})

    def queue_writes(self, pipe: Any, batch: FsmBatch) -> None:
        for key, entry in batch.written():
            if entry.state_written:
                state_key = self.key_builder.build(key, "state")
                if entry.state is None:
                    pipe.delete(state_key)
                else:
                    pipe.set(state_key, entry.state, ex=self.state_ttl)
            if entry.data_written:
                data_key = self.key_builder.build(key, "data")
                if not entry.data:
                    pipe.delete(data_key)
                else:
                    pipe.set(data_key, self.json_dumps(entry.data), ex=self.data_ttl)

    async def flush(self, batch: FsmBatch) -> None:
        if not batch.written():
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            self.queue_writes(pipe, batch)
            await pipe.execute()


class RedisBatchIsolation(BaseEventIsolation):
    """Per-user lock across workers in Redis, in two round trips per update with the FSM.

    Taking the lock also reads the person's state and data (one pipeline); releasing it writes
    what the update changed (one transaction, then the lock is released only if still ours).
    """

    def __init__(self, storage: RedisBatchStorage, lock_timeout: int | None = None) -> None:
        self.storage = storage
        self.redis = storage.redis
        self.key_builder = storage.key_builder
        timeout = lock_timeout or int(cast(int, DEFAULT_REDIS_LOCK_KWARGS["timeout"]))
        self.lock_ms = timeout * 1000

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        lock_key = self.key_builder.build(key, "lock")
        token = secrets.token_hex(8)
        outer = _batch.get() is None
        batch = FsmBatch() if outer else None
        while True:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(lock_key, token, nx=True, px=self.lock_ms)
                if batch is not None:
                    pipe.get(self.key_builder.build(key, "state"))
                    pipe.get(self.key_builder.build(key, "data"))
                result = await pipe.execute()
            if result[0]:
                break
            await asyncio.sleep(LOCK_RETRY_SECONDS)
        if batch is None:
            try:
                yield None
            finally:
                await self.redis.eval(RELEASE_LOCK, 1, lock_key, token)
            return
        entry = batch.entry(key)
        entry.state, entry.data = self.storage._decode(result[1], result[2])
        context = _batch.set(batch)
        try:
            yield None
        finally:
            _batch.reset(context)
            async with self.redis.pipeline(transaction=True) as pipe:
                self.storage.queue_writes(pipe, batch)
                pipe.eval(RELEASE_LOCK, 1, lock_key, token)
                await pipe.execute()

    async def close(self) -> None:
        pass
