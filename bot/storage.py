"""Embedded FSM storage (no Redis): aiogram state and data in the ``FsmRecord`` table.

A resident halfway through a report continues after a restart because every state change is a
committed row. Keys come from aiogram's ``DefaultKeyBuilder(with_destiny=True)``, the same layout
as the Redis storage, so switching storages never mixes two users' conversations.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    BaseStorage,
    DefaultKeyBuilder,
    KeyBuilder,
    StateType,
    StorageKey,
)
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import create_engine, create_session_factory
from backend.models import FsmRecord
from backend.models.base import utcnow


def _state_name(state: StateType) -> str | None:
    if state is None:
        return None
    if isinstance(state, State):
        return state.state
    return str(state)


CACHE_SIZE = 10_000  # people whose conversation state is kept in memory


class DatabaseStorage(BaseStorage):
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
        """A storage with its own connection pool.

        Handlers hold a connection of the main pool while they read or write the FSM state; a
        separate pool means that can never wait on itself when many updates arrive at once.
        """
        engine = create_engine(database_url)
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            # WAL + synchronous=NORMAL: survives a process crash or restart (what matters for a
            # half-finished report) without an fsync on every step.
            @event.listens_for(engine.sync_engine, "connect")
            def _relaxed_sync(dbapi_conn: Any, _record: Any) -> None:
                cursor = dbapi_conn.cursor()
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.close()

        return cls(create_session_factory(engine), key_builder, engine=engine, cache=sqlite)

    async def _record(self, key: StorageKey) -> tuple[str | None, dict[str, Any]]:
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

    async def _save(self, key: StorageKey, **values: Any) -> None:
        """Upsert the given columns of one record; drop the row once it holds nothing."""
        record_key = self.key_builder.build(key)
        async with self.session_factory() as session:
            dialect = session.bind.dialect.name if session.bind else "sqlite"
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            row = {"key": record_key, "state": None, "data": {}, "updated_at": utcnow(), **values}
            statement = insert(FsmRecord).values(**row)
            statement = statement.on_conflict_do_update(
                index_elements=["key"], set_={**values, "updated_at": row["updated_at"]}
            )
            await session.exec(statement)
            if not values.get("state") and not values.get("data"):
                record = await session.get(FsmRecord, record_key)
                if record is not None and record.state is None and not record.data:
                    await session.delete(record)
            await session.commit()
        cached = self._cache.get(record_key)
        if cached is not None:
            state = values["state"] if "state" in values else cached[0]
            data = values["data"] if "data" in values else cached[1]
            self._remember(record_key, (state, data))

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await self._save(key, state=_state_name(state))

    async def get_state(self, key: StorageKey) -> str | None:
        return (await self._record(key))[0]

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        if not isinstance(data, dict):
            raise TypeError(f"data must be a dict, not {type(data).__name__}")
        await self._save(key, data=copy.deepcopy(dict(data)))

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return copy.deepcopy((await self._record(key))[1])

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
