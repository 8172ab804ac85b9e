"""The bot runtime: state survives a restart, duplicates are handled once, floods are slowed."""

from __future__ import annotations

import pytest
from aiogram import Dispatcher
from aiogram.fsm.storage.base import StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.models import Case, FsmRecord
from bot.dialogs.states import ReportSG
from bot.factory import create_dispatcher
from bot.middlewares import FloodControlMiddleware
from bot.storage import DatabaseStorage
from bot.texts import keys
from tests.mocked_bot import MockedBot
from tests.test_bot.conftest import make_settings
from tests.tg import TgUser, make_message_update

COMPLAINT = "邻居家的排水沟一直往我家院子里流水，说了好几次都不改。"


def test_every_text_exists_in_chinese_and_english() -> None:
    zh, en = keys("zh"), keys("en")
    assert zh - en == set(), f"missing in English: {sorted(zh - en)}"
    assert en - zh == set(), f"missing in Chinese: {sorted(en - zh)}"


async def _half_a_report(user: TgUser) -> None:
    await user.send("/start")
    await user.press("反映问题")
    await user.send(COMPLAINT)
    await user.press("下一步")
    assert "发生在哪里" in user.last_text


async def _finish_after_restart(user: TgUser, factory: async_sessionmaker[AsyncSession]) -> None:
    await user.press("跳过")
    assert "联系方式" in user.last_text
    await user.press("匿名反映")
    await user.press("确认提交")
    async with factory() as session:
        [case] = (await session.exec(select(Case))).all()
    assert case.text == COMPLAINT


async def test_a_report_in_progress_survives_a_restart_on_the_embedded_storage(
    bot_settings: Settings,
    bot_session_factory: async_sessionmaker[AsyncSession],
    bot: MockedBot,
) -> None:
    first = create_dispatcher(bot_settings, session_factory=bot_session_factory)
    assert isinstance(first.storage, DatabaseStorage)
    await _half_a_report(TgUser(first, bot, user_id=5001))
    await first.storage.close()

    restarted = create_dispatcher(bot_settings, session_factory=bot_session_factory)
    await _finish_after_restart(TgUser(restarted, bot, user_id=5001), bot_session_factory)


@pytest.mark.redis
async def test_a_report_in_progress_survives_a_restart_on_redis(
    bot_engine: object,
    bot_session_factory: async_sessionmaker[AsyncSession],
    redis_url: str,
    bot: MockedBot,
) -> None:
    settings = make_settings(str(bot_engine.url), redis_url)  # type: ignore[attr-defined]
    first = create_dispatcher(settings, session_factory=bot_session_factory)
    assert isinstance(first.storage, RedisStorage)
    await _half_a_report(TgUser(first, bot, user_id=5002))
    await first.storage.close()

    restarted = create_dispatcher(settings, session_factory=bot_session_factory)
    await _finish_after_restart(TgUser(restarted, bot, user_id=5002), bot_session_factory)
    await restarted.storage.close()


async def test_the_same_update_delivered_twice_is_handled_once_even_after_a_restart(
    bot_settings: Settings,
    bot_session_factory: async_sessionmaker[AsyncSession],
    bot: MockedBot,
) -> None:
    dp = create_dispatcher(bot_settings, session_factory=bot_session_factory)
    update = make_message_update(5101, "/start")
    await dp.feed_update(bot, update)
    await dp.feed_update(bot, update)
    assert len(bot.calls("sendMessage", chat_id=5101)) == 1
    restarted = create_dispatcher(bot_settings, session_factory=bot_session_factory)
    await restarted.feed_update(bot, update)
    assert len(bot.calls("sendMessage", chat_id=5101)) == 1


@pytest.mark.redis
async def test_duplicate_updates_are_dropped_with_redis(
    bot_engine: object,
    bot_session_factory: async_sessionmaker[AsyncSession],
    redis_url: str,
    bot: MockedBot,
) -> None:
    settings = make_settings(str(bot_engine.url), redis_url)  # type: ignore[attr-defined]
    dp = create_dispatcher(settings, session_factory=bot_session_factory)
    update = make_message_update(5102, "/help")
    for _ in range(3):
        await dp.feed_update(bot, update)
    assert len(bot.calls("sendMessage", chat_id=5102)) == 1
    await dp.storage.close()


def _freeze_flood_clock(dp: Dispatcher) -> None:
    """All updates count as arriving at the same instant (no dependence on machine speed)."""
    for middleware in dp.update.outer_middleware:
        if isinstance(middleware, FloodControlMiddleware):
            middleware.clock = lambda: 1_000_000.0


async def _flood(dp: Dispatcher, bot: MockedBot, user_id: int, count: int) -> None:
    _freeze_flood_clock(dp)
    for i in range(count):
        await dp.feed_update(bot, make_message_update(user_id, f"/help {i}"))


async def test_a_flooding_user_is_told_once_to_slow_down(dp: Dispatcher, bot: MockedBot) -> None:
    await _flood(dp, bot, 5201, 40)
    texts = bot.texts(5201)
    assert len(texts) == 31  # 30 answered, one polite notice, the rest ignored
    assert sum("太快" in text for text in texts) == 1
    await _flood(dp, bot, 5202, 5)  # other people are not affected
    assert len(bot.texts(5202)) == 5


@pytest.mark.redis
async def test_flood_control_counts_in_redis(
    bot_engine: object,
    bot_session_factory: async_sessionmaker[AsyncSession],
    redis_url: str,
    bot: MockedBot,
) -> None:
    settings = make_settings(str(bot_engine.url), redis_url)  # type: ignore[attr-defined]
    dp = create_dispatcher(settings, session_factory=bot_session_factory)
    await _flood(dp, bot, 5203, 40)
    texts = bot.texts(5203)
    assert len(texts) == 31
    assert sum("太快" in text for text in texts) == 1
    await dp.storage.close()


async def test_database_storage_keeps_state_and_data_and_forgets_cleared_users(
    bot_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    storage = DatabaseStorage(bot_session_factory)
    key = StorageKey(bot_id=42, chat_id=7, user_id=7)
    await storage.set_state(key, ReportSG.place)
    await storage.update_data(key, {"parts": ["一", "二"], "lat": 25.3})
    again = DatabaseStorage(bot_session_factory)
    assert await again.get_state(key) == ReportSG.place.state
    assert await again.get_data(key) == {"parts": ["一", "二"], "lat": 25.3}
    await again.set_state(key, None)
    await again.set_data(key, {})
    async with bot_session_factory() as session:
        assert (await session.exec(select(FsmRecord))).all() == []


def test_every_text_the_resident_side_uses_exists() -> None:
    """Catches a typo in a text key before a resident meets a KeyError."""
    import re
    from pathlib import Path

    from backend.models import CaseStatus, RatingScore, RiskLevel, Role
    from bot.handlers.start import commands_for

    root = Path(__file__).resolve().parents[2] / "bot"
    sources = [
        *root.glob("dialogs/*.py"),
        root / "handlers" / "start.py",
        root / "handlers" / "fallback.py",
        root / "middlewares" / "flood.py",
    ]
    used = {
        key
        for path in sources
        if path.name != "legal.py"
        for key in re.findall(
            r"""["']((?:common|report|grid|cases|rate)\.[A-Za-z_]+)["']""",
            path.read_text(encoding="utf-8"),
        )
    }
    used |= {f"cases.status_{s.value}" for s in CaseStatus}
    used |= {f"grid.risk_{r.value}" for r in RiskLevel}
    used |= {f"rate.btn_{s.value}" for s in RatingScore}
    used |= {f"common.role_{r.value}" for r in Role}
    assert all(commands_for(role, "zh") for role in Role)
    missing = sorted(key for key in used if key.rstrip("_") == key and key not in keys("zh"))
    assert missing == []


async def test_the_cached_embedded_storage_reads_what_it_wrote_and_restarts_from_disk(
    tmp_path: object,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/fsm.db"  # type: ignore[str-bytes-safe]
    from sqlmodel import SQLModel

    from backend.db import create_engine

    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    await engine.dispose()
    key = StorageKey(bot_id=42, chat_id=8, user_id=8)
    storage = DatabaseStorage.from_url(url)
    assert await storage.get_state(key) is None
    await storage.set_state(key, ReportSG.contact)
    data = await storage.update_data(key, {"parts": ["一"]})
    data["parts"].append("not saved")  # callers may mutate what they get
    assert await storage.get_data(key) == {"parts": ["一"]}
    await storage.close()
    reopened = DatabaseStorage.from_url(url)
    assert await reopened.get_state(key) == ReportSG.contact.state
    assert await reopened.get_data(key) == {"parts": ["一"]}
    await reopened.close()


async def test_start_up_indexes_the_legal_faq_in_a_worker_thread(
    dp: Dispatcher, bot: MockedBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio
    import threading

    import knowledge_base

    loaded = asyncio.Event()
    loop = asyncio.get_running_loop()
    threads: list[threading.Thread] = []

    def fake_preload() -> None:
        threads.append(threading.current_thread())
        loop.call_soon_threadsafe(loaded.set)

    monkeypatch.setattr(knowledge_base, "preload", fake_preload)
    await dp.emit_startup(bot=bot, dispatcher=dp)
    await asyncio.wait_for(loaded.wait(), timeout=10)
    assert threads and threads[0] is not threading.main_thread()
