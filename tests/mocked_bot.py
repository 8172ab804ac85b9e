"""A Bot whose session records every API call and answers like Telegram would (no network).

The aiogram tests pattern (``tests/mocked_bot.py`` in aiogram), made self-answering: each call
gets a plausible result (``sendMessage`` → a Message with a fresh message_id, edits → the
edited Message, ``getMe`` → the bot user, ``bool`` results → True), validated through aiogram's
own ``check_response`` so handlers see real objects. Tests read what the bot did from
``bot.session.requests`` or the helpers below, and can inject faults (429/403/500/hang)::

    bot = MockedBot()
    await dp.feed_update(bot, make_message_update(1, "/start"))
    assert "综治通" in bot.last_text(chat_id=1)
    bot.session.fail_next("sendMessage", retry_after=3)  # next sendMessage → 429
    bot.session.fail_next("sendMessage", error_code=403)  # → TelegramForbiddenError
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import (
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    TelegramObject,
)

BOT_ID = 42
BOT_USERNAME = "zongzhitong_bot"

_MESSAGE_METHODS = {
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "sendVideo",
    "sendVoice",
    "sendAudio",
    "sendAnimation",
    "sendLocation",
    "sendContact",
    "sendSticker",
    "copyMessage",
    "forwardMessage",
}
_EDIT_METHODS = {"editMessageText", "editMessageReplyMarkup", "editMessageCaption"}


@dataclass
class Fault:
    """What the next call(s) of one API method do instead of succeeding."""

    error_code: int = 429
    description: str = "Too Many Requests: retry later"
    retry_after: float | None = None
    hang: bool = False


def _dump(value: Any) -> Any:
    if isinstance(value, TelegramObject):
        return value.model_dump(mode="json", exclude_none=True, exclude_unset=False)
    return value


def _chat(chat_id: Any) -> dict[str, Any]:
    if isinstance(chat_id, int) and chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "user"}
    if isinstance(chat_id, int):
        return {"id": chat_id, "type": "supergroup", "title": f"group {chat_id}"}
    return {"id": -1, "type": "channel", "title": str(chat_id)}


class RecordingSession(BaseSession):
    """Records every method call; answers with a fake but valid Telegram response."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self.closed = False
        self._message_ids = itertools.count(1000)
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        # What each bot message (chat_id, message_id) shows now: text + markup + when last touched,
        # most recently touched last; and the reply keyboard each chat shows now.
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.reply_keyboards: dict[int, dict[str, Any]] = {}
        self._seq = itertools.count(1)

    # -- fault injection -------------------------------------------------------------------------
    def fail_next(
        self,
        api_method: str,
        *,
        times: int = 1,
        error_code: int = 429,
        description: str | None = None,
        retry_after: float | None = None,
        hang: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``api_method`` fail (HTTP-style error or hang)."""
        if description is None:
            description = {
                429: "Too Many Requests: retry after",
                403: "Forbidden: bot was blocked by the user",
                400: "Bad Request: message is not modified",
                500: "Internal Server Error",
            }.get(error_code, "error")
        if error_code == 429 and retry_after is None:
            retry_after = 1
        for _ in range(times):
            self._faults[api_method].append(Fault(error_code, description, retry_after, hang))

    # -- BaseSession -----------------------------------------------------------------------------
    async def close(self) -> None:
        self.closed = True

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 (BaseSession's signature)
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield b"fake file content"

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (BaseSession's signature)
    ) -> TelegramType:
        self.requests.append(method)
        name = method.__api_method__
        if self._faults.get(name):
            fault = self._faults[name].popleft()
            if fault.hang:
                await asyncio.sleep(3600)
            payload: dict[str, Any] = {
                "ok": False,
                "error_code": fault.error_code,
                "description": fault.description,
            }
            if fault.retry_after is not None:
                payload["parameters"] = {"retry_after": fault.retry_after}
            status = fault.error_code
        else:
            payload = {"ok": True, "result": self._result(method)}
            status = 200
        response = self.check_response(
            bot=bot, method=method, status_code=status, content=json.dumps(payload)
        )
        return response.result  # type: ignore[return-value]

    # -- fake results ----------------------------------------------------------------------------
    def _message(
        self, method: TelegramMethod[Any], message_id: int | None = None
    ) -> dict[str, Any]:
        chat_id = getattr(method, "chat_id", None)
        mid = message_id if message_id is not None else next(self._message_ids)
        result: dict[str, Any] = {
            "message_id": mid,
            "date": int(time.time()),
            "chat": _chat(chat_id),
            "from": {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "综治通",
                "username": BOT_USERNAME,
            },
        }
        name = method.__api_method__
        text = getattr(method, "text", None)
        caption = getattr(method, "caption", None)
        markup = getattr(method, "reply_markup", None)
        key = (chat_id, mid) if isinstance(chat_id, int) else None
        previous = self.messages.get(key, {}) if key else {}
        if name == "editMessageReplyMarkup":
            text = previous.get("text")
        if text is not None:
            result["text"] = text
        if caption is not None:
            result["caption"] = caption
        if name == "sendPhoto":
            result["photo"] = [
                {"file_id": "sent-photo", "file_unique_id": "sp", "width": 1, "height": 1}
            ]
        elif name == "sendDocument":
            result["document"] = {"file_id": "sent-doc", "file_unique_id": "sd"}
        elif name == "sendLocation":
            result["location"] = {
                "latitude": getattr(method, "latitude", 0),
                "longitude": getattr(method, "longitude", 0),
            }
        if isinstance(markup, InlineKeyboardMarkup):
            result["reply_markup"] = _dump(markup)
        seq = next(self._seq)
        if key:
            self.messages.pop(key, None)
            self.messages[key] = {
                "text": text if text is not None else caption,
                "markup": markup if isinstance(markup, InlineKeyboardMarkup) else None,
                "seq": seq,
            }
            if isinstance(markup, ReplyKeyboardMarkup | ReplyKeyboardRemove):
                self.reply_keyboards[key[0]] = {"markup": markup, "seq": seq}
        return result

    def _result(self, method: TelegramMethod[Any]) -> Any:
        name = method.__api_method__
        if name == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "综治通",
                "username": BOT_USERNAME,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if name in _MESSAGE_METHODS:
            if name == "copyMessage":
                return {"message_id": next(self._message_ids)}
            return self._message(method)
        if name in _EDIT_METHODS:
            if getattr(method, "inline_message_id", None):
                return True
            return self._message(method, message_id=getattr(method, "message_id", None))
        if name == "sendMediaGroup":
            media = getattr(method, "media", [])
            return [
                {
                    "message_id": next(self._message_ids),
                    "date": int(time.time()),
                    "chat": _chat(getattr(method, "chat_id", None)),
                    "photo": [
                        {"file_id": f"m{i}", "file_unique_id": f"m{i}", "width": 1, "height": 1}
                    ],
                }
                for i, _ in enumerate(media)
            ]
        if name == "getFile":
            file_id = getattr(method, "file_id", "file")
            return {
                "file_id": file_id,
                "file_unique_id": file_id[:16],
                "file_path": f"files/{file_id}",
            }
        if name == "getMyCommands":
            return []
        if name == "getUpdates":
            return []
        if name == "getChat":
            return {
                **_chat(getattr(method, "chat_id", None)),
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                },
            }
        return True


class MockedBot(Bot):
    """A Bot that never touches the network; see the module docstring."""

    session: RecordingSession

    def __init__(self, token: str = f"{BOT_ID}:TEST", **kwargs: Any) -> None:
        kwargs.setdefault("default", DefaultBotProperties(parse_mode="HTML"))
        super().__init__(token, session=RecordingSession(), **kwargs)

    # -- reading what the bot did -----------------------------------------------------------------
    @property
    def requests(self) -> list[TelegramMethod[Any]]:
        return self.session.requests

    def calls(self, api_method: str | None = None, *, chat_id: int | None = None) -> list[Any]:
        """Recorded calls, optionally of one API method name and/or to one chat."""
        return [
            m
            for m in self.session.requests
            if (api_method is None or m.__api_method__ == api_method)
            and (chat_id is None or getattr(m, "chat_id", None) == chat_id)
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        """Every text or caption the bot sent or edited (to ``chat_id`` if given), in order."""
        out: list[str] = []
        for m in self.session.requests:
            if chat_id is not None and getattr(m, "chat_id", None) != chat_id:
                continue
            value = getattr(m, "text", None) or getattr(m, "caption", None)
            if isinstance(value, str) and m.__api_method__ != "answerCallbackQuery":
                out.append(value)
        return out

    def last_text(self, chat_id: int | None = None) -> str:
        texts = self.texts(chat_id)
        assert texts, "the bot sent no text"
        return texts[-1]

    def alerts(self) -> list[str]:
        """Texts of answerCallbackQuery toasts/alerts."""
        return [m.text for m in self.calls("answerCallbackQuery") if m.text]

    def last_markup(
        self, chat_id: int | None = None
    ) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | None:
        """The reply_markup of the last message the bot sent or edited (to ``chat_id``)."""
        for m in reversed(self.session.requests):
            if chat_id is not None and getattr(m, "chat_id", None) != chat_id:
                continue
            if m.__api_method__ in _MESSAGE_METHODS | _EDIT_METHODS:
                return getattr(m, "reply_markup", None)
        return None

    def reset(self) -> None:
        self.session.requests.clear()


def button_texts(markup: Any) -> list[str]:
    """All button labels of an inline or reply keyboard, row by row."""
    if isinstance(markup, InlineKeyboardMarkup):
        return [b.text for row in markup.inline_keyboard for b in row]
    if isinstance(markup, ReplyKeyboardMarkup):
        return [b.text for row in markup.keyboard for b in row]
    return []


def find_button(markup: Any, label: str) -> Any:
    """The first button whose label contains ``label`` (inline or reply keyboard)."""
    rows: Iterable[Iterable[Any]] = []
    if isinstance(markup, InlineKeyboardMarkup):
        rows = markup.inline_keyboard
    elif isinstance(markup, ReplyKeyboardMarkup):
        rows = markup.keyboard
    for row in rows:
        for button in row:
            if label in button.text:
                return button
    raise AssertionError(f"no button {label!r} in {button_texts(markup)}")
