"""kill -9 while an update is being handled: after the restart the update is handled, not lost.

The real ``python -m bot`` polls the Bot API stand-in over HTTP. The stand-in holds the bot's
reply (``sendMessage`` hangs), so the process dies with the update acknowledged to Telegram
(the offset has moved) but its handler unfinished; the inbox brings it back.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.telegram_stub import TelegramStub
from tests.test_staff.processes import REPO, cli, empty_postgres, environment, running, tail

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

RESIDENT = 7301
WAIT = 60.0


@pytest.fixture
async def stub() -> AsyncIterator[TelegramStub]:
    server = TelegramStub()
    await server.start()
    yield server
    await server.stop()


async def _calls(stub: TelegramStub, method: str, count: int) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while sum(1 for c in stub.state.calls if c["method"] == method) < count:
        assert loop.time() < deadline, f"no {method} call"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_an_update_cut_short_by_kill_9_is_handled_after_the_restart(
    database: str, stub: TelegramStub, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if database == "sqlite":
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    else:
        database_url = request.getfixturevalue("postgres_url")
        await empty_postgres(database_url)
    env = environment(database_url, stub.url)
    cli(["init"], env, REPO)
    for run in ("first", "second"):
        (tmp_path / run).mkdir()

    async with running([["bot"]], env, tmp_path / "first", REPO) as (bot,):
        await stub.user_message(RESIDENT, "/start")
        await stub.wait_for_message(RESIDENT, "综治中心", timeout=WAIT)
        sent_before = sum(1 for c in stub.state.calls if c["method"] == "sendMessage")
        await stub.inject_fault("sendMessage", hang=True)
        await stub.user_message(RESIDENT, "/help")
        await _calls(stub, "sendMessage", sent_before + 1)  # the /help reply is on its way
        os.killpg(bot.pid, signal.SIGKILL)
        await bot.wait()
    mark = stub.seq
    async with running([["bot"]], env, tmp_path / "second", REPO):
        try:
            reply = await stub.wait_for_message(RESIDENT, "", after=mark, timeout=WAIT)
        except TimeoutError:
            pytest.fail("the update was lost:\n" + tail(tmp_path / "second"))
    assert reply["text"]
