"""The notifier over real HTTP against the Bot API stand-in: 429, 500, 403 and a hanging call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.models import OutboxMessage, OutboxState, Person
from backend.services import outbox
from backend.services.outbox import NoticeKind
from bot.notifications.limits import Limits
from bot.notifications.worker import Notifier, NotifierConfig
from tests.telegram_stub import TelegramStub
from tests.test_staff.conftest import build_world, make_settings


@pytest.fixture
async def stub() -> AsyncIterator[TelegramStub]:
    server = TelegramStub()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http_bot(stub: TelegramStub) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(stub.url))
    bot = Bot("777:TEST", session=session)
    yield bot
    await session.close()


async def test_faults_over_http_are_retried_blocked_and_then_delivered(
    sqlite_engine: AsyncEngine, stub: TelegramStub, http_bot: Bot
) -> None:
    factory, _, _ = await build_world(sqlite_engine)
    chats = [11, 12, 13, 14, 15]
    async with factory() as session:
        for chat in chats:
            person = Person(telegram_id=chat)
            session.add(person)
            await session.flush()
            await outbox.enqueue(
                session=session,
                kind=NoticeKind.digest,
                case_id=None,
                payload={"day": "2026-11-27", "new": chat},
                dedupe_key=f"http-{chat}",
                person=person,
            )
        await session.commit()
    # The calls go out concurrently (one per chat), so the faults land on any four of them.
    await stub.inject_fault("sendMessage", error_code=429, retry_after=2)
    await stub.inject_fault("sendMessage", error_code=500)
    await stub.inject_fault("sendMessage", error_code=403)
    await stub.inject_fault("sendMessage", hang=True)
    notifier = Notifier(
        http_bot,
        factory,
        make_settings(str(sqlite_engine.url)),
        NotifierConfig(limits=Limits.unlimited(), request_timeout=1.0),
    )
    await notifier.run_once()
    assert notifier.stats.sent == 1
    assert notifier.stats.blocked == 1
    assert notifier.stats.retried == 3

    later = datetime.now(UTC) + timedelta(minutes=5)
    notifier.limiter = type(notifier.limiter)(Limits.unlimited())  # (the 429 wait has passed)
    await notifier.run_once(now=later)
    async with factory() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    assert sorted(r.state for r in rows) == sorted([OutboxState.sent] * 4 + [OutboxState.blocked])
    delivered = [chat for chat in chats if stub.texts(chat)]
    assert len(delivered) == 4  # every chat but the blocked one, each exactly once
    assert all(len(stub.texts(chat)) == 1 for chat in delivered)
