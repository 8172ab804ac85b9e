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
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Case, CaseEvent, CaseStatus, Person, Role, Unit
from backend.services import cases, directory, outbox, privacy
from backend.services.directory import CENTER_ROLES, STAFF_ROLES
from backend.services.errors import DomainError, NotAllowed, NotFound
from bot.notifications.cards import (
    card_keyboard,
    case_card_text,
    fmt_time,
    person_label,
    unit_label,
)
from bot.texts import t

log = logging.getLogger(__name__)

DISPATCH_ROLES = frozenset({Role.dispatcher, Role.admin})


async def pickable_units(
    session: AsyncSession, exclude: set[int | None] | None = None
) -> list[Unit]:
    """Units a case can be sent to or shared with (every unit but the center itself)."""
    units = await directory.list_units(session=session)
    return [u for u in units if u.code != "center" and u.id not in (exclude or set())]


async def refuse(callback: CallbackQuery, message: str) -> None:
    """Answer the button with a short reason; nothing changes."""
    await callback.answer(message[:190], show_alert=True)


async def refuse_error(callback: CallbackQuery, exc: DomainError) -> None:
    await refuse(callback, exc.message)


async def load_case(session: AsyncSession, case_id: int) -> Case:
    case = await session.get(Case, case_id, populate_existing=True)
    if case is None:
        raise NotFound()
    return case


def require_staff(person: Person | None) -> Person:
    if person is None or person.role not in STAFF_ROLES or person.unit_id is None:
        raise NotAllowed("只有承办单位的工作人员可以操作。", code="not_staff")
    return person


def require_center(person: Person | None, *, dispatch: bool = False) -> Person:
    roles = DISPATCH_ROLES if dispatch else CENTER_ROLES
    if person is None or person.role not in roles:
        raise NotAllowed("只有综治中心调度员可以操作。", code="not_dispatcher")
    return person


def require_lead(person: Person | None, case: Case) -> Person:
    staff = require_staff(person)
    if staff.unit_id != case.lead_unit_id:
        raise NotAllowed("该事项不在您单位的办理范围内。", code="other_unit")
    return staff


async def card_message(
    case: Case, *, session: AsyncSession, lang: str, tz: str, header_key: str = "notice.card_new"
) -> tuple[str, InlineKeyboardMarkup | None]:
    card = await case_card_text(
        case, session=session, lang=lang, header=t(header_key, lang), tz=tz
    )
    return card.text, card_keyboard(case, lang, truncated=card.truncated)


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


async def refresh_group_card(
    bot: Bot, case: Case, *, session: AsyncSession, lang: str, tz: str
) -> None:
    """Show the case's new state on the last card the unit group got (best effort), so a
    returned or resolved case no longer offers 签收 there."""
    from bot.notifications.render import resolve_chat

    assert case.id is not None
    card = await outbox.last_sent_card(session=session, case_id=case.id)
    if card is None or card.telegram_message_id is None:
        return
    chat_id, _ = await resolve_chat(card, session=session)
    if chat_id is None:
        return
    text, markup = await card_message(case, session=session, lang=lang, tz=tz)
    try:
        await bot.edit_message_text(
            text, chat_id=chat_id, message_id=card.telegram_message_id, reply_markup=markup
        )
    except TelegramAPIError as exc:
        log.info("group card not refreshed: %s", type(exc).__name__)


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
) -> str:
    """Full case text, tasks and the last events; numbers unmasked only for whoever
    ``privacy.may_see_contact`` allows, and residents/anonymous reporters never named."""
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
    if case.handle_deadline and case.status == CaseStatus.accepted:
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
    return "\n".join(lines)


async def _actor_label(session: AsyncSession, case: Case, event: CaseEvent, lang: str) -> str:
    if privacy.actor_hidden(case, actor_id=event.actor_id, actor_role=event.actor_role):
        return t("staff.detail.resident", lang)
    actor = await session.get(Person, event.actor_id) if event.actor_id else None
    return person_label(actor, lang) if actor else t("staff.detail.system", lang)


ACTIONS = {
    "submit",
    "dispatch",
    "accept",
    "accept_task",
    "return",
    "approve_return",
    "overrule_return",
    "transfer",
    "request_joint",
    "approve_joint",
    "complete_task",
    "request_extension",
    "decide_extension",
    "note",
    "attachment",
    "resolve",
    "rate",
    "close",
    "supervise",
    "follow",
}


def action_label(action: str, lang: str) -> str:
    return t(f"staff.action.{action}", lang) if action in ACTIONS else action
