"""Middlewares every update passes, in order: duplicate guard → flood control → context.

Every message then passes the risk gate (danger → safety message first, in every state).
"""

from __future__ import annotations

from aiogram import Dispatcher
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.middlewares.context import ContextMiddleware
from bot.middlewares.dedupe import DuplicateUpdateMiddleware
from bot.middlewares.flood import FloodControlMiddleware
from bot.middlewares.risk_gate import RiskGateMiddleware


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
    from bot.dialogs.report import keep_red_text  # the dialogs decide where a red text goes

    dp.message.outer_middleware(RiskGateMiddleware(keep=keep_red_text))


__all__ = [
    "ContextMiddleware",
    "DuplicateUpdateMiddleware",
    "FloodControlMiddleware",
    "RiskGateMiddleware",
    "setup_middlewares",
]
