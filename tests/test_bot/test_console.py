"""``python -m bot console``: the real handlers in a terminal, buttons as numbered choices."""

from __future__ import annotations

import asyncio
import io
import os
import re
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from bot.console import run_console


def _number(screen: str, label: str) -> str:
    """The number shown for the newest button containing ``label``."""
    found = re.findall(r"\[(\d+)\] ([^\[\n]*)", screen)
    for number, text in reversed(found):
        if label in text:
            return number
    raise AssertionError(f"no button {label!r} on screen:\n{screen[-1500:]}")


async def test_console_walks_a_report_and_shows_the_staff_message(
    bot_settings: Settings, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    out = io.StringIO()
    lines = iter(
        [
            lambda s: _number(s, "反映问题"),
            lambda s: "邻居家的排水沟一直往我家院子里流水，说了好几次都不改。",
            lambda s: "/photo",
            lambda s: _number(s, "下一步"),
            lambda s: "/location 10 10",
            lambda s: "/location 25.34 100.49",
            lambda s: _number(s, "匿名反映"),
            lambda s: _number(s, "确认提交"),
            lambda s: "99",
        ]
    )

    async def read() -> str:
        try:
            step = next(lines)
        except StopIteration:
            raise EOFError from None
        return step(out.getvalue())

    await run_console(bot_settings, bot_session_factory, read=read, out=out)
    screen = out.getvalue()
    assert "[1] 📝 反映问题" in screen
    assert "不在弥渡县范围内" in screen
    code = re.search(r"已提交！您的事项编号是 (MD\d{8}-\d{4})", screen)
    assert code is not None
    assert "📣 发往「" in screen and code.group(1) in screen.split("📣 发往「", 1)[1]
    assert "没有这个编号的按钮" in screen  # a wrong number gets a hint, not a crash
    assert "再见" in screen


async def test_console_plays_every_role_from_report_to_rating(
    bot_settings: Settings, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    """The README walk-through: admin, staff in a group, resident; the card's headline follows."""
    out = io.StringIO()

    def code(screen: str) -> str:
        return re.findall(r"邀请码：(\S+?)（", screen)[-1]

    steps = [
        lambda s: "/invite staff hrss",
        lambda s: "/as 王科员",
        lambda s: f"/start {code(s)}",
        lambda s: "/invite staff hrss",
        lambda s: "/group 人社局工作群",
        lambda s: f"/bind {code(s)}",
        lambda s: "/as 李秀英",
        lambda s: "/start",
        lambda s: _number(s, "反映问题"),
        lambda s: "老板拖欠我工资三个月不给，多次讨要无果",
        lambda s: _number(s, "下一步"),
        lambda s: "/location 25.34 100.49",
        lambda s: _number(s, "匿名反映"),
        lambda s: _number(s, "确认提交"),
        lambda s: "/as 王科员",
        lambda s: "/group 人社局工作群",
        lambda s: _number(s, "签收"),
        lambda s: "/private",
        lambda s: _number(s, "办结"),
        lambda s: "已责令用人单位于本月底前结清全部工资。",
        lambda s: _number(s, "提交办结"),
        lambda s: "/as 李秀英",
        lambda s: _number(s, "😊 满意"),
    ]
    marks: list[int] = []
    lines = iter(steps)

    async def read() -> str:
        try:
            step = next(lines)
        except StopIteration:
            raise EOFError from None
        marks.append(len(out.getvalue()))
        return step(out.getvalue())

    await run_console(bot_settings, bot_session_factory, read=read, out=out)
    screen = out.getvalue()
    assert "登记成功" in screen and "本群已绑定为「县人力资源和社会保障局」" in screen
    assert "📥 本单位待签收" in screen  # the registered staff member got the staff menu
    submitted = screen[marks[13] : marks[14]]  # the card reached the bound group
    assert "📣 发往「人社局工作群」:\n   📋 新案件待签收" in submitted
    claimed = screen[marks[16] : marks[17]]
    assert claimed.count("🔧 办理中 · 王科员 签收") == 1  # edited in place in the group, once
    resolved = screen[marks[20] : marks[21]]
    assert "☑️ 已办结 · 待群众评价" in resolved
    rated = screen[marks[22] :]
    assert "感谢您的评价" in rated and "😊 群众满意 · 已关闭" in rated
    assert rated.count("感谢") == 1  # thanked once


async def test_console_prints_no_debug_lines(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}",
        "BOT_TOKEN": "",
        "REDIS_URL": "",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "console",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    output, _ = await asyncio.wait_for(
        process.communicate("请问欠薪怎么办\n/quit\n".encode()), timeout=120
    )
    text = output.decode()
    assert "再见" in text
    assert "DEBUG" not in text and "INFO" not in text
