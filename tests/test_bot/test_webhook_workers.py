"""Three ``python -m bot webhook`` workers behind nginx (the repo's site file) on PostgreSQL and
Redis: the Bot API stand-in posts residents' updates through nginx, one worker is killed with
kill -9 in the middle, and every update is still handled, none lost and (almost) none twice."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from backend.db import create_engine, create_session_factory
from backend.models import InboxUpdate
from tests.conftest import IN_CI
from tests.telegram_stub import TelegramStub
from tests.test_staff.processes import (
    REPO,
    cli,
    empty_postgres,
    environment,
    free_port,
    nginx,
    nginx_binary,
    running,
    tail,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SECRET = "workers-test-secret"
RESIDENTS = list(range(7401, 7409))
MESSAGES_EACH = 6
WAIT = 90.0


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[int, list[int]]]:
    """nginx running the repo's site file on free ports: (its port, the three worker ports)."""
    if nginx_binary() is None:
        message = "nginx is not installed (apt-get install nginx; .ci/run installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    port, workers = free_port(), [free_port() for _ in range(3)]
    with nginx(tmp_path / "nginx", port, workers):
        yield port, workers


@pytest.fixture
async def stub() -> AsyncIterator[TelegramStub]:
    server = TelegramStub()
    await server.start()
    yield server
    await server.stop()


async def _open_updates(database_url: str) -> int:
    engine = create_engine(database_url)
    async with create_session_factory(engine)() as session:
        rows = await session.exec(select(InboxUpdate).where(col(InboxUpdate.done).is_(False)))
        count = len(rows.all())
    await engine.dispose()
    return count


async def test_three_workers_behind_nginx_lose_nothing_when_one_is_killed(
    proxy: tuple[int, list[int]],
    stub: TelegramStub,
    postgres_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    port, workers = proxy
    await empty_postgres(postgres_url)
    env = environment(postgres_url, stub.url, REDIS_URL=redis_url, BOT_WEBHOOK_SECRET=SECRET)
    cli(["init"], env, REPO)
    url = f"http://127.0.0.1:{port}/tg"
    commands = [
        ["bot", "webhook", "--url", url, "--port", str(worker), "--secret", SECRET]
        for worker in workers
    ]
    logs = tmp_path / "logs"
    logs.mkdir()
    async with running(commands, env, logs, REPO) as processes:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while not stub.state.webhook_url and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        assert stub.state.webhook_url == url, tail(logs)
        await asyncio.sleep(1.0)  # let every worker listen

        total = len(RESIDENTS) * MESSAGES_EACH
        for round_ in range(MESSAGES_EACH):
            for resident in RESIDENTS:
                await stub.user_message(resident, "/help")
            if round_ == MESSAGES_EACH // 2:
                os.killpg(processes[0].pid, signal.SIGKILL)  # one worker dies mid-stream
            await asyncio.sleep(0.05)

        def answered() -> int:
            return sum(len(stub.sent(resident)) for resident in RESIDENTS)

        while loop.time() < deadline and (  # noqa: ASYNC110 (other processes' progress)
            answered() < total or await _open_updates(postgres_url) > 0
        ):
            await asyncio.sleep(0.3)
        survivors = [p.returncode for p in processes[1:]]
        assert survivors == [None, None], tail(logs)

    per_resident = {resident: len(stub.sent(resident)) for resident in RESIDENTS}
    assert all(count >= MESSAGES_EACH for count in per_resident.values()), (
        f"lost: {per_resident}\n{tail(logs)}"
    )
    duplicated = sum(per_resident.values()) - total
    assert duplicated <= 3, f"{duplicated} updates were answered twice"
    assert await _open_updates(postgres_url) == 0
    retried = [d for d in stub.state.webhook_deliveries if d["outcome"] != 200]
    print(
        f"deliveries={len(stub.state.webhook_deliveries)} retried={len(retried)} dup={duplicated}"
    )
    assert all("帮助" in text or "综治" in text for r in RESIDENTS for text in stub.texts(r))
