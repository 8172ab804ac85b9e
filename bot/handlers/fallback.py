"""Last router: anything no conversation took (stickers, voice, stray files, stale buttons).

Also the error handler: log without personal data, apologise to the user, keep their state.
"""

from __future__ import annotations

import contextlib
import logging
import traceback

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import ExceptionTypeFilter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, ErrorEvent, Message
from aiogram_dialog.api.exceptions import OutdatedIntent, UnknownIntent

from backend.models import Person
from backend.services.errors import DomainError
from bot.dialogs.widgets import main_menu
from bot.filters import NOT_COMMAND, PRIVATE_MESSAGE, Magic
from bot.texts import t

log = logging.getLogger(__name__)

MIN_REPORT_CHARS = 6  # shorter free text ("你好", "在吗") gets the menu instead of a draft


async def on_sticker(message: Message, person: Person | None, lang: str) -> None:
    await message.answer(t("common.sticker", lang), reply_markup=main_menu(lang, person))


async def on_voice(message: Message, person: Person | None, lang: str) -> None:
    await message.answer(t("common.voice_outside", lang), reply_markup=main_menu(lang, person))


async def on_media(message: Message, person: Person | None, lang: str) -> None:
    await message.answer(t("common.media_outside", lang), reply_markup=main_menu(lang, person))


async def on_free_text(message: Message, state: FSMContext, lang: str) -> None:
    """Text outside any flow that the legal desk did not take: start a report with it.

    (Beside a parked draft the report dialog takes the text first: the resume prompt.)
    """
    from bot.dialogs.report import start_report

    await start_report(message, state, text=message.text or "", lang=lang)


async def on_anything(message: Message, person: Person | None, lang: str) -> None:
    await message.answer(t("common.not_understood", lang), reply_markup=main_menu(lang, person))


async def on_stale_button(query: CallbackQuery, lang: str) -> None:
    """A button from an old message, or forged callback data: say so, change nothing."""
    await query.answer(t("common.button_expired", lang), show_alert=True)


def create_router() -> Router:
    router = Router(name="fallback")
    router.message.filter(PRIVATE_MESSAGE)
    router.message.register(on_sticker, Magic(F.sticker | F.animation | F.dice))
    router.message.register(on_voice, Magic(F.voice | F.video_note | F.audio))
    router.message.register(on_media, Magic(F.photo | F.document | F.video))
    router.message.register(
        on_free_text, StateFilter(None), Magic(F.text.len() >= MIN_REPORT_CHARS), NOT_COMMAND
    )
    router.message.register(on_anything)
    router.callback_query.register(on_stale_button)
    return router


async def on_error(event: ErrorEvent, lang: str = "zh") -> bool:
    """Log the failure (ids and exception type only) and apologise; the FSM state is kept."""
    update = event.update
    # Frames and the exception type only: messages (e.g. SQL parameters) may hold personal data.
    frames = "".join(traceback.format_tb(event.exception.__traceback__))
    log.error("update %s failed: %s\n%s", update.update_id, type(event.exception).__name__, frames)
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(t("common.error", lang), show_alert=True)
        elif update.message is not None and update.message.chat.type == "private":
            await update.message.answer(t("common.error", lang))
    except Exception:  # the apology itself failed (network): nothing more to do
        log.warning("could not send the error apology for update %s", update.update_id)
    return True


async def on_outdated_dialog(event: ErrorEvent, lang: str = "zh") -> bool:
    """A button of a dialog that is closed (or forged dialog data): say so, drop the buttons of
    that message, change nothing."""
    query = event.update.callback_query
    if query is not None:
        await query.answer(t("common.button_expired", lang), show_alert=True)
        if isinstance(query.message, Message):
            with contextlib.suppress(TelegramBadRequest):
                await query.message.edit_reply_markup(reply_markup=None)
    return True


def create_error_router() -> Router:
    """The one place failures are answered: a refusal (DomainError) in the user's language,
    anything else with an apology."""
    from bot.handlers.desk import on_refusal

    router = Router(name="errors")
    router.errors.register(on_refusal, ExceptionTypeFilter(DomainError))
    router.errors.register(on_outdated_dialog, ExceptionTypeFilter(UnknownIntent, OutdatedIntent))
    router.errors.register(on_error)
    return router
