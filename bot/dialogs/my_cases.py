"""查询办理进度: /mycases lists the person's cases; a case card shows status, unit and deadline.

Also opened by the deep link ``/start case_<code>`` (only for people who may see the case).
The card is rendered from ``cases.case_view``: a follower (关注此案) sees code, category, unit and
status only; the reporter sees their whole case.
"""

from __future__ import annotations

from datetime import datetime

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.county import County
from backend.models import Case, CaseStatus, Person, RatingScore
from backend.services import cases, privacy, runtime
from backend.services.errors import NotAllowed, NotFound
from bot.callbacks import CaseView, MenuAction, RateCase
from bot.dialogs.flow import excerpt, local_time, natural_deadline
from bot.dialogs.widgets import back_to_menu, main_menu
from bot.filters import PRIVATE_CALLBACK, PRIVATE_MESSAGE
from bot.texts import Raw, keys, t

LIST_LIMIT = 10
RESULT_CHARS = 1500


def status_name(status: CaseStatus, lang: str, *, follower: bool = False) -> str:
    """The status in words; a follower's wording where the locale has one (已办结 without the
    rating that only the reporter gives)."""
    key = f"cases.status_{status.value}"
    if follower and f"{key}_follower" in keys(lang):
        key = f"{key}_follower"
    return t(key, lang)


def deadline_line(
    accept_deadline: datetime | None, handle_deadline: datetime | None, lang: str
) -> str:
    """The clock that runs now (``cases.running_clocks``), in words."""
    tz = runtime.tz()
    if accept_deadline:
        return t("cases.accept_by", lang, when=natural_deadline(accept_deadline, tz, lang))
    if handle_deadline:
        return t("cases.handle_by", lang, when=natural_deadline(handle_deadline, tz, lang))
    return ""


def rating_keyboard(case_id: int, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=t(f"rate.btn_{score.value}", lang),
                    callback_data=RateCase(case_id=case_id, score=score.value).pack(),
                )
                for score in RatingScore
            ]
        ]
    )


def case_card(
    view: cases.CaseView, *, lang: str, county: County
) -> tuple[str, InlineKeyboardMarkup]:
    """The card of ``cases.case_view``: a follower's card has no text, place or result."""
    unit = view.unit
    unit_name = (unit.name_en if lang == "en" and unit.name_en else unit.name) if unit else "-"
    lines = [
        t("cases.card_title", lang, code=view.code),
        t(
            "cases.card_status",
            lang,
            status=status_name(view.status, lang, follower=view.restricted),
        ),
        t("cases.card_category", lang, category=county.category_name(view.category, lang)),
        t("cases.card_unit", lang, unit=unit_name),
    ]
    markup = back_to_menu(lang)
    if view.restricted:
        lines.append(t("cases.card_follower_note", lang))
        return "\n".join(lines), markup
    lines += [
        t("cases.card_created", lang, when=local_time(view.created_at, runtime.tz(), lang)),
        t("cases.card_text", lang, text=excerpt(view.text, 200)),
    ]
    deadline = deadline_line(view.accept_deadline, view.handle_deadline, lang)
    if deadline:
        lines.append(deadline)
    if view.result_text:
        lines.append(t("cases.card_result", lang, result=excerpt(view.result_text, RESULT_CHARS)))
    if view.may_rate:
        lines.append(t("rate.ask", lang))
        markup = InlineKeyboardMarkup(
            inline_keyboard=rating_keyboard(view.case_id, lang).inline_keyboard
            + markup.inline_keyboard
        )
    return "\n".join(lines), markup


async def visible_view(
    case: Case | None, *, session: AsyncSession, person: Person
) -> cases.CaseView | None:
    """The person's view of the case, or None when the case is gone or not theirs to see."""
    if case is None:
        return None
    try:
        return await cases.case_view(session=session, person=person, case=case)
    except NotAllowed:
        return None


async def send_case_card_by_code(
    message: Message,
    *,
    code: str,
    session: AsyncSession,
    person: Person,
    lang: str,
    menu: bool = True,
) -> None:
    """The card of the case with this code, if the person may see it (deep link case_<code>,
    or a code typed anywhere). ``menu=False`` inside a dialog: its step is shown again instead.
    """
    try:
        case: Case | None = await cases.get_case_by_code(
            session=session, code=code.strip().upper()
        )
    except NotFound:
        case = None
    view = await visible_view(case, session=session, person=person)
    if view is None:
        await message.answer(
            t("common.deep_link_not_found", lang, code=code[:40]),
            reply_markup=main_menu(lang, person) if menu else None,
        )
        return
    text, markup = case_card(view, lang=lang, county=runtime.county())
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
        follower = not privacy.is_party(person, case)
        deadline = "" if follower else deadline_line(*cases.running_clocks(case), lang)
        lines.append(
            t(
                "cases.list_line",
                lang,
                code=case.code,
                status=status_name(case.status, lang, follower=follower),
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
        case: Case | None = await cases.get_case(session=session, case_id=callback_data.case_id)
    except NotFound:
        case = None
    view = await visible_view(case, session=session, person=person)
    if view is None:
        await query.answer(t("common.button_expired", lang), show_alert=True)
        return
    await query.answer()
    text, markup = case_card(view, lang=lang, county=county)
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
