"""Flood control: a person sending more than 30 updates in 10 seconds is politely slowed down."""

from __future__ import annotations

import itertools
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update, User
from redis.asyncio import Redis

from bot import keys
from bot.texts import t

LIMIT = 30
WINDOW_SECONDS = 10


class FloodControlMiddleware(BaseMiddleware):
    """Outer update middleware counting updates per user in a window.

    Over the limit, the first extra update gets one polite "please slow down" reply and the rest
    of the window is ignored. A sliding window: in a Redis sorted set shared by every worker when
    Redis is there, in memory otherwise. ``clock`` is replaceable so tests need no real time.
    """

    def __init__(
        self,
        *,
        redis: Redis | None = None,
        limit: int = LIMIT,
        window_seconds: int = WINDOW_SECONDS,
    ) -> None:
        self.redis = redis
        self.limit = limit
        self.window = window_seconds
        self.clock: Callable[[], float] = time.time
        self._hits: dict[int, deque[float]] = defaultdict(deque)
        self._warned: dict[int, float] = {}
        self._sequence = itertools.count()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        if user is None or user.is_bot:
            return await handler(event, data)
        count = await self._count(user.id)
        if count <= self.limit:
            return await handler(event, data)
        if await self._first_warning(user.id):
            await self._warn(event, data.get("bot"), user)
        return None

    async def _count(self, user_id: int) -> int:
        now = self.clock()
        if self.redis is not None:
            key = keys.flood(user_id)
            member = f"{now:.6f}:{id(self)}:{next(self._sequence)}"
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(key, 0, now - self.window)
                pipe.zadd(key, {member: now})
                pipe.zcard(key)
                pipe.expire(key, self.window * 2)
                _, _, count, _ = await pipe.execute()
            return int(count)
        hits = self._hits[user_id]
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        hits.append(now)
        if len(self._hits) > 10_000:  # forget idle users so memory stays bounded
            for uid in [u for u, h in self._hits.items() if not h or h[-1] <= now - self.window]:
                del self._hits[uid]
        return len(hits)

    async def _first_warning(self, user_id: int) -> bool:
        if self.redis is not None:
            key = keys.flood_warned(user_id)
            return bool(await self.redis.set(key, 1, nx=True, ex=self.window))
        now = self.clock()
        if now - self._warned.get(user_id, -1e9) < self.window:
            return False
        self._warned[user_id] = now
        return True

    async def _warn(self, event: TelegramObject, bot: Bot | None, user: User) -> None:
        if bot is None or not isinstance(event, Update):
            return
        text = t("common.slow_down", user.language_code)
        if event.callback_query is not None:
            await event.callback_query.answer(text, show_alert=True)
        elif event.message is not None:
            await bot.send_message(event.message.chat.id, text)
