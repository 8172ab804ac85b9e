"""``/bind <invite>`` in a Telegram group: the group becomes a unit's desk (cards go there).

Every bind uses up a fresh invite; a group that loses a desk is told (directory.bind_group).
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Person
from backend.services import directory
from bot.texts import t

log = logging.getLogger(__name__)

GROUP_TYPES = {ChatType.GROUP, ChatType.SUPERGROUP}


async def on_bind(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    person: Person | None,
    lang: str,
) -> None:
    if person is None:
        return
    code = (command.args or "").strip()
    if not code:
        await message.reply(t("staff.bind.usage", lang))
        return
    # A refused code (used, expired, not a staff code) is answered by the one refusal handler.
    binding = await directory.bind_group(
        session=session,
        person=person,
        code=code,
        chat_id=message.chat.id,
        chat_title=message.chat.title or "",
    )
    unit = binding.unit
    log.info("group bound to unit %s", unit.code)
    if binding.displaced is not None:
        text = t("staff.bind.replaced", lang, unit=unit.name, previous=binding.displaced.name)
    elif binding.moved_from_chat is not None:
        text = t("staff.bind.moved", lang, unit=unit.name)
    else:
        text = t("staff.bind.done", lang, unit=unit.name)
    await message.reply(text)


async def on_bind_private(message: Message, lang: str) -> None:
    await message.answer(t("staff.bind.only_groups", lang))


def create_router() -> Router:
    router = Router(name="group")
    router.message.register(on_bind, Command("bind"), F.chat.type.in_(GROUP_TYPES))
    router.message.register(on_bind_private, Command("bind"), F.chat.type == ChatType.PRIVATE)
    return router
