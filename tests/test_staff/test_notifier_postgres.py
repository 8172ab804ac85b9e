"""Several notifiers on PostgreSQL never deliver the same row twice (SKIP LOCKED + lease)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.models import OutboxMessage, OutboxState, Person
from backend.services import outbox
from backend.services.outbox import NoticeKind
from bot.notifications.limits import Limits
from bot.notifications.worker import Notifier, NotifierConfig
from tests.mocked_bot import MockedBot
from tests.test_staff.conftest import build_world, make_settings

pytestmark = pytest.mark.postgres

ROWS = 120


async def test_two_notifiers_deliver_every_row_exactly_once(postgres_engine: AsyncEngine) -> None:
    factory, _, _ = await build_world(postgres_engine)
    async with factory() as session:
        for index in range(ROWS):
            person = Person(telegram_id=90_000 + index)
            session.add(person)
            await session.flush()
            await outbox.enqueue(
                session=session,
                kind=NoticeKind.digest,
                case_id=None,
                payload={"day": "2026-11-27", "new": index},
                dedupe_key=f"pg-{index}",
                person=person,
            )
        await session.commit()

    settings = make_settings(str(postgres_engine.url))
    bots = [MockedBot(), MockedBot()]
    config = NotifierConfig(limits=Limits.unlimited(), batch_size=7)
    notifiers = [Notifier(bot, factory, settings, config) for bot in bots]

    async def drain(notifier: Notifier) -> None:
        idle = 0
        while idle < 3:
            idle = idle + 1 if await notifier.run_once() == 0 else 0
            await asyncio.sleep(0)

    await asyncio.gather(*(drain(n) for n in notifiers))

    chats = Counter(m.chat_id for bot in bots for m in bot.calls("sendMessage"))
    assert len(chats) == ROWS and set(chats.values()) == {1}
    assert all(len(bot.calls("sendMessage")) > 0 for bot in bots)  # both did work
    async with factory() as session:
        states = (await session.exec(select(OutboxMessage.state))).all()
    assert set(states) == {OutboxState.sent}
