"""``python -m bot console``: chat with the real dispatcher and handlers in a terminal.

A custom aiogram session (:class:`ConsoleSession`) prints what the bot sends instead of calling
Telegram: buttons become numbered choices (type the number to press one), and the staff
messages a case causes (department cards, center alerts) are shown too, labelled with the unit
or group they go to. Typed lines become updates fed to the same dispatcher the bot uses.

The console plays every role: ``/as NAME`` speaks as another person (a resident, a staff
member who registers with ``/start CODE``, a dispatcher), ``/group NAME`` enters a group chat
(``/bind CODE`` there makes it a unit's work group; the buttons of the cards posted there can
be pressed), ``/private`` goes back to the private chat, ``/invite ROLE UNIT`` makes an invite.

Other commands: ``/photo PATH``, ``/doc PATH``, ``/location LAT LON``, ``/contact PHONE``,
``/voice``, ``/sticker``, ``/quit``.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import logging
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
GROUP_CHAT_BASE = -5_000_000  # chat ids of groups opened with /group
HELP = (
    "输入文字和机器人对话；输入数字按下对应的按钮。\n"
    "扮演角色：/as 姓名（换一个人）  /group 群名（进入群聊）  /private（回到私聊）"
    "  /invite 角色 单位（生成邀请码，如 /invite staff police）\n"
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
    chat_id: int = CONSOLE_USER_ID


class ConsoleSession(BaseSession):
    """Prints what the bot sends and answers each call like Telegram would."""

    def __init__(self, out: TextIO | None = None, *, user_id: int = CONSOLE_USER_ID) -> None:
        super().__init__()
        self.out = out or sys.stdout
        self.current_chat = user_id  # the chat the person at the keyboard is in now
        self.people: dict[int, str] = {}  # private chat id → the person's name
        self.labels: dict[int, str] = {}  # chat id → who it is (unit name, group title)
        self._choices: dict[int, list[Choice]] = {}  # per chat: its buttons, newest first
        self._shown: dict[tuple[Any, Any], tuple[str, str]] = {}  # edited messages as shown
        self._message_ids = itertools.count(1)
        self._bold = self.out.isatty()

    @property
    def choices(self) -> list[Choice]:
        """The numbered buttons of the chat the person is in now."""
        return self._choices.setdefault(self.current_chat, [])

    def enter(self, chat_id: int) -> None:
        """Switch to another chat and show the buttons waiting there."""
        self.current_chat = chat_id
        self._print_choices()

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
        if self._unchanged(method):  # Telegram refuses an edit that changes nothing
            self.check_response(
                bot=bot,
                method=method,
                status_code=400,
                content=json.dumps(
                    {
                        "ok": False,
                        "error_code": 400,
                        "description": "Bad Request: message is not modified",
                    }
                ),
            )
        result = self._show(method)
        response = self.check_response(
            bot=bot,
            method=method,
            status_code=200,
            content=json.dumps({"ok": True, "result": result}),
        )
        return response.result  # type: ignore[return-value]

    def _unchanged(self, method: TelegramMethod[Any]) -> bool:
        """An edit whose text and buttons are what the message already shows."""
        if method.__api_method__ != "editMessageText":
            return False
        key = (getattr(method, "chat_id", None), getattr(method, "message_id", None))
        markup = getattr(method, "reply_markup", None)
        shown = (getattr(method, "text", ""), markup.model_dump_json() if markup else "")
        if self._shown.get(key) == shown:
            return True
        self._shown[key] = shown
        return False

    # -- printing ---------------------------------------------------------------------------------
    def _plain(self, text: str) -> str:
        if self._bold:
            text = text.replace("<b>", "\033[1m").replace("</b>", "\033[0m")
        return html.unescape(_TAG.sub("", text))

    def _who(self, chat_id: Any) -> str:
        if chat_id == self.current_chat:
            label = self.labels.get(chat_id)
            return f"🤖 综治通（{label}）" if label and chat_id < 0 else "🤖 综治通"
        if chat_id in self.people:
            return f"📣 发往「{self.people[chat_id]}」（私聊）"
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
        here = chat_id == self.current_chat
        if name == "sendMediaGroup":
            media = getattr(method, "media", [])
            self._print(f"{self._who(chat_id)}: [{len(media)} 个附件]")
            return [self._fake_message(chat_id, next(self._message_ids), "") for _ in media]
        if name == "editMessageReplyMarkup":
            if isinstance(chat_id, int):
                self._drop_choices(chat_id, message_id)
                self._add_inline(chat_id, markup, message_id)
            return self._fake_message(chat_id, message_id, "")
        header = self._who(chat_id) + (" （更新）" if name.startswith("edit") else "")
        kind = {"sendPhoto": "[照片] ", "sendDocument": "[文件] "}.get(name, "")
        self._print()
        self._print(f"{header}:")
        for line in self._plain(kind + text).splitlines():
            self._print(f"   {line}")
        if isinstance(chat_id, int):
            if name.startswith("edit"):
                self._drop_choices(chat_id, message_id)
            self._add_inline(chat_id, markup, message_id)
            if here:
                self._set_reply_keyboard(markup)
        if here:
            self._print_choices()
        elif isinstance(markup, InlineKeyboardMarkup):
            labels = [b.text for row in markup.inline_keyboard for b in row]
            where = (
                f"/as {self.people[chat_id]}"
                if chat_id in self.people
                else f"/group {self.labels.get(chat_id)}"
            )
            self._print("   （按钮：" + " · ".join(labels) + f"；输入 {where} 后可按）")
        return self._fake_message(chat_id, message_id, text, markup)

    def _fake_message(
        self, chat_id: Any, message_id: int, text: str, markup: Any = None
    ) -> dict[str, Any]:
        chat_id = chat_id if isinstance(chat_id, int) else -1
        chat = (
            {"id": chat_id, "type": "private", "first_name": self.people.get(chat_id, "用户")}
            if chat_id > 0
            else {"id": chat_id, "type": "group", "title": self.labels.get(chat_id, "群")}
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
    def _drop_choices(self, chat_id: int, message_id: int) -> None:
        kept = [c for c in self._choices.get(chat_id, []) if c.message_id != message_id]
        self._choices[chat_id] = kept

    def _add_inline(self, chat_id: int, markup: Any, message_id: int) -> None:
        """The newest message's inline buttons replace older ones (the reply keyboard stays).

        In a group the buttons of every card stay pressable (staff work through a list)."""
        if not isinstance(markup, InlineKeyboardMarkup):
            return
        inline = [
            Choice(b.text, callback_data=b.callback_data, message_id=message_id, chat_id=chat_id)
            for row in markup.inline_keyboard
            for b in row
            if b.callback_data
        ]
        older = self._choices.get(chat_id, [])
        kept = [c for c in older if c.message_id is None or (chat_id < 0 and c.message_id)]
        self._choices[chat_id] = inline + [c for c in kept if c.message_id != message_id]

    def _set_reply_keyboard(self, markup: Any) -> None:
        chat = self.current_chat
        if isinstance(markup, ReplyKeyboardRemove):
            self._choices[chat] = [c for c in self.choices if c.message_id is not None]
        elif isinstance(markup, ReplyKeyboardMarkup):
            # A new step: buttons of older messages are no longer what the person looks at.
            self._choices[chat] = [
                Choice(
                    label=b.text,
                    text=b.text,
                    request_location=bool(b.request_location),
                    request_contact=bool(b.request_contact),
                    chat_id=chat,
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
        session_factory: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.session = session
        self.deliver = deliver
        self.session_factory = session_factory
        self.personas: dict[str, int] = {first_name: user_id}
        self.user_id = user_id
        self.first_name = first_name
        self.chat_id = user_id  # the persona's private chat, or a group
        session.people[user_id] = first_name
        session.current_chat = user_id
        self._update_ids = itertools.count(int(time.time()))
        self._message_ids = itertools.count(1)
        self._files = itertools.count(1)

    def _update(self, **body: Any) -> Update:
        return Update.model_validate(
            {"update_id": next(self._update_ids), **body}, context={"bot": self.bot}
        )

    def _user(self) -> dict[str, Any]:
        return {
            "id": self.user_id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": "zh-hans",
        }

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": self.session.people[chat_id]}
        return {"id": chat_id, "type": "group", "title": self.session.labels.get(chat_id, "群")}

    def _message(self, **content: Any) -> Update:
        return self._update(
            message={
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": self._chat(self.chat_id),
                "from": self._user(),
                **content,
            }
        )

    def _callback(self, choice: Choice) -> Update:
        return self._update(
            callback_query={
                "id": str(next(self._message_ids)),
                "from": self._user(),
                "chat_instance": f"console-{choice.chat_id}",
                "data": choice.callback_data,
                "message": {
                    "message_id": choice.message_id,
                    "date": int(time.time()),
                    "chat": self._chat(choice.chat_id),
                    "from": BOT_USER,
                    "text": "…",
                },
            }
        )

    # -- playing every role -----------------------------------------------------------------------
    def play(self, name: str) -> str:
        """``/as NAME``: speak as this person from now on (a new name is a new person)."""
        if not name:
            people = "、".join(self.personas)
            return f"格式：/as 姓名，例如 /as 张警官。已有：{people}"
        if name not in self.personas:
            self.personas[name] = CONSOLE_USER_ID + len(self.personas)
        self.user_id, self.first_name = self.personas[name], name
        self.session.people[self.user_id] = name
        self.chat_id = self.user_id
        self.session._print(f"👤 现在以「{name}」的身份在私聊中对话。")
        self.session.enter(self.chat_id)
        return ""

    def join(self, title: str) -> str:
        """``/group NAME``: talk in this group chat (a unit's work group, or a new one)."""
        if not title:
            known = "、".join(label for chat, label in self.session.labels.items() if chat < 0)
            return "格式：/group 群名，例如 /group 派出所工作群。" + (
                f"已有：{known}" if known else ""
            )
        chat_id = next(
            (c for c, label in self.session.labels.items() if c < 0 and title in label), None
        )
        if chat_id is None:
            chat_id = GROUP_CHAT_BASE - len(self.session.labels)
            self.session.labels[chat_id] = title
        self.chat_id = chat_id
        label = self.session.labels[chat_id]
        self.session._print(f"👥 「{self.first_name}」现在在群「{label}」中。")
        self.session.enter(chat_id)
        return ""

    def leave(self) -> str:
        """``/private``: back to the private chat with the bot."""
        self.chat_id = self.user_id
        self.session._print(f"👤 「{self.first_name}」回到私聊。")
        self.session.enter(self.chat_id)
        return ""

    async def invite(self, args: str) -> str:
        """``/invite ROLE UNIT``: an invite code, as ``python -m backend invite`` makes it."""
        from backend.services import directory
        from backend.services.errors import DomainError

        role, _, unit = args.partition(" ")
        if not role or self.session_factory is None:
            return (
                "格式：/invite 角色 单位，例如 /invite staff police 或 /invite dispatcher center"
            )
        try:
            async with self.session_factory() as db:
                created = await directory.create_invite(
                    session=db, role=role, unit_code=unit.strip() or None
                )
        except (DomainError, ValueError) as exc:
            return f"邀请码没有生成：{getattr(exc, 'message', exc)}"
        self.session._print(f"🎟 邀请码：{created.code}（私聊发送 /start {created.code} 登记）")
        return ""

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
        command, _, rest = line.strip().partition(" ")
        roles: dict[str, Callable[[], str]] = {
            "/as": lambda: self.play(rest.strip()),
            "/group": lambda: self.join(rest.strip()),
            "/private": self.leave,
        }
        if command in roles or command == "/invite":
            hint = await self.invite(rest.strip()) if command == "/invite" else roles[command]()
            if hint:
                self.session._print(f"⚠️ {hint}")
            return True
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
        elif chat_id is not None and chat_id not in console.people:
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

    _quiet_logs()
    console_session = ConsoleSession(out)
    bot = create_bot(settings, session=console_session)
    dp = create_dispatcher(settings, session_factory=session_factory)
    original = _original_resolver()
    try:
        deliver = await _notifier(bot, session_factory, settings, console_session)
        console = Console(
            dp, bot, console_session, deliver=deliver, session_factory=session_factory
        )
        await console.run(read)
    finally:
        if original is not None:  # the console's resolver is for this console only
            from bot.notifications import worker

            worker.resolve_chat = original
        await dp.storage.close()
        await dp.fsm.events_isolation.close()


def _quiet_logs() -> None:
    """The console shows the conversation only: warnings and errors of the bot, no library
    debug lines (bm25s sets its own logger to DEBUG when imported)."""
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)
    for name in ("bm25s", "aiogram", "jieba"):
        logging.getLogger(name).setLevel(logging.WARNING)


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
