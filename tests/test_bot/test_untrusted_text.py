"""Telegram text with NUL characters on the real PostgreSQL (which refuses U+0000 in text).

Today's defect: a display name with U+0000 made the person upsert fail on every update, locking
that user out. Names, report texts, place names and FSM drafts all pass the same engine hook.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Dispatcher
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.county import load_county
from backend.db import create_session_factory
from backend.models import Case, Person
from backend.services import directory
from bot.factory import create_dispatcher
from bot.texts import t
from tests.mocked_bot import MockedBot
from tests.tg import TgUser, make_message_update

from .conftest import make_settings

ERROR_TEXT = t("common.error", "zh")


@pytest.fixture
async def pg_dp(postgres_engine: AsyncEngine) -> AsyncIterator[Dispatcher]:
    factory = create_session_factory(postgres_engine)
    async with factory() as session:
        await directory.sync_units(session=session, county=load_county())
    url = postgres_engine.url.render_as_string(hide_password=False)
    dispatcher = create_dispatcher(make_settings(url), session_factory=factory)
    dispatcher["test_factory"] = factory
    yield dispatcher
    await dispatcher.storage.close()


@pytest.mark.parametrize("name", ["张\x00三", "\x00", "\x00老\x00倌\x00"])
async def test_a_person_named_with_nul_is_served_on_postgres(
    pg_dp: Dispatcher, bot: MockedBot, name: str
) -> None:
    for _ in range(2):  # first contact, then the update of the name
        await pg_dp.feed_update(bot, make_message_update(8101, "/start", first_name=name))
        assert "综治中心" in bot.last_text(8101)
    async with pg_dp["test_factory"]() as session:
        person = (await session.exec(select(Person).where(Person.telegram_id == 8101))).one()
    assert person.display_name == name.replace("\x00", "")
    assert not any(ERROR_TEXT in text for text in bot.texts(8101))


async def test_a_report_typed_with_nul_is_filed_on_postgres(
    pg_dp: Dispatcher, bot: MockedBot
) -> None:
    user = TgUser(pg_dp, bot, user_id=8102, first_name="王\x00五")
    await user.send("/start")
    await user.press("反映问题")
    await user.send("邻居家的狗\x00天天半夜叫，\x00吵得睡不着")
    await user.press("下一步")
    await user.send("弥城镇\x00西山村\x00村口")
    await user.press("匿名")
    await user.press("提交")
    assert not any(ERROR_TEXT in text for text in user.texts)
    async with pg_dp["test_factory"]() as session:
        [case] = (await session.exec(select(Case))).all()
    assert "\x00" not in case.text and "半夜叫" in case.text


async def test_a_failing_update_is_logged_without_the_error_message(
    dp: Dispatcher,
    bot: MockedBot,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The error handler logs the exception type and frames: a database error's message (a
    duplicated key value, a name) never reaches the log."""
    import logging

    import bot.handlers.start as start

    message = "Key (phone)=({}) of {} already exists".format("139" + "87654321", "赵" + "六")

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError(message)

    monkeypatch.setattr(start, "send_menu", broken)
    with caplog.at_level(logging.INFO):
        await dp.feed_update(bot, make_message_update(8103, "/start"))
    assert ERROR_TEXT in bot.last_text(8103)
    assert "RuntimeError" in caplog.text
    assert "13987654321" not in caplog.text and "赵六" not in caplog.text
