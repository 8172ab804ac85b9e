"""Builders for real aiogram ``Update`` objects, and a tiny conversation driver for handler tests.

Every builder takes a fresh, unique ``update_id`` (re-using ids makes aiogram slow and trips the
duplicate-update guard) unless you pass one on purpose::

    await dp.feed_update(bot, make_message_update(7, "/start"))
    await dp.feed_update(bot, make_callback_update(7, MenuAction(action="report").pack()))

    user = TgUser(dp, bot, user_id=7)
    await user.send("/start")
    await user.press("反映问题")  # the newest button whose label contains this
    assert "请描述" in user.last_text
"""

from __future__ import annotations

import itertools
import time
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.types import (
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    Update,
)

from tests.mocked_bot import MockedBot, button_texts, find_button

_update_ids = itertools.count(10_000)
_message_ids = itertools.count(1)
_callback_ids = itertools.count(1)
_file_ids = itertools.count(1)


def next_update_id() -> int:
    return next(_update_ids)


def user_dict(
    user_id: int, *, first_name: str = "张三", language_code: str = "zh-hans"
) -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "language_code": language_code,
    }


def _chat_dict(
    chat_id: int, *, title: str | None = None, first_name: str = "张三"
) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": first_name}
    return {"id": chat_id, "type": "supergroup", "title": title or f"group {chat_id}"}


def _message_dict(
    user_id: int,
    *,
    chat_id: int | None = None,
    chat_title: str | None = None,
    message_id: int | None = None,
    first_name: str = "张三",
    language_code: str = "zh-hans",
    **content: Any,
) -> dict[str, Any]:
    return {
        "message_id": message_id if message_id is not None else next(_message_ids),
        "date": int(time.time()),
        "chat": _chat_dict(
            chat_id if chat_id is not None else user_id, title=chat_title, first_name=first_name
        ),
        "from": user_dict(user_id, first_name=first_name, language_code=language_code),
        **content,
    }


def _update(update_id: int | None, **body: Any) -> Update:
    return Update.model_validate(
        {"update_id": update_id if update_id is not None else next_update_id(), **body}
    )


def make_message_update(
    user_id: int,
    text: str,
    *,
    chat_id: int | None = None,
    chat_title: str | None = None,
    update_id: int | None = None,
    first_name: str = "张三",
    language_code: str = "zh-hans",
    reply_to_message_id: int | None = None,
) -> Update:
    """A text message (commands get their ``bot_command`` entity like Telegram sends them)."""
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        command = text.split()[0]
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    if reply_to_message_id is not None:
        content["reply_to_message"] = _message_dict(
            user_id, chat_id=chat_id, message_id=reply_to_message_id, text="…"
        )
    return _update(
        update_id,
        message=_message_dict(
            user_id,
            chat_id=chat_id,
            chat_title=chat_title,
            first_name=first_name,
            language_code=language_code,
            **content,
        ),
    )


def make_group_message_update(
    user_id: int,
    chat_id: int,
    text: str,
    *,
    title: str = "部门工作群",
    update_id: int | None = None,
) -> Update:
    return make_message_update(
        user_id, text, chat_id=chat_id, chat_title=title, update_id=update_id
    )


def make_photo_update(
    user_id: int,
    *,
    file_id: str | None = None,
    caption: str | None = None,
    chat_id: int | None = None,
    update_id: int | None = None,
    media_group_id: str | None = None,
) -> Update:
    fid = file_id or f"photo-{next(_file_ids)}"
    content: dict[str, Any] = {
        "photo": [
            {"file_id": f"{fid}-small", "file_unique_id": f"{fid}s", "width": 90, "height": 60},
            {"file_id": fid, "file_unique_id": f"{fid}u", "width": 1280, "height": 960},
        ]
    }
    if caption:
        content["caption"] = caption
    if media_group_id:
        content["media_group_id"] = media_group_id
    return _update(update_id, message=_message_dict(user_id, chat_id=chat_id, **content))


def make_document_update(
    user_id: int,
    *,
    file_id: str | None = None,
    file_name: str = "材料.pdf",
    caption: str | None = None,
    update_id: int | None = None,
) -> Update:
    fid = file_id or f"doc-{next(_file_ids)}"
    content: dict[str, Any] = {
        "document": {"file_id": fid, "file_unique_id": f"{fid}u", "file_name": file_name}
    }
    if caption:
        content["caption"] = caption
    return _update(update_id, message=_message_dict(user_id, **content))


def make_voice_update(
    user_id: int, *, file_id: str | None = None, update_id: int | None = None
) -> Update:
    fid = file_id or f"voice-{next(_file_ids)}"
    return _update(
        update_id,
        message=_message_dict(
            user_id, voice={"file_id": fid, "file_unique_id": f"{fid}u", "duration": 7}
        ),
    )


def make_sticker_update(user_id: int, *, update_id: int | None = None) -> Update:
    fid = f"sticker-{next(_file_ids)}"
    return _update(
        update_id,
        message=_message_dict(
            user_id,
            sticker={
                "file_id": fid,
                "file_unique_id": f"{fid}u",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "👍",
            },
        ),
    )


def make_location_update(
    user_id: int, latitude: float, longitude: float, *, update_id: int | None = None
) -> Update:
    return _update(
        update_id,
        message=_message_dict(user_id, location={"latitude": latitude, "longitude": longitude}),
    )


def make_contact_update(
    user_id: int,
    phone_number: str,
    *,
    contact_user_id: int | None = None,
    first_name: str = "张三",
    update_id: int | None = None,
) -> Update:
    """A shared contact; by default the user's own (as the request_contact button sends it)."""
    contact = {
        "phone_number": phone_number,
        "first_name": first_name,
        "user_id": contact_user_id if contact_user_id is not None else user_id,
    }
    return _update(update_id, message=_message_dict(user_id, contact=contact))


def make_callback_update(
    user_id: int,
    data: str,
    *,
    message_id: int = 1,
    chat_id: int | None = None,
    message_text: str = "…",
    update_id: int | None = None,
    language_code: str = "zh-hans",
) -> Update:
    """A button press (callback query) on the bot's message ``message_id`` in ``chat_id``."""
    chat = chat_id if chat_id is not None else user_id
    return _update(
        update_id,
        callback_query={
            "id": str(next(_callback_ids)),
            "from": user_dict(user_id, language_code=language_code),
            "chat_instance": f"ci-{chat}",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": _chat_dict(chat),
                "from": {"id": 42, "is_bot": True, "first_name": "综治通"},
                "text": message_text,
            },
        },
    )


class TgUser:
    """Drives one Telegram user through a dispatcher with a :class:`MockedBot`."""

    def __init__(
        self,
        dp: Dispatcher,
        bot: MockedBot,
        user_id: int,
        *,
        first_name: str = "张三",
        language_code: str = "zh-hans",
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.user_id = user_id
        self.first_name = first_name
        self.language_code = language_code

    async def feed(self, update: Update) -> Any:
        return await self.dp.feed_update(self.bot, update)

    async def send(self, text: str) -> Any:
        return await self.feed(
            make_message_update(
                self.user_id, text, first_name=self.first_name, language_code=self.language_code
            )
        )

    async def send_photo(self, file_id: str | None = None, caption: str | None = None) -> Any:
        return await self.feed(make_photo_update(self.user_id, file_id=file_id, caption=caption))

    async def send_document(self, file_id: str | None = None, file_name: str = "材料.pdf") -> Any:
        return await self.feed(
            make_document_update(self.user_id, file_id=file_id, file_name=file_name)
        )

    async def send_voice(self) -> Any:
        return await self.feed(make_voice_update(self.user_id))

    async def send_sticker(self) -> Any:
        return await self.feed(make_sticker_update(self.user_id))

    async def send_location(self, latitude: float, longitude: float) -> Any:
        return await self.feed(make_location_update(self.user_id, latitude, longitude))

    async def send_contact(self, phone: str, *, own: bool = True) -> Any:
        return await self.feed(
            make_contact_update(
                self.user_id, phone, contact_user_id=None if own else self.user_id + 1
            )
        )

    async def click(self, data: str, *, message_id: int | None = None) -> Any:
        """Press an inline button by its raw callback data (forged data is allowed on purpose)."""
        mid = message_id if message_id is not None else self._last_inline_message_id()
        return await self.feed(
            make_callback_update(
                self.user_id, data, message_id=mid, language_code=self.language_code
            )
        )

    async def press(self, label: str) -> Any:
        """Press the newest visible button whose label contains ``label``.

        Inline buttons (on any bot message, as it looks now) become callback queries on that
        message; reply-keyboard buttons are sent as text (as Telegram does), except
        request_location/request_contact buttons which need send_location()/send_contact().
        """
        inline = self._inline_with(label)
        reply = self.bot.session.reply_keyboards.get(self.user_id)
        reply_button = None
        if reply and isinstance(reply["markup"], ReplyKeyboardMarkup):
            try:
                reply_button = find_button(reply["markup"], label)
            except AssertionError:
                reply_button = None
        newer = reply is not None and (inline is None or reply["seq"] > inline[2])
        if reply_button is not None and newer:
            if reply_button.request_contact or reply_button.request_location:
                raise AssertionError("use send_contact()/send_location() for this button")
            return await self.send(reply_button.text)
        if inline is None:
            raise AssertionError(f"no visible button {label!r}; buttons now: {self.buttons}")
        message_id, button, _ = inline
        if button.callback_data is None:
            raise AssertionError(f"button {label!r} has no callback data")
        return await self.click(button.callback_data, message_id=message_id)

    def _inline_with(self, label: str) -> tuple[int, Any, int] | None:
        for (chat, message_id), stored in reversed(self.bot.session.messages.items()):
            if chat != self.user_id or stored.get("markup") is None:
                continue
            for row in stored["markup"].inline_keyboard:
                for button in row:
                    if label in button.text:
                        return message_id, button, stored["seq"]
        return None

    def _last_inline_message_id(self) -> int:
        for (chat, message_id), stored in reversed(self.bot.session.messages.items()):
            if chat == self.user_id and stored.get("markup") is not None:
                return message_id
        return 1

    @property
    def last_text(self) -> str:
        return self.bot.last_text(self.user_id)

    @property
    def texts(self) -> list[str]:
        return self.bot.texts(self.user_id)

    @property
    def buttons(self) -> list[str]:
        """Labels of the newest inline keyboard plus the reply keyboard shown now."""
        labels: list[str] = []
        for (chat, _), stored in reversed(self.bot.session.messages.items()):
            if chat == self.user_id and stored.get("markup") is not None:
                labels = button_texts(stored["markup"])
                break
        reply = self.bot.session.reply_keyboards.get(self.user_id)
        if reply:
            labels += button_texts(reply["markup"])
        return labels

    @property
    def keyboard(self) -> InlineKeyboardMarkup | ReplyKeyboardMarkup | None:
        markup = self.bot.last_markup(self.user_id)
        if isinstance(markup, InlineKeyboardMarkup | ReplyKeyboardMarkup):
            return markup
        return None


async def feed(dp: Dispatcher, bot: Bot, update: Update, **kwargs: Any) -> Any:
    """Shorthand for ``dp.feed_update``."""
    return await dp.feed_update(bot, update, **kwargs)
