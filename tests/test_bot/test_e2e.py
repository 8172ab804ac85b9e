"""End to end: the real ``python -m bot`` process, long polling a Bot API stand-in over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.telegram_stub import TelegramStub

pytestmark = pytest.mark.e2e

RESIDENT = 7001
WAIT = 90.0  # generous: the machine running CI may be busy; this is not a speed test


@pytest.fixture
async def stub() -> AsyncIterator[TelegramStub]:
    server = TelegramStub()
    await server.start()
    yield server
    await server.stop()


def _env(tmp_path: Path, stub_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "BOT_"))}
    env.update(
        BOT_TOKEN="123:TEST",
        TELEGRAM_API_URL=stub_url,
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        PYTHONUNBUFFERED="1",
    )
    env.pop("REDIS_URL", None)
    return env


@pytest.fixture
async def bot_process(
    tmp_path: Path, stub: TelegramStub
) -> AsyncIterator[asyncio.subprocess.Process]:
    env = _env(tmp_path, stub.url)
    init = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "backend",
        "init",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(init.communicate(), WAIT)
    assert init.returncode == 0, output.decode()
    log = (tmp_path / "bot.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=tmp_path, env=env, stdout=log, stderr=log
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                process.kill()
                await process.wait()
        log.close()


async def _step(stub: TelegramStub, label: str, expect: str) -> str:
    after = stub.seq
    await stub.press(RESIDENT, label)
    return str((await stub.wait_for_message(RESIDENT, expect, after=after, timeout=WAIT))["text"])


async def test_a_resident_goes_from_start_to_a_case_code_over_http(
    stub: TelegramStub, bot_process: asyncio.subprocess.Process, tmp_path: Path
) -> None:
    try:
        await stub.user_message(RESIDENT, "/start")
        await stub.wait_for_message(RESIDENT, "综治中心", timeout=WAIT)
        await _step(stub, "反映问题", "发生了什么")
        after = stub.seq
        await stub.user_message(RESIDENT, "邻居家的排水沟一直往我家院子里流水，说了好几次都不改。")
        await stub.wait_for_message(RESIDENT, "已记下", after=after, timeout=WAIT)
        after = stub.seq
        await stub.photo(RESIDENT)
        await stub.wait_for_message(RESIDENT, "1 个附件", after=after, timeout=WAIT)
        await _step(stub, "下一步", "发生在哪里")
        after = stub.seq
        await stub.location(RESIDENT, 25.34, 100.49)
        await stub.wait_for_message(RESIDENT, "联系方式", after=after, timeout=WAIT)
        await _step(stub, "匿名反映", "请核对您要反映的事项")
        submitted = await _step(stub, "确认提交", "已提交")
        code = re.search(r"MD\d{8}-\d{4}", submitted)
        assert code is not None, submitted
        # The in-process notifier tells the resident the case was received.
        notice = await stub.wait_for_message(RESIDENT, "已受理", timeout=WAIT)
        assert code.group(0) in str(notice["text"])
        commands = [c for c in stub.state.calls if c["method"] == "setMyCommands"]
        assert commands, "the bot registers its commands at start"
    except BaseException:
        print((tmp_path / "bot.log").read_text(errors="replace")[-4000:])
        raise
    assert bot_process.returncode is None  # still running until the fixture stops it
    with contextlib.suppress(ProcessLookupError):
        bot_process.terminate()


async def test_danger_typed_at_the_contact_step_gets_the_safety_message_over_http(
    stub: TelegramStub, bot_process: asyncio.subprocess.Process, tmp_path: Path
) -> None:
    """The risk gate runs in the real process: red text at a step that asks for a phone number."""
    try:
        await stub.user_message(RESIDENT, "/start")
        await stub.wait_for_message(RESIDENT, "综治中心", timeout=WAIT)
        await _step(stub, "反映问题", "发生了什么")
        after = stub.seq
        await stub.user_message(RESIDENT, "邻居家的排水沟一直往我家院子里流水，说了好几次都不改。")
        await stub.wait_for_message(RESIDENT, "已记下", after=after, timeout=WAIT)
        await _step(stub, "下一步", "发生在哪里")
        await _step(stub, "跳过", "联系方式")
        after = stub.seq
        await stub.user_message(RESIDENT, "他拿着菜刀在我家门口说要砍死我全家，现在还没走")
        safety = await stub.wait_for_message(RESIDENT, "12356", after=after, timeout=WAIT)
        assert "110" in str(safety["text"]) and "120" in str(safety["text"])
        assert "立即报告" in str(safety["reply_markup"])
        await stub.wait_for_message(RESIDENT, "补充到您正在填写的反映", after=after, timeout=WAIT)
        submitted = await _step(stub, "立即报告", "已提交")
        assert "紧急" in submitted
    except BaseException:
        print((tmp_path / "bot.log").read_text(errors="replace")[-4000:])
        raise


async def test_without_a_token_python_m_bot_says_it_is_offline_and_opens_the_console(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REDIS_", "BOT_"))}
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'db.sqlite'}")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(b"1\n/quit\n"), WAIT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    text = output.decode()
    assert process.returncode == 0, text
    first_line = text.splitlines()[0]
    assert "BOT_TOKEN" in first_line and "@BotFather" in first_line
    assert "综治中心" in text  # the greeting, from a database created on first start
    assert "发生了什么" in text  # button 1 (反映问题) was pressed
    assert (tmp_path / "fresh" / "db.sqlite").exists()
