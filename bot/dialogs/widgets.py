"""Keyboards shared by the resident conversations (labels come from the locale files)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from backend.models import Person, Role
from bot.callbacks import MenuAction
from bot.texts import t


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
