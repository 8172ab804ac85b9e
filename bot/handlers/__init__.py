"""All routers in include order (BOT.md): start, staff desk, web, dialogs, legal, fallback.

Each module exposes ``create_router() -> Router`` (built per dispatcher, never at import time).
"""

from __future__ import annotations

import importlib

from aiogram import Router

ROUTER_MODULES: tuple[str, ...] = (
    "bot.handlers.start",
    "bot.handlers.group",
    "bot.handlers.staff",
    "bot.handlers.center",
    "bot.handlers.web",
    "bot.dialogs.report",
    "bot.dialogs.grid",
    "bot.dialogs.my_cases",
    "bot.dialogs.rating",
    "bot.dialogs.legal",
    "bot.handlers.fallback",
)


def create_routers() -> list[Router]:
    """A fresh router per module, in include order (an import error stops the bot loudly)."""
    return [importlib.import_module(name).create_router() for name in ROUTER_MODULES]


def create_error_router() -> Router:
    from bot.handlers.fallback import create_error_router as build

    return build()
