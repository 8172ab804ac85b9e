"""/web in the bot: a one-time link for staff (that signs in once), a polite refusal otherwise."""

from __future__ import annotations

import re

import httpx
from aiogram.fsm.storage.memory import MemoryStorage
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.factory import create_dispatcher
from tests.mocked_bot import MockedBot
from tests.test_web.conftest import World
from tests.tg import make_group_message_update, make_message_update

LINK_RE = re.compile(r"http://testserver(/auth/[\w.\-]+)")


async def test_staff_gets_a_link_that_signs_in_once(
    world: World, sqlite_engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    dp = create_dispatcher(world.settings, session_factory=world.factory, storage=MemoryStorage())
    bot = MockedBot()
    await dp.feed_update(bot, make_message_update(2001, "/web"))
    text = bot.last_text(2001)
    assert "只能使用一次" in text
    match = LINK_RE.search(text)
    assert match, text
    [sent] = bot.calls("sendMessage", chat_id=2001)
    assert sent.link_preview_options.is_disabled  # a preview fetch would use the link up
    first = await client.get(match.group(1))
    assert first.status_code == 303 and first.headers["location"] == "/queue"
    client.cookies.clear()
    assert (await client.get(match.group(1))).status_code == 403


async def test_a_resident_is_politely_refused(world: World, sqlite_engine: AsyncEngine) -> None:
    dp = create_dispatcher(world.settings, session_factory=world.factory, storage=MemoryStorage())
    bot = MockedBot()
    await dp.feed_update(bot, make_message_update(9001, "/web"))
    text = bot.last_text(9001)
    assert "仅供" in text and "/auth/" not in text
    await dp.feed_update(bot, make_message_update(7777, "/web"))  # someone new
    assert "/auth/" not in bot.last_text(7777)


async def test_web_in_a_group_sends_no_link(world: World, sqlite_engine: AsyncEngine) -> None:
    dp = create_dispatcher(world.settings, session_factory=world.factory, storage=MemoryStorage())
    bot = MockedBot()
    await dp.feed_update(bot, make_group_message_update(2001, -500, "/web"))
    assert all("/auth/" not in text for text in bot.texts())
    assert "私聊" in bot.last_text(-500)
