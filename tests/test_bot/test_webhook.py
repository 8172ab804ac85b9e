"""``python -m bot webhook``: updates posted by Telegram reach the same dispatcher."""

from __future__ import annotations

import asyncio

from aiogram import Dispatcher
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.__main__ import build_webhook_app
from tests.mocked_bot import MockedBot
from tests.tg import make_message_update

SECRET = "s3cret-token"


async def _wait_for_reply(bot: MockedBot, chat_id: int) -> None:
    for _ in range(200):
        if bot.calls("sendMessage", chat_id=chat_id):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("no reply from the webhook dispatcher")


async def test_a_webhook_update_is_answered_once_and_forged_posts_are_refused(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    app = build_webhook_app(
        dp, bot, path="/tg", secret=SECRET, session_factory=bot_session_factory, concurrency=4
    )
    update = make_message_update(6001, "/start").model_dump(mode="json", exclude_none=True)
    async with TestClient(TestServer(app)) as client:
        forged = await client.post("/tg", json=update)
        assert forged.status == 401
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        assert (await client.post("/tg", json=update, headers=headers)).status == 200
        await _wait_for_reply(bot, 6001)
        assert (await client.post("/tg", json=update, headers=headers)).status == 200
        await asyncio.sleep(0.3)
    replies = bot.calls("sendMessage", chat_id=6001)
    assert len(replies) == 1
    assert "综治中心" in replies[0].text
