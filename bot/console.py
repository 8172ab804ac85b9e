"""``python -m bot console``: chat with the real dispatcher and handlers in a terminal.

A custom aiogram session (:class:`ConsoleSession`) prints what the bot sends instead of calling
Telegram: buttons become numbered choices (type the number to press one), and the staff
messages a case causes (department cards, center alerts) are shown too, labelled with the unit
or group they go to. Typed lines become updates fed to the same dispatcher the bot uses.

Commands besides plain text: ``/photo PATH``, ``/doc PATH``, ``/location LAT LON``,
``/contact PHONE``, ``/voice``, ``/sticker``, ``/quit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import sys
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from aiogram import Bot, Dispatcher
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import (
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings

CONSOLE_USER_ID = 10_001
BOT_USER = {"id": 1, "is_bot": True, "first_name": "综治通", "username": "zongzhitong_bot"}
UNBOUND_CHAT_BASE = -9_000_000_000  # display-only chat ids for units without a bound group
HELP = (
    "输入文字和机器人对话；输入数字按下对应的按钮。"
    "其他命令：/photo 路径  /doc 路径  /location 纬度 经度  /contact 手机号"
    "  /voice  /sticker  /quit"
)

_TAG = re.compile(r"</?(?:b|strong|i|em|u|s|code|pre|a)(?:\s[^>]*)?>")


@dataclass
class Choice:
    """A numbered button on screen: press = callback on a message, or text sent by the user."""

    label: str
    callback_data: str | None = None
    message_id: int | None = None
    text: str | None = None
    request_location: bool = False
    request_contact: bool = False


class ConsoleSession(BaseSession):
    """Prints what the bot sends and answers each call like Telegram would."""

    def __init__(self, out: TextIO | None = None, *, user_id: int = CONSOLE_USER_ID) -> None:
        super().__init__()
        self.out = out or sys.stdout
        self.user_id = user_id
        self.choices: list[Choice] = []
        self.labels: dict[int, str] = {}  # chat id → who it is (unit name, group title)
        self._message_ids = itertools.count(1)
        self._bold = self.out.isatty()

    # -- BaseSession ------------------------------------------------------------------------------
    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 (BaseSession's signature)
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b""

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (BaseSession's signature)
    ) -> TelegramType:
        result = self._show(method)
        response = self.check_response(
            bot=bot,
            method=method,
            status_code=200,
            content=json.dumps({"ok": True, "result": result}),
        )
        return response.result  # type: ignore[return-value]

    # -- printing ---------------------------------------------------------------------------------
    def _plain(self, text: str) -> str:
        if self._bold:
            text = text.replace("<b>", "\033[1m").replace("</b>", "\033[0m")
        return html.unescape(_TAG.sub("", text))

    def _who(self, chat_id: Any) -> str:
        if chat_id == self.user_id:
            return "🤖 综治通"
        label = self.labels.get(chat_id) if isinstance(chat_id, int) else None
        return f"📣 发往「{label or chat_id}」"

    def _print(self, line: str = "") -> None:
        print(line, file=self.out, flush=True)

    def _show(self, method: TelegramMethod[Any]) -> Any:
        name = method.__api_method__
        chat_id = getattr(method, "chat_id", None)
        if name == "getMe":
            return {
                **BOT_USER,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if name == "answerCallbackQuery":
            if getattr(method, "text", None):
                self._print(f"💬 {self._plain(method.text)}")  # type: ignore[attr-defined]
            return True
        if name in {
            "sendMessage",
            "sendPhoto",
            "sendDocument",
            "editMessageText",
            "editMessageCaption",
            "editMessageReplyMarkup",
            "sendMediaGroup",
        }:
            return self._show_message(method, name, chat_id)
        if name == "getFile":
            return {
                "file_id": getattr(method, "file_id", "file"),
                "file_unique_id": "f",
                "file_path": "console",
            }
        if name == "getMyCommands":
            return []
        return True  # setMyCommands, deleteWebhook, sendChatAction, deleteMessage …

    def _show_message(self, method: TelegramMethod[Any], name: str, chat_id: Any) -> Any:
        text = getattr(method, "text", None) or getattr(method, "caption", None) or ""
        markup = getattr(method, "reply_markup", None)
        message_id = getattr(method, "message_id", None) or next(self._message_ids)
        to_user = chat_id == self.user_id
        if name == "sendMediaGroup":
            media = getattr(method, "media", [])
            self._print(f"{self._who(chat_id)}: [{len(media)} 个附件]")
            return [self._fake_message(chat_id, next(self._message_ids), "") for _ in media]
        if name == "editMessageReplyMarkup":
            if to_user:
                self._drop_choices(message_id)
                self._add_inline(markup, message_id)
            return self._fake_message(chat_id, message_id, "")
        header = self._who(chat_id) + (" （更新）" if name.startswith("edit") else "")
        kind = {"sendPhoto": "[照片] ", "sendDocument": "[文件] "}.get(name, "")
        self._print()
        self._print(f"{header}:")
        for line in self._plain(kind + text).splitlines():
            self._print(f"   {line}")
        if to_user:
            if name.startswith("edit"):
                self._drop_choices(message_id)
            self._add_inline(markup, message_id)
            self._set_reply_keyboard(markup)
            self._print_choices()
        elif isinstance(markup, InlineKeyboardMarkup):
            labels = [b.text for row in markup.inline_keyboard for b in row]
            self._print("   （按钮：" + " · ".join(labels) + "）")
        return self._fake_message(chat_id, message_id, text, markup)

    def _fake_message(
        self, chat_id: Any, message_id: int, text: str, markup: Any = None
    ) -> dict[str, Any]:
        chat_id = chat_id if isinstance(chat_id, int) else -1
        chat = (
            {"id": chat_id, "type": "private", "first_name": "用户"}
            if chat_id > 0
            else {"id": chat_id, "type": "supergroup", "title": self.labels.get(chat_id, "群")}
        )
        result: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
        }
        if text:
            result["text"] = text
        if isinstance(markup, InlineKeyboardMarkup):
            result["reply_markup"] = markup.model_dump(mode="json", exclude_none=True)
        return result

    # -- numbered choices -------------------------------------------------------------------------
    def _drop_choices(self, message_id: int) -> None:
        self.choices = [c for c in self.choices if c.message_id != message_id]

    def _add_inline(self, markup: Any, message_id: int) -> None:
        """The newest message's inline buttons replace older ones (the reply keyboard stays)."""
        if not isinstance(markup, InlineKeyboardMarkup):
            return
        inline = [
            Choice(label=b.text, callback_data=b.callback_data, message_id=message_id)
            for row in markup.inline_keyboard
            for b in row
            if b.callback_data
        ]
        self.choices = inline + [c for c in self.choices if c.message_id is None]

    def _set_reply_keyboard(self, markup: Any) -> None:
        if isinstance(markup, ReplyKeyboardRemove):
            self.choices = [c for c in self.choices if c.message_id is not None]
        elif isinstance(markup, ReplyKeyboardMarkup):
            # A new step: buttons of older messages are no longer what the person looks at.
            self.choices = [
                Choice(
                    label=b.text,
                    text=b.text,
                    request_location=bool(b.request_location),
                    request_contact=bool(b.request_contact),
                )
                for row in markup.keyboard
                for b in row
            ]

    def _print_choices(self) -> None:
        if not self.choices:
            return
        parts = [f"[{i}] {self._plain(c.label)}" for i, c in enumerate(self.choices, 1)]
        self._print("   " + "  ".join(parts))


class Console:
    """Feeds typed lines to the dispatcher as one Telegram user; runs the notifier after each."""

    def __init__(
        self,
        dp: Dispatcher,
        bot: Bot,
        session: ConsoleSession,
        *,
        deliver: Callable[[], Any] | None = None,
        user_id: int = CONSOLE_USER_ID,
        first_name: str = "张三",
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.session = session
        self.deliver = deliver
        self.user_id = user_id
        self.first_name = first_name
        self._update_ids = itertools.count(int(time.time()))
        self._message_ids = itertools.count(1)
        self._files = itertools.count(1)

    def _update(self, **body: Any) -> Update:
        return Update.model_validate(
            {"update_id": next(self._update_ids), **body}, context={"bot": self.bot}
        )

    def _message(self, **content: Any) -> Update:
        user = {
            "id": self.user_id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": "zh-hans",
        }
        return self._update(
            message={
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": self.user_id, "type": "private", "first_name": self.first_name},
                "from": user,
                **content,
            }
        )

    def _callback(self, choice: Choice) -> Update:
        user = {
            "id": self.user_id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": "zh-hans",
        }
        return self._update(
            callback_query={
                "id": str(next(self._message_ids)),
                "from": user,
                "chat_instance": f"console-{self.user_id}",
                "data": choice.callback_data,
                "message": {
                    "message_id": choice.message_id,
                    "date": int(time.time()),
                    "chat": {"id": self.user_id, "type": "private", "first_name": "用户"},
                    "from": BOT_USER,
                    "text": "…",
                },
            }
        )

    def _file(self, prefix: str, path: str) -> dict[str, Any]:
        number = next(self._files)
        name = Path(path).name or f"{prefix}{number}"
        return {
            "file_id": f"console-{prefix}-{number}:{name}",
            "file_unique_id": f"{prefix}{number}",
        }

    def parse(self, line: str) -> Update | str | None:
        """The update a typed line stands for, or a message for the person (bad input)."""
        line = line.strip()
        if not line:
            return None
        command, _, rest = line.partition(" ")
        if line.isdigit():
            index = int(line) - 1
            if not 0 <= index < len(self.session.choices):
                return "没有这个编号的按钮。"
            choice = self.session.choices[index]
            if choice.request_location:
                return "请用 /location 纬度 经度 发送位置，例如：/location 25.34 100.49"
            if choice.request_contact:
                return "请用 /contact 手机号 分享号码，例如：/contact 13812345678"
            if choice.callback_data is not None:
                return self._callback(choice)
            return self._message(text=choice.text)
        if command == "/photo":
            if rest and not Path(rest).expanduser().exists():
                return f"找不到文件：{rest}"
            photo = {**self._file("photo", rest or "photo.jpg"), "width": 1280, "height": 960}
            return self._message(photo=[photo])
        if command == "/doc":
            if not rest or not Path(rest).expanduser().exists():
                return f"找不到文件：{rest or '（未给出路径）'}"
            document = {**self._file("doc", rest), "file_name": Path(rest).name}
            return self._message(document=document)
        if command == "/location":
            try:
                lat, lon = (float(v) for v in rest.split())
            except ValueError:
                return "格式：/location 纬度 经度，例如：/location 25.34 100.49"
            return self._message(location={"latitude": lat, "longitude": lon})
        if command == "/contact":
            phone = rest.strip()
            if not phone:
                return "格式：/contact 手机号"
            contact = {
                "phone_number": phone,
                "first_name": self.first_name,
                "user_id": self.user_id,
            }
            return self._message(contact=contact)
        if command == "/voice":
            return self._message(voice={**self._file("voice", "voice.ogg"), "duration": 5})
        if command == "/sticker":
            sticker = {
                **self._file("sticker", "s.webp"),
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
            return self._message(sticker=sticker)
        content: dict[str, Any] = {"text": line}
        if line.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return self._message(**content)

    async def handle(self, line: str) -> bool:
        """Process one typed line; False when the person wants to quit."""
        if line.strip() in {"/quit", "/exit", "exit", "quit"}:
            return False
        parsed = self.parse(line)
        if isinstance(parsed, str):
            self.session._print(f"⚠️ {parsed}")
        elif parsed is not None:
            await self.dp.feed_update(self.bot, parsed)
            if self.deliver is not None:
                await self.deliver()
        return True

    async def run(self, read: Callable[[], Any] | None = None) -> None:
        self.session._print(HELP)
        await self.handle("/start")
        reader = read or (lambda: asyncio.to_thread(input, "\n你> "))
        while True:
            try:
                line = await reader()
            except (EOFError, KeyboardInterrupt):
                break
            if not await self.handle(line):
                break
        self.session._print("再见！")


def console_resolver(session: ConsoleSession) -> Callable[..., Any]:
    """Wraps the notifier's chat resolver: units without a group get a display-only chat."""
    from backend.models import Unit
    from bot.notifications import render

    original = render.resolve_chat

    async def resolve(message: Any, *, session: AsyncSession) -> tuple[int | None, str]:
        chat_id, language = await original(message, session=session)
        unit_id = message.recipient_unit_id
        if unit_id is not None:
            unit = await session.get(Unit, unit_id)
            name = unit.name if unit is not None else str(unit_id)
            if unit is not None and unit.chat_id is not None and unit.chat_id == chat_id:
                console.labels[chat_id] = unit.chat_title or name
            else:
                chat_id = UNBOUND_CHAT_BASE - unit_id
                console.labels[chat_id] = f"{name}（工作群）"
        elif chat_id is not None and chat_id != console.user_id:
            console.labels.setdefault(chat_id, f"用户 {chat_id}")
        return chat_id, language

    console = session
    return resolve


async def run_console(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    read: Callable[[], Any] | None = None,
    out: TextIO | None = None,
) -> None:
    """Build the real dispatcher on a console session and chat until /quit or end of input."""
    from bot.factory import create_bot, create_dispatcher

    console_session = ConsoleSession(out)
    bot = create_bot(settings, session=console_session)
    dp = create_dispatcher(settings, session_factory=session_factory)
    original = _original_resolver()
    try:
        deliver = await _notifier(bot, session_factory, settings, console_session)
        await Console(dp, bot, console_session, deliver=deliver).run(read)
    finally:
        if original is not None:  # the console's resolver is for this console only
            from bot.notifications import worker

            worker.resolve_chat = original
        await dp.storage.close()
        await dp.fsm.events_isolation.close()


def _original_resolver() -> Any:
    try:
        from bot.notifications import worker
    except ImportError:
        return None
    return worker.resolve_chat


async def _notifier(
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    console_session: ConsoleSession,
) -> Callable[[], Any] | None:
    """The staff helper's Notifier on the console session, when it is installed."""
    try:
        from bot.notifications import worker
    except ImportError:
        return None
    worker.resolve_chat = console_resolver(console_session)
    notifier = worker.Notifier(bot, session_factory, settings)

    async def deliver() -> None:
        for _ in range(10):  # a few batches at most; retries wait for their time
            if not await notifier.run_once():
                break

    with contextlib.suppress(Exception):
        await deliver()  # anything left over from an earlier session
    return deliver
