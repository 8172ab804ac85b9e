"""回访: the resident's one-tap rating after 办结 (满意 / 基本满意 / 不满意 + optional reason).

The rating buttons sit on the 办结 notice (a plain message from the notifier, typed ``RateCase``
callback data) and on the case card of the my-cases dialog. 满意 and 基本满意 close the case at
once; 不满意 opens the reason dialog (type a reason or 跳过) and reopens the case (重办).
Every rule (only the reporter, only once, only when resolved) is the workflow's: the buttons
ask ``workflow.allowed_actions`` first, and a refusal that slips through a race goes to the one
refusal handler (``bot.handlers.desk.on_refusal``).
"""

from __future__ import annotations

import contextlib
from typing import Any

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, Message
from aiogram_dialog import Dialog, DialogManager, ShowMode, StartMode, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Row

from backend.models import Person, RatingScore
from backend.services import cases, workflow
from backend.services.errors import NotFound
from bot.callbacks import RateCase
from bot.dialogs.states import RateSG
from bot.dialogs.widgets import L, dialog_lang, show_main_menu
from bot.filters import PRIVATE_CALLBACK
from bot.texts import t

REASON_CHARS = 500


async def rate_case(
    message: Message,
    manager: DialogManager,
    *,
    case_id: int,
    score: RatingScore,
    reason: str | None,
) -> None:
    """Record the rating, close the dialogs and thank once; the menu follows."""
    data = manager.middleware_data
    case = await workflow.rate(
        session=data["session"], actor=data["person"], case_id=case_id, score=score, reason=reason
    )
    key = "rate.thanks_reopened" if workflow.is_open(case) else "rate.thanks"
    await show_main_menu(message, manager, note=t(key, dialog_lang(manager), code=case.code))


async def begin_rating(
    callback: CallbackQuery,
    message: Message,
    manager: DialogManager,
    *,
    case_id: int,
    score: str,
    stacked: bool,
) -> None:
    """A rating button (notice or card): 不满意 asks for a reason first, the others rate now.

    ``stacked``: pressed on the card of the my-cases dialog, which the reason step returns to.
    """
    data = manager.middleware_data
    person: Person = data["person"]
    lang = dialog_lang(manager)
    try:
        rating = RatingScore(score)
        case = await cases.get_case(session=data["session"], case_id=case_id)
    except (ValueError, NotFound):
        await callback.answer(t("common.button_expired", lang), show_alert=True)
        return
    if workflow.Action.rate not in workflow.allowed_actions(case, person):
        await callback.answer(t("rate.not_open", lang), show_alert=True)
        return
    assert case.id is not None
    if rating == RatingScore.unsatisfied:
        await callback.answer()
        if stacked:
            await manager.start(RateSG.reason, data={"case_id": case.id, "code": case.code})
            return
        with contextlib.suppress(TelegramBadRequest):  # the notice keeps its text, not its buttons
            await message.edit_reply_markup(reply_markup=None)
        await manager.start(
            RateSG.reason,
            data={"case_id": case.id, "code": case.code},
            mode=StartMode.RESET_STACK,
            show_mode=ShowMode.SEND,
        )
        return
    await rate_case(message, manager, case_id=case.id, score=rating, reason=None)
    await callback.answer()


async def on_rate(
    query: CallbackQuery, callback_data: RateCase, dialog_manager: DialogManager
) -> None:
    """A rating button on the 办结 notice."""
    if isinstance(query.message, Message):
        await begin_rating(
            query,
            query.message,
            dialog_manager,
            case_id=callback_data.case_id,
            score=callback_data.score.value,
            stacked=False,
        )


# -- the reason dialog --------------------------------------------------------------------------


def _case_id(manager: DialogManager) -> int:
    start = manager.start_data
    return int(start.get("case_id") or 0) if isinstance(start, dict) else 0


async def on_reason(message: Message, _widget: Any, manager: DialogManager) -> None:
    text = (message.text or "").strip()
    if not text or text.startswith("/"):
        await message.answer(t("rate.reason_other", dialog_lang(manager)))
        manager.show_mode = ShowMode.NO_UPDATE
        return
    await rate_case(
        message,
        manager,
        case_id=_case_id(manager),
        score=RatingScore.unsatisfied,
        reason=text[:REASON_CHARS],
    )


async def on_skip(callback: CallbackQuery, _button: Any, manager: DialogManager) -> None:
    if isinstance(callback.message, Message):
        await rate_case(
            callback.message,
            manager,
            case_id=_case_id(manager),
            score=RatingScore.unsatisfied,
            reason=None,
        )


async def on_later(callback: CallbackQuery, _button: Any, manager: DialogManager) -> None:
    """先不评价: back to the case card when it was opened there, else a word and the menu."""
    if len(manager.current_stack().intents) > 1:
        await manager.done()
        return
    if isinstance(callback.message, Message):
        lang = dialog_lang(manager)
        await show_main_menu(callback.message, manager, note=t("rate.not_rated_yet", lang))


async def reason_getter(dialog_manager: DialogManager, **_: Any) -> dict[str, Any]:
    start = dialog_manager.start_data
    return {"code": start.get("code", "") if isinstance(start, dict) else ""}


def rating_dialog() -> Dialog:
    return Dialog(
        Window(
            L("rate.ask_reason", "code"),
            Row(
                Button(L("report.btn_skip"), id="skip", on_click=on_skip),
                Button(L("rate.btn_later"), id="later", on_click=on_later),
            ),
            MessageInput(on_reason),
            getter=reason_getter,
            state=RateSG.reason,
        ),
    )


def create_router() -> Router:
    router = Router(name="rating")
    router.callback_query.register(on_rate, PRIVATE_CALLBACK, RateCase.filter())
    router.include_router(rating_dialog())
    return router
