"""``python -m bot console``: the real handlers in a terminal, buttons as numbered choices."""

from __future__ import annotations

import io
import re

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
    raise AssertionError(f"no button {label!r} on screen")


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
