"""Keyboards shared by the resident conversations (labels come from the locale files)."""

from __future__ import annotations

from typing import Any

from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram_dialog import DialogManager
from aiogram_dialog.widgets.common import WhenCondition
from aiogram_dialog.widgets.kbd import Button, ScrollingGroup
from aiogram_dialog.widgets.text import Text

from backend.models import Person, Role
from backend.untrusted import parse_int
from bot.callbacks import MenuAction, parse_id
from bot.texts import t

MAX_PAGES = 1000


def menu_button(action: str, label_key: str, lang: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=t(label_key, lang), callback_data=MenuAction(action=action).pack()
    )


def main_menu(lang: str, person: Person | None = None) -> InlineKeyboardMarkup:
    """The main menu; grid workers also get their own report entry."""
    rows = [[menu_button("report", "common.menu_report", lang)]]
    if person is not None and person.role == Role.grid_worker:
        rows.append([menu_button("grid", "common.menu_grid", lang)])
    rows += [
        [menu_button("legal", "common.menu_legal", lang)],
        [menu_button("mycases", "common.menu_mycases", lang)],
        [
            menu_button("help", "common.menu_help", lang),
            menu_button("lang", "common.menu_lang", lang),
        ],
    ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def back_to_menu(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[menu_button("menu", "common.back_to_menu", lang)]]
    )


# -- aiogram-dialog building blocks ---------------------------------------------------------------


def dialog_lang(manager: DialogManager) -> str:
    """The language of the person the dialog talks to (set by the i18n middleware)."""
    return str(manager.middleware_data.get("lang") or "zh")


class L(Text):
    """A locale text in the user's language: ``L("cases.btn_list")``; ``fields`` names getter
    keys passed to the text as format arguments (escaped unless the getter gives ``Raw``)."""

    def __init__(self, key: str, *fields: str, when: WhenCondition = None) -> None:
        super().__init__(when=when)
        self.key = key
        self.fields = fields

    async def _render_text(self, data: dict[str, Any], manager: DialogManager) -> str:
        return t(self.key, dialog_lang(manager), **{name: data[name] for name in self.fields})


async def show_main_menu(message: Message, manager: DialogManager, *, note: str = "") -> None:
    """Close every dialog and put the main menu in its place (the one menu of this turn)."""
    from bot.handlers.start import send_menu

    await manager.reset_stack(remove_keyboard=True)
    data = manager.middleware_data
    lang = dialog_lang(manager)
    if note:
        await message.answer(note)
    await send_menu(
        message, person=data.get("person"), lang=lang, session=data["session"], greet=False
    )


async def on_menu(callback: CallbackQuery, _button: Any, manager: DialogManager) -> None:
    """🏠 回到主菜单 inside a dialog: the dialog's message loses its buttons, the menu follows."""
    if isinstance(callback.message, Message):
        await show_main_menu(callback.message, manager)


def dialog_menu_button(label_key: str = "common.back_to_menu") -> Button:
    """🏠 回到主菜单 as a dialog button."""
    return Button(L(label_key), id="menu", on_click=on_menu)


def row_id(raw: str) -> int:
    """A row id from a dialog button (Select ``type_factory``): 0 when forged or out of range,
    which no row has, so the press gets the stale-button answer."""
    return parse_id(raw) or 0


class Pages(ScrollingGroup):
    """``ScrollingGroup`` whose page buttons refuse a forged page number instead of failing."""

    async def _process_item_callback(
        self, callback: CallbackQuery, data: str, dialog: Any, manager: DialogManager
    ) -> bool:
        if parse_int(data, low=0, high=MAX_PAGES) is None:
            await callback.answer(
                t("common.button_expired", dialog_lang(manager)), show_alert=True
            )
            return True
        return await super()._process_item_callback(callback, data, dialog, manager)
