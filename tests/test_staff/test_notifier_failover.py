"""One delivering notifier at a time on PostgreSQL: the rate limits hold for the whole bot, and a
standby takes over within seconds when the leader is killed (kill -9), losing nothing."""

from __future__ import annotations

import asyncio
import os
import signal
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from backend.db import create_engine, create_session_factory
from backend.models import OutboxMessage, OutboxState, Person
from backend.services import outbox
from backend.services.outbox import NoticeKind
from bot.notifications.leader import Leadership
from bot.notifications.worker import NotifierConfig
from tests.telegram_stub import TelegramStub
from tests.test_staff.processes import REPO, cli, empty_postgres, environment, running, tail

FIRST_CHAT = 91_000
NOTICES = 90
BOT_RATE = 30  # messages per second (bot.notifications.limits.Limits)


async def test_only_one_process_holds_the_notifier_lock_and_a_standby_takes_over(
    postgres_url: str,
) -> None:
    first_engine, second_engine = create_engine(postgres_url), create_engine(postgres_url)
    first, second = Leadership(first_engine), Leadership(second_engine, retry_interval=0.1)
    try:
        assert await first.try_acquire()
        assert not await second.try_acquire()
        await first_engine.dispose()  # the leader's connection goes away, as when it dies
        await first.release()
        await asyncio.wait_for(second.acquire(), 5)
    finally:
        await second.release()
        await second_engine.dispose()


async def test_on_sqlite_the_single_process_is_always_the_leader(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        assert await Leadership(engine).try_acquire()
        assert await Leadership(engine).try_acquire()
    finally:
        await engine.dispose()


@pytest.fixture
async def stub() -> AsyncIterator[TelegramStub]:
    server = TelegramStub()
    await server.start()
    yield server
    await server.stop()


async def _queue_notices(url: str) -> None:
    engine = create_engine(url)
    async with create_session_factory(engine)() as session:
        for index in range(NOTICES):
            person = Person(telegram_id=FIRST_CHAT + index)
            session.add(person)
            await session.flush()
            await outbox.enqueue(
                session=session,
                kind=NoticeKind.digest,
                case_id=None,
                payload={"day": "2026-12-04", "new": index, "overdue": 0, "due_today": 0},
                dedupe_key=f"failover-{index}",
                person=person,
            )
        await session.commit()
    await engine.dispose()


async def _undelivered(url: str) -> int:
    engine = create_engine(url)
    async with create_session_factory(engine)() as session:
        rows = await session.exec(
            select(OutboxMessage).where(col(OutboxMessage.state) != OutboxState.sent)
        )
        count = len(rows.all())
    await engine.dispose()
    return count


def _leader_index(logs: Path) -> int | None:
    for index in range(2):
        path = logs / f"process-{index}.log"
        if path.exists() and "this process delivers notifications" in path.read_text("utf-8"):
            return index
    return None


@pytest.mark.e2e
@pytest.mark.timeout(180)
async def test_two_notifier_processes_keep_the_bot_rate_and_survive_the_leaders_death(
    postgres_url: str, stub: TelegramStub, tmp_path: Path
) -> None:
    await empty_postgres(postgres_url)
    env = environment(postgres_url, stub.url)
    cli(["init"], env, REPO)
    await _queue_notices(postgres_url)
    sends = lambda: [c for c in stub.state.calls if c["method"] == "sendMessage"]  # noqa: E731

    async with running([["bot", "notifier"], ["bot", "notifier"]], env, tmp_path, REPO) as procs:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60
        while len(sends()) < 20 and loop.time() < deadline:  # noqa: ASYNC110 (another process)
            await asyncio.sleep(0.05)
        leader = _leader_index(tmp_path)
        assert leader is not None, tail(tmp_path)
        os.killpg(procs[leader].pid, signal.SIGKILL)
        killed_at = len(sends())
        assert killed_at < NOTICES, "the leader finished before it could be killed"

        chats = set(range(FIRST_CHAT, FIRST_CHAT + NOTICES))
        while loop.time() < deadline:
            if await _undelivered(postgres_url) == 0:
                break
            await asyncio.sleep(0.2)
        survivor = procs[1 - leader]
        assert survivor.returncode is None, tail(tmp_path)

    delivered = Counter(c["params"]["chat_id"] for c in sends())
    assert set(delivered) == chats, f"lost: {sorted(chats - set(delivered))[:5]}\n{tail(tmp_path)}"
    duplicated = sum(n - 1 for n in delivered.values())
    # Telegram has no idempotency key: what the dead leader sent but had not yet recorded goes out
    # again, and the notifier keeps at most ``max_in_flight`` such sends open.
    assert duplicated <= NotifierConfig().max_in_flight, f"{duplicated} notices were sent twice"
    assert await _undelivered(postgres_url) == 0
    # One sender at a time, and a new leader starts with an empty bucket: never more than one
    # burst plus the rate in any half second (two notifiers with their own buckets would send
    # about twice that).
    times = sorted(c["time"] for c in sends())
    busiest = max(sum(1 for t in times if start <= t < start + 0.5) for start in times)
    assert busiest <= BOT_RATE + BOT_RATE * 0.5 + 3, f"{busiest} sends within 0.5 s"
