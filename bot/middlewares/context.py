"""Per-update context for handlers: one DB session, the sender's Person, their language."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, User
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.services import directory
from bot.texts import normalize_language


class ContextMiddleware(BaseMiddleware):
    """Outer update middleware: ``session``, ``person`` (created on first contact) and ``lang``.

    The session lives for the update and is closed afterwards; services commit their own work.
    """

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.session_factory = session_factory

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        async with self.session_factory() as session:
            data["session"] = session
            person = None
            if user is not None and not user.is_bot:
                person = await directory.get_or_create_person(
                    session=session, telegram_id=user.id, display_name=user.full_name[:128]
                )
                # End the read transaction: the connection goes back to the pool while the
                # handler talks to Telegram or the FSM storage (no nested checkouts, no
                # stale SQLite snapshot); objects stay loaded (expire_on_commit=False).
                await session.commit()
            data["person"] = person
            data["lang"] = normalize_language(person.language if person else None)
            return await handler(event, data)
