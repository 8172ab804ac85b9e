"""Async wrappers for aiogram magic filters.

aiogram runs a synchronous filter (and a bare ``F...`` magic filter is one) in a worker thread
for every update it is checked against; :class:`Magic` evaluates it inline instead, which keeps
per-update dispatch cheap. Use it for every ``F`` filter in routers that see many updates.
"""

from __future__ import annotations

from typing import Any

from aiogram import F
from aiogram.filters import Filter
from aiogram.types import TelegramObject
from magic_filter import MagicFilter


class Magic(Filter):
    """``Magic(F.photo)`` behaves like ``F.photo`` but runs on the event loop."""

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> bool | dict[str, Any]:
        result = self.magic.resolve(event)
        return result if isinstance(result, dict) else bool(result)


PRIVATE_MESSAGE = Magic(F.chat.type == "private")
PRIVATE_CALLBACK = Magic(F.message.chat.type == "private")
NOT_COMMAND = Magic(~F.text.startswith("/"))  # commands fall through to their own routers
TEXT = Magic(F.text & ~F.text.startswith("/"))  # plain text, not a command
