"""回访: the resident's one-tap rating after 办结 (满意 / 基本满意 / 不满意 + optional reason).

满意 and 基本满意 close the case; 不满意 asks for a reason (may be skipped) and reopens it (重办).
Every rule (only the reporter, only once, only when resolved) is enforced by workflow.rate.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, ReplyKeyboardRemove
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Person, RatingScore
from backend.services import cases, workflow
from backend.services.errors import DomainError, NotFound
from bot.callbacks import RateCase
from bot.dialogs.flow import Label, is_label_of, reply_keyboard
from bot.dialogs.states import RateSG
from bot.dialogs.widgets import main_menu
from bot.filters import NOT_COMMAND, PRIVATE_MESSAGE, TEXT
from bot.handlers.desk import refusal_text
from bot.texts import t

REASON_CHARS = 500


async def _rate(
    target: Message,
    *,
    session: AsyncSession,
    person: Person,
    case_id: int,
    score: RatingScore,
    reason: str | None,
    lang: str,
) -> None:
    try:
        case = await workflow.rate(
            session=session, actor=person, case_id=case_id, score=score, reason=reason
        )
    except DomainError as exc:
        await target.answer(
            t("rate.failed", lang, reason=refusal_text(exc, lang)),
            reply_markup=ReplyKeyboardRemove(),
        )
        return
    key = "rate.thanks_reopened" if workflow.is_open(case) else "rate.thanks"
    await target.answer(t(key, lang, code=case.code), reply_markup=ReplyKeyboardRemove())
    await target.answer(t("common.menu_title", lang), reply_markup=main_menu(lang, person))


async def on_rate(
    query: CallbackQuery,
    callback_data: RateCase,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
) -> None:
    try:
        score = RatingScore(callback_data.score)
        case = await cases.get_case(session=session, case_id=callback_data.case_id)
    except (ValueError, NotFound):
        await query.answer(t("common.button_expired", lang), show_alert=True)
        return
    if workflow.Action.rate not in workflow.allowed_actions(case, person):
        await query.answer(t("rate.not_open", lang), show_alert=True)
        return
    await query.answer()
    message = query.message if isinstance(query.message, Message) else None
    if message is None:
        return
    await message.edit_reply_markup(reply_markup=None)
    if score == RatingScore.unsatisfied:
        await state.set_state(RateSG.reason)
        await state.update_data(rate_case_id=case.id)
        await message.answer(
            t("rate.ask_reason", lang, code=case.code),
            reply_markup=reply_keyboard(lang, [t("report.btn_skip", lang)]),
        )
        return
    assert case.id is not None
    await _rate(
        message,
        session=session,
        person=person,
        case_id=case.id,
        score=score,
        reason=None,
        lang=lang,
    )


async def on_reason(
    message: Message, state: FSMContext, session: AsyncSession, person: Person, lang: str
) -> None:
    data = await state.get_data()
    await state.clear()
    text = (message.text or "").strip()
    skipped = is_label_of(text, "report.btn_skip")
    await _rate(
        message,
        session=session,
        person=person,
        case_id=int(data.get("rate_case_id") or 0),
        score=RatingScore.unsatisfied,
        reason=None if skipped else text[:REASON_CHARS],
        lang=lang,
    )


async def on_reason_back(message: Message, state: FSMContext, person: Person, lang: str) -> None:
    """⬅️ / ✖ while giving a reason: no rating yet; the buttons stay available in /mycases."""
    await state.clear()
    await message.answer(t("rate.not_rated_yet", lang), reply_markup=ReplyKeyboardRemove())
    await message.answer(t("common.menu_title", lang), reply_markup=main_menu(lang, person))


async def on_reason_other(message: Message, lang: str) -> None:
    await message.answer(t("rate.reason_other", lang))


def create_router() -> Router:
    router = Router(name="rating")
    router.callback_query.register(on_rate, RateCase.filter())
    router.message.filter(PRIVATE_MESSAGE)
    router.message.register(
        on_reason_back,
        RateSG.reason,
        Label("report.btn_back", "report.btn_cancel", extra=("取消", "cancel")),
    )
    router.message.register(on_reason, RateSG.reason, TEXT)
    router.message.register(on_reason_other, RateSG.reason, NOT_COMMAND)
    return router
