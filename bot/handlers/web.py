"""``/web`` in a private chat: a one-time sign-in link to the web dashboard (staff only)."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command
from aiogram.types import LinkPreviewOptions, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.models import Person
from backend.services import web_auth
from bot.texts import t

log = logging.getLogger(__name__)


async def on_web(
    message: Message,
    session: AsyncSession,
    person: Person | None,
    settings: Settings,
    lang: str,
) -> None:
    if person is None or not web_auth.may_use_web(person):
        await message.answer(t("web.not_staff", lang))
        return
    url = await web_auth.create_login_link(session=session, person=person, settings=settings)
    log.info("web login link issued to person %s", person.id)
    # No link preview: a preview fetch would open (and so use up) the one-time link.
    await message.answer(
        t("web.link", lang, url=url, minutes=settings.web_login_ttl_minutes),
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )


async def on_web_in_group(message: Message, lang: str) -> None:
    await message.reply(t("web.private_only", lang))


def create_router() -> Router:
    router = Router(name="web")
    router.message.register(on_web, Command("web"), F.chat.type == ChatType.PRIVATE)
    router.message.register(on_web_in_group, Command("web"), F.chat.type != ChatType.PRIVATE)
    return router
