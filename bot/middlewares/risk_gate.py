"""Risk gate: every text (or caption) a resident sends is checked for danger, in every state.

One outer middleware on ``dp.message`` runs before any dialog sees the message, so a red message
gets the 110/120/12356 safety message and the 🚨 立即报告 button first, wherever the person is: at
the main menu, at the resume prompt, at any step of the report, grid-worker, legal or rating
dialog. It depends only on aiogram, the state map (``bot/dialogs/states.py``) and a ``keep``
function the dialogs provide, so it survives a rebuild of the dialogs on aiogram-dialog.

What happens to the text is decided by ``keep`` (the dialogs know where a text belongs): it is
added to a report draft, or it starts one, or the state's own handler still gets it. Whatever
``keep`` does, the text is also remembered beside the safety message in a separate FSM slot
(its own destiny, untouched by ``state.clear()``), so the 🚨 button can always file it.

Staff are left alone: group chats never get the resident safety flow, nor does anyone in a
staff step (typing a return reason or a case note about a fight is not an emergency).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import cache
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import StatesGroup
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message, TelegramObject

from bot.callbacks import Flow
from bot.texts import t

log = logging.getLogger(__name__)

CHECK_CHARS = 5000  # Telegram texts stop at 4096; a longer one (the console) is checked this far
RISK_DESTINY = "risk"  # the FSM slot that remembers red texts for the 🚨 button
REMEMBERED_ALERTS = 5  # the 🚨 buttons that still work, per chat

KeepText = Callable[[Message, FSMContext, str, str], Awaitable[bool]]
"""``keep(message, state, text, lang)``: keep a red text; True when no handler should see it."""


def is_red(text: str) -> bool:
    """True when the text tells of danger needing an immediate response (the one risk call)."""
    import classifier

    # Only the danger model, not routing: red never comes from a category's default level.
    return classifier.assess_risk(text[:CHECK_CHARS]).level == "red"


@cache
def resident_states() -> frozenset[str]:
    """Every state of the resident-side dialogs: all StatesGroups of ``bot/dialogs/states.py``."""
    from bot.dialogs import states

    groups = [
        value
        for value in vars(states).values()
        if isinstance(value, type) and issubclass(value, StatesGroup) and value is not StatesGroup
    ]
    return frozenset(name for group in groups for name in group.__all_states_names__)


def gated_text(message: Message) -> str | None:
    """The words of a private message the gate reads: its text or caption, never a command."""
    if message.chat.type != "private" or message.from_user is None or message.from_user.is_bot:
        return None
    text = (message.text or message.caption or "").strip()
    if not text or text.startswith("/"):
        return None
    return text


def urgent_markup(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t("report.btn_urgent", lang), callback_data=Flow(action="urgent").pack()
                )
            ]
        ]
    )


def _alerts(state: FSMContext) -> FSMContext:
    return FSMContext(storage=state.storage, key=replace(state.key, destiny=RISK_DESTINY))


async def show_safety_message(message: Message, state: FSMContext, text: str, lang: str) -> None:
    """The safety numbers with the 🚨 button; the text is remembered for that button."""
    sent = await message.answer(t("report.safety", lang), reply_markup=urgent_markup(lang))
    await remember_alert(state, sent.message_id, text)


async def remember_alert(state: FSMContext, alert_message_id: int, text: str) -> None:
    """Keep the red text for the 🚨 button on that message (the newest few buttons per chat)."""
    slot = _alerts(state)
    remembered: dict[str, str] = dict((await slot.get_data()).get("alerts") or {})
    remembered[str(alert_message_id)] = text
    await slot.set_data({"alerts": dict(list(remembered.items())[-REMEMBERED_ALERTS:])})


async def take_alert_text(state: FSMContext, alert_message_id: int) -> str | None:
    """The red text behind the 🚨 button on this message (forgotten once taken)."""
    slot = _alerts(state)
    remembered: dict[str, str] = dict((await slot.get_data()).get("alerts") or {})
    text = remembered.pop(str(alert_message_id), None)
    if text is not None:
        await slot.set_data({"alerts": remembered} if remembered else {})
    return text


async def forget_alerts(state: FSMContext) -> list[int]:
    """Forget every remembered red text (the resident cancelled); the ids of their messages."""
    slot = _alerts(state)
    remembered: dict[str, str] = dict((await slot.get_data()).get("alerts") or {})
    if remembered:
        await slot.set_data({})
    return [int(message_id) for message_id in remembered]


class RiskGateMiddleware(BaseMiddleware):
    """Outer ``dp.message`` middleware: safety message first on red, then the text is kept."""

    def __init__(self, keep: KeepText) -> None:
        self.keep = keep

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Message):
            return await handler(event, data)
        text = gated_text(event)
        state: FSMContext | None = data.get("state")
        raw_state: str | None = data.get("raw_state")
        if text is None or state is None:
            return await handler(event, data)
        if raw_state is not None and raw_state not in resident_states():
            return await handler(event, data)  # a staff step: not the resident safety flow
        if not _red(text):
            return await handler(event, data)
        lang = str(data.get("lang") or "zh")
        await show_safety_message(event, state, text, lang)
        if raw_state is None and await open_dialog_state(state) in own_text_states():
            return await handler(event, data)  # the open dialog takes the text as its answer
        if await self.keep(event, state, text, lang):
            return None
        return await handler(event, data)


@cache
def own_text_states() -> frozenset[str]:
    """aiogram-dialog steps that take the resident's text as their answer (a rating reason, a
    legal question): a red text is theirs too, after the safety message."""
    from bot.dialogs.states import LegalSG, RateSG

    steps = (RateSG.reason, LegalSG.question, LegalSG.reply, LegalSG.handoff_question)
    return frozenset(str(step.state) for step in steps)


async def open_dialog_state(state: FSMContext) -> str | None:
    """The step of the aiogram-dialog open in this chat, or None.

    The gate runs before aiogram-dialog loads its context, so it reads the dialog stack from the
    FSM storage itself (aiogram-dialog keeps it there under its own destinies, per chat).
    """
    key = replace(state.key, user_id=state.key.chat_id)
    stack = await state.storage.get_data(replace(key, destiny="aiogd:stack:"))
    intents = stack.get("intents") or []
    if not intents:
        return None
    context = await state.storage.get_data(replace(key, destiny=f"aiogd:context:{intents[-1]}"))
    found = context.get("state")
    return found if isinstance(found, str) else None


def _red(text: str) -> bool:
    """The risk check, never the reason a message is lost: a failure counts as "not red"."""
    try:
        return is_red(text)
    except Exception:  # a broken rule file must not stop every message; logged, no user text
        log.exception("risk check failed")
        return False
