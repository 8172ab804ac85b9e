"""Helpers shared by the staff and center desks: refusals, card refresh, private prompts.

Callback data is never trusted: handlers look the case up again and every change goes through
``backend.services.workflow``, which checks role, unit and state. The pre-checks here only decide
whether to *show* a picker or a prompt; a refusal answers the button with a short reason.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    ErrorEvent,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Case, CaseEvent, Person, Unit
from backend.services import cases, directory, privacy, workflow
from backend.services.errors import DomainError, NotAllowed, NotFound, ValidationFailed
from backend.services.workflow import Action
from bot.callbacks import DeskMenu, StaffMenu
from bot.notifications.cards import (
    card_keyboard,
    case_card_text,
    fmt_time,
    person_label,
    unit_label,
)
from bot.texts import keys, t

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 4000  # Telegram allows 4,096 characters; leave room for entities
DESK_STATE_PREFIX = "StaffSG:"


async def pickable_units(
    session: AsyncSession, exclude: set[int | None] | None = None
) -> list[Unit]:
    """Units a case can be sent to or shared with (every unit but the center itself)."""
    units = await directory.list_units(session=session)
    return [u for u in units if u.code != "center" and u.id not in (exclude or set())]


def refusal_text(exc: DomainError, lang: str) -> str:
    """The refusal in the user's language: ``error.<code>`` from the locales, else the message."""
    key = f"error.{exc.code}"
    if key in keys(lang):
        return t(key, lang, **exc.params)
    return exc.message


async def on_refusal(event: ErrorEvent, lang: str = "zh", state: FSMContext | None = None) -> None:
    """The one answer to a refused press or message (any DomainError a handler lets through).

    A refused desk prompt is closed unless only the typed text was invalid (type it again).
    """
    exc = event.exception
    assert isinstance(exc, DomainError)
    text = refusal_text(exc, lang)
    update = event.update
    if update.callback_query is not None:
        await update.callback_query.answer(text[:190], show_alert=True)
    elif update.message is not None:
        await update.message.answer(t("error.refused", lang, reason=text))
    keep_prompt = isinstance(exc, ValidationFailed)
    if state is not None and not keep_prompt:
        current = await state.get_state() or ""
        if current.startswith(DESK_STATE_PREFIX):
            await state.clear()


async def load_case(session: AsyncSession, case_id: int) -> Case:
    case = await session.get(Case, case_id, populate_existing=True)
    if case is None:
        raise NotFound()
    return case


async def checked(
    session: AsyncSession, case_id: int, person: Person | None, action: Action
) -> tuple[Case, Person]:
    """The case, if the policy lets ``person`` take ``action`` on it now (else a refusal)."""
    case = await load_case(session, case_id)
    task = await workflow.actor_task(session, case, person)
    workflow.authorise(action, case, person, task=task)
    assert person is not None
    return case, person


async def viewable(session: AsyncSession, case_id: int, person: Person | None) -> Case:
    case = await load_case(session, case_id)
    if not await cases.can_view(person, case, session=session):
        raise NotAllowed()
    return case


def actor(person: Person | None) -> Person:
    """The person pressing; the workflow refuses anyone without the role for the action."""
    if person is None:
        raise NotAllowed()
    return person


def split_text(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split HTML text into messages at line ends (a long line at a safe place, never inside
    an entity such as ``&amp;``); tags are only ever on short lines, so they stay whole."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = limit
            amp = line.rfind("&", cut - 8, cut)
            if amp != -1 and ";" not in line[amp:cut]:
                cut = amp
            head, line = line[:cut], line[cut:]
            if current:
                chunks.append(current)
                current = ""
            chunks.append(head)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            candidate = line
        current = candidate
    if current or not chunks:
        chunks.append(current)
    return chunks


async def card_message(
    case: Case, *, session: AsyncSession, lang: str, tz: str
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The lead unit's card as it is now: the state as headline, the buttons the policy allows."""
    card = await case_card_text(case, session=session, lang=lang, tz=tz)
    return card.text, card_keyboard(case, lang)


async def edit_card_in_place(
    callback: CallbackQuery, case: Case, *, session: AsyncSession, lang: str, tz: str
) -> None:
    """Show the case's current state on the card the button was pressed on."""
    if not isinstance(callback.message, Message):
        return
    text, markup = await card_message(case, session=session, lang=lang, tz=tz)
    try:
        await callback.message.edit_text(text, reply_markup=markup)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            log.warning("could not edit case card: %s", exc.message[:120])


async def edit_note(callback: CallbackQuery, text: str) -> None:
    """Replace a picker/request message by a one-line outcome (buttons removed)."""
    if not isinstance(callback.message, Message):
        return
    try:
        await callback.message.edit_text(text, reply_markup=None)
    except TelegramBadRequest as exc:
        if "not modified" not in exc.message:
            log.warning("could not edit message: %s", exc.message[:120])


async def send_private(bot: Bot, person: Person, text: str, reply_markup: Any = None) -> bool:
    """Send to the person's private chat; False when they never opened it or blocked the bot."""
    if person.telegram_id is None:
        return False
    try:
        await bot.send_message(person.telegram_id, text, reply_markup=reply_markup)
    except TelegramAPIError as exc:
        log.info("private message to staff failed: %s", type(exc).__name__)
        return False
    return True


async def detail_text(
    case: Case,
    *,
    session: AsyncSession,
    lang: str,
    tz: str,
    viewer: Person | None = None,
    private: bool = False,
) -> list[str]:
    """Full case text, tasks and the last events, as messages (split where Telegram needs it);
    numbers unmasked only for whoever ``privacy.may_see_contact`` allows, and residents and
    anonymous reporters never named."""
    card = await case_card_text(
        case,
        session=session,
        lang=lang,
        header=t("staff.detail.header", lang),
        tz=tz,
        full=True,
        reveal=privacy.may_see_contact(viewer, case, private=private),
    )
    lines = [card.text]
    assert case.id is not None
    detail = await cases.case_detail(session=session, case_id=case.id)
    for task, unit in detail.tasks:
        lines.append(
            t(
                "staff.detail.task",
                lang,
                unit=unit_label(unit, lang),
                status=t(f"staff.task_status.{task.status}", lang),
            )
        )
    if case.handle_deadline and workflow.is_in_hand(case):
        lines.append(
            t("staff.detail.handle_by", lang, deadline=fmt_time(case.handle_deadline, lang, tz))
        )
    events = detail.events[-8:]
    if events:
        lines.append(t("staff.detail.history", lang))
        for event in events:
            lines.append(
                t(
                    "staff.detail.event",
                    lang,
                    time=fmt_time(event.created_at, lang, tz),
                    action=action_label(event.action, lang),
                    actor=await _actor_label(session, case, event, lang),
                )
            )
    return split_text("\n".join(lines))


async def _actor_label(session: AsyncSession, case: Case, event: CaseEvent, lang: str) -> str:
    if privacy.actor_hidden(case, actor_id=event.actor_id, actor_role=event.actor_role):
        return t("staff.detail.resident", lang)
    actor = await session.get(Person, event.actor_id) if event.actor_id else None
    return person_label(actor, lang) if actor else t("staff.detail.system", lang)


def action_label(action: str, lang: str) -> str:
    key = f"staff.action.{action}"
    return t(key, lang) if key in keys(lang) else action


async def record(callback: CallbackQuery, line: str) -> None:
    """Append a decision to the item it was taken on and remove its buttons."""
    if isinstance(callback.message, Message):
        original = callback.message.html_text if callback.message.text else ""
        await edit_note(callback, f"{original}\n\n{line}" if original else line)
    await callback.answer()


def staff_menu(lang: str) -> InlineKeyboardMarkup:
    """The menu registered staff and the center get instead of the resident menu."""
    from bot.dialogs.widgets import menu_button

    def item(action: DeskMenu, key: str) -> list[InlineKeyboardButton]:
        return [
            InlineKeyboardButton(text=t(key, lang), callback_data=StaffMenu(action=action).pack())
        ]

    return InlineKeyboardMarkup(
        inline_keyboard=[
            item(DeskMenu.queue, "staff.menu.queue"),
            item(DeskMenu.in_hand, "staff.menu.in_hand"),
            item(DeskMenu.bind, "staff.menu.bind"),
            item(DeskMenu.web, "staff.menu.web"),
            [menu_button("report", "common.menu_report", lang)],
            [
                menu_button("help", "common.menu_help", lang),
                menu_button("lang", "common.menu_lang", lang),
            ],
        ]
    )
