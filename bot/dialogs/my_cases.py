"""查询办理进度: /mycases lists the person's cases; a case card shows status, unit and deadline.

Also opened by the deep link ``/start case_<code>`` (only for people who may see the case).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.county import County
from backend.models import Case, Person, RatingScore, Unit
from backend.services import cases, runtime, workflow
from backend.services.errors import NotFound
from bot.callbacks import CaseView, MenuAction, RateCase
from bot.dialogs.flow import excerpt, local_time
from bot.dialogs.widgets import back_to_menu, main_menu
from bot.filters import PRIVATE_CALLBACK, PRIVATE_MESSAGE
from bot.texts import Raw, t

LIST_LIMIT = 10
RESULT_CHARS = 1500


def status_name(case: Case, lang: str) -> str:
    return t(f"cases.status_{case.status.value}", lang)


def deadline_line(case: Case, lang: str) -> str:
    tz = runtime.tz()
    if workflow.awaits_claim(case) and case.accept_deadline:
        return t("cases.accept_by", lang, when=local_time(case.accept_deadline, tz, lang))
    if workflow.is_in_hand(case) and case.handle_deadline:
        return t("cases.handle_by", lang, when=local_time(case.handle_deadline, tz, lang))
    return ""


def rating_keyboard(case: Case, lang: str) -> InlineKeyboardMarkup:
    assert case.id is not None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t(f"rate.btn_{score.value}", lang),
                    callback_data=RateCase(case_id=case.id, score=score.value).pack(),
                )
                for score in RatingScore
            ]
        ]
    )


async def case_card(
    case: Case, *, session: AsyncSession, person: Person, lang: str, county: County
) -> tuple[str, InlineKeyboardMarkup]:
    unit = await session.get(Unit, case.lead_unit_id) if case.lead_unit_id else None
    unit_name = (unit.name_en if lang == "en" and unit.name_en else unit.name) if unit else "-"
    lines = [
        t("cases.card_title", lang, code=case.code),
        t("cases.card_status", lang, status=status_name(case, lang)),
        t("cases.card_category", lang, category=county.category_name(case.category, lang)),
        t("cases.card_unit", lang, unit=unit_name),
        t(
            "cases.card_created",
            lang,
            when=local_time(case.created_at, runtime.tz(), lang),
        ),
        t("cases.card_text", lang, text=excerpt(case.text, 200)),
    ]
    deadline = deadline_line(case, lang)
    if deadline:
        lines.append(deadline)
    if case.result_text and workflow.has_outcome(case):
        lines.append(t("cases.card_result", lang, result=excerpt(case.result_text, RESULT_CHARS)))
    markup = back_to_menu(lang)
    if workflow.Action.rate in workflow.allowed_actions(case, person):
        lines.append(t("rate.ask", lang))
        markup = InlineKeyboardMarkup(
            inline_keyboard=rating_keyboard(case, lang).inline_keyboard + markup.inline_keyboard
        )
    return "\n".join(lines), markup


async def send_case_card_by_code(
    message: Message, *, code: str, session: AsyncSession, person: Person, lang: str
) -> None:
    """The card of the case with this code, if the person may see it (deep link case_<code>)."""
    try:
        case = await cases.get_case_by_code(session=session, code=code.strip().upper())
    except NotFound:
        case = None
    if case is None or not await cases.can_view(person, case, session=session):
        await message.answer(
            t("common.deep_link_not_found", lang, code=code[:40]),
            reply_markup=main_menu(lang, person),
        )
        return
    text, markup = await case_card(
        case, session=session, person=person, lang=lang, county=runtime.county()
    )
    await message.answer(Raw(text), reply_markup=markup)


async def show_my_cases(
    message: Message, *, session: AsyncSession, person: Person, lang: str
) -> None:
    found = await cases.list_cases_for_person(session=session, person=person, limit=LIST_LIMIT)
    if not found:
        await message.answer(t("cases.none", lang), reply_markup=main_menu(lang, person))
        return
    county = runtime.county()
    lines = [t("cases.list_title", lang, count=len(found))]
    buttons = []
    for case in found:
        deadline = deadline_line(case, lang)
        lines.append(
            t(
                "cases.list_line",
                lang,
                code=case.code,
                status=status_name(case, lang),
                category=county.category_name(case.category, lang),
                deadline=Raw(f" · {deadline}") if deadline else "",
            )
        )
        assert case.id is not None
        buttons.append(
            [
                InlineKeyboardButton(
                    text=t("cases.btn_open", lang, code=case.code),
                    callback_data=CaseView(case_id=case.id).pack(),
                )
            ]
        )
    buttons += back_to_menu(lang).inline_keyboard
    await message.answer(
        Raw("\n".join(lines)), reply_markup=InlineKeyboardMarkup(inline_keyboard=buttons)
    )


async def on_mycases(message: Message, session: AsyncSession, person: Person, lang: str) -> None:
    await show_my_cases(message, session=session, person=person, lang=lang)


async def on_menu_mycases(
    query: CallbackQuery, session: AsyncSession, person: Person, lang: str
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await show_my_cases(query.message, session=session, person=person, lang=lang)


async def on_case_view(
    query: CallbackQuery,
    callback_data: CaseView,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    try:
        case = await cases.get_case(session=session, case_id=callback_data.case_id)
    except NotFound:
        case = None
    if case is None or not await cases.can_view(person, case, session=session):
        await query.answer(t("common.button_expired", lang), show_alert=True)
        return
    await query.answer()
    text, markup = await case_card(case, session=session, person=person, lang=lang, county=county)
    if isinstance(query.message, Message):
        await query.message.answer(Raw(text), reply_markup=markup)


def create_router() -> Router:
    router = Router(name="my_cases")
    router.message.filter(PRIVATE_MESSAGE)
    router.callback_query.filter(PRIVATE_CALLBACK)
    router.message.register(on_mycases, Command("mycases"))
    router.callback_query.register(on_menu_mycases, MenuAction.filter(F.action == "mycases"))
    router.callback_query.register(on_case_view, CaseView.filter())
    return router
