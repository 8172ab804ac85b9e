"""The Bot API stand-in behaves like Telegram where the npm emulator does not."""

from __future__ import annotations

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from tests.telegram_stub import TelegramStub


@pytest.fixture
async def stub() -> TelegramStub:
    server = TelegramStub()
    await server.start()
    yield server  # type: ignore[misc]
    await server.stop()


@pytest.fixture
async def api_bot(stub: TelegramStub) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(stub.url))
    bot = Bot("777:TEST", session=session)
    yield bot  # type: ignore[misc]
    await session.close()


async def test_get_me_says_it_is_a_bot(api_bot: Bot) -> None:
    me = await api_bot.get_me()
    assert me.is_bot is True
    assert me.id == 777


async def test_button_press_arrives_as_callback_with_chat_instance(
    stub: TelegramStub, api_bot: Bot
) -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="提交", callback_data="go")]]
    )
    sent = await api_bot.send_message(5, "确认提交吗？", reply_markup=markup)
    await stub.press(5, "提交")
    updates = await api_bot.get_updates(timeout=1)
    query = updates[-1].callback_query
    assert query is not None
    assert query.data == "go"
    assert query.chat_instance
    assert query.message is not None and query.message.message_id == sent.message_id


async def test_dates_are_unix_seconds(stub: TelegramStub, api_bot: Bot) -> None:
    await stub.user_message(5, "你好")
    updates = await api_bot.get_updates(timeout=1)
    message = updates[-1].message
    assert message is not None
    assert 2020 <= message.date.year <= 2100


async def test_get_updates_waits_for_the_timeout_then_returns_nothing(api_bot: Bot) -> None:
    assert await api_bot.get_updates(timeout=1) == []


async def test_get_updates_honours_offset(stub: TelegramStub, api_bot: Bot) -> None:
    await stub.user_message(5, "一")
    await stub.user_message(5, "二")
    first = await api_bot.get_updates(timeout=1)
    assert [u.message.text for u in first if u.message] == ["一", "二"]
    later = await api_bot.get_updates(offset=first[-1].update_id + 1, timeout=1)
    assert later == []


async def test_injected_faults_become_aiogram_errors(stub: TelegramStub, api_bot: Bot) -> None:
    await stub.inject_fault("sendMessage", error_code=429, retry_after=3)
    await stub.inject_fault("sendMessage", error_code=403)
    with pytest.raises(TelegramRetryAfter) as retry:
        await api_bot.send_message(5, "a")
    assert retry.value.retry_after == 3
    with pytest.raises(TelegramForbiddenError):
        await api_bot.send_message(5, "b")
    assert (await api_bot.send_message(5, "c")).text == "c"


async def test_edits_replace_what_the_chat_shows(stub: TelegramStub, api_bot: Bot) -> None:
    sent = await api_bot.send_message(5, "旧")
    await api_bot.edit_message_text("新", chat_id=5, message_id=sent.message_id)
    assert stub.texts(5) == ["新"]
