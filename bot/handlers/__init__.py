"""All routers in include order (BOT.md): start, staff desk, web, dialogs, legal, fallback.

Each module exposes ``create_router() -> Router`` (built per dispatcher, never at import time).
Modules that have not landed yet are skipped with a log line so helpers can merge independently.
"""

from __future__ import annotations

import importlib
import logging

from aiogram import Router

log = logging.getLogger(__name__)

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
    routers: list[Router] = []
    for name in ROUTER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                log.warning("router module %s skipped: %s", name, exc)
            else:
                log.info("router module %s not present yet; skipped", name)
            continue
        except ImportError as exc:  # a service it needs has not landed yet
            log.warning("router module %s skipped: %s", name, exc)
            continue
        routers.append(module.create_router())
    return routers


def create_error_router() -> Router:
    from bot.handlers.fallback import create_error_router as build

    return build()
