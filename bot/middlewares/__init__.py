"""Middlewares every update passes, in order: duplicate guard → flood control → context."""

from __future__ import annotations

from aiogram import Dispatcher
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.middlewares.context import ContextMiddleware
from bot.middlewares.dedupe import DuplicateUpdateMiddleware
from bot.middlewares.flood import FloodControlMiddleware


def setup_middlewares(
    dp: Dispatcher,
    *,
    session_factory: async_sessionmaker[AsyncSession],
    redis: Redis | None = None,
) -> None:
    dp.update.outer_middleware(
        DuplicateUpdateMiddleware(session_factory=session_factory, redis=redis)
    )
    dp.update.outer_middleware(FloodControlMiddleware(redis=redis))
    dp.update.outer_middleware(ContextMiddleware(session_factory))


__all__ = [
    "ContextMiddleware",
    "DuplicateUpdateMiddleware",
    "FloodControlMiddleware",
    "setup_middlewares",
]
