"""Drop a Telegram update delivered twice (same update_id): Telegram and webhooks may redeliver."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from aiogram_dialog.api.entities import DialogUpdate
from redis.asyncio import Redis
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import ProcessedUpdate
from backend.models.base import utcnow
from bot import keys

log = logging.getLogger(__name__)

KEEP_FOR = timedelta(days=2)
PRUNE_EVERY = 1000
RECENT_IN_MEMORY = 4096


class DuplicateUpdateMiddleware(BaseMiddleware):
    """Outer update middleware: the first delivery of an update id wins, later ones are dropped.

    For updates fed straight to the dispatcher (the console, tests); the inbox already does it
    for everything that arrives from Telegram.

    With Redis the claim is ``SET NX`` with a TTL (shared by every bot worker); otherwise it is an
    insert into the ``processed_update`` table, so a restart does not forget handled ids.
    """

    def __init__(
        self,
        *,
        session_factory: async_sessionmaker[AsyncSession],
        redis: Redis | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.redis = redis
        self._recent: OrderedDict[int, None] = OrderedDict()
        self._claims = 0

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if data.get("inbox_replay") or data.get("inbox_claimed"):
            # Came through the inbox (bot.inbox), which stores each update id once and hands a
            # redelivery to nobody: claiming it again here would only cost a round trip. And an
            # update handled again from the inbox (its first handling was cut short) must not be
            # stopped by the claim that first handling left behind.
            return await handler(event, data)
        if isinstance(event, DialogUpdate):
            # aiogram-dialog's own background updates (not from Telegram) all carry id 0.
            return await handler(event, data)
        if isinstance(event, Update) and not await self.claim(event.update_id):
            log.info("duplicate update %s dropped", event.update_id)
            return None
        return await handler(event, data)

    async def claim(self, update_id: int) -> bool:
        """True the first time an update id is seen."""
        if update_id in self._recent:
            return False
        self._recent[update_id] = None
        if len(self._recent) > RECENT_IN_MEMORY:
            self._recent.popitem(last=False)
        if self.redis is not None:
            claimed = await self.redis.set(
                keys.processed_update(update_id), 1, nx=True, ex=int(KEEP_FOR.total_seconds())
            )
            return bool(claimed)
        return await self._claim_in_db(update_id)

    async def _claim_in_db(self, update_id: int) -> bool:
        async with self.session_factory() as session:
            dialect = session.bind.dialect.name if session.bind else "sqlite"
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            statement = (
                insert(ProcessedUpdate)
                .values(update_id=update_id, created_at=utcnow())
                .on_conflict_do_nothing(index_elements=["update_id"])
            )
            result = await session.exec(statement)
            self._claims += 1
            if self._claims % PRUNE_EVERY == 0:
                await session.exec(
                    delete(ProcessedUpdate).where(
                        col(ProcessedUpdate.created_at) < utcnow() - KEEP_FOR
                    )
                )
            await session.commit()
            return bool(result.rowcount)
