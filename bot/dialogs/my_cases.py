"""查询办理进度: the my-cases dialog (aiogram-dialog): the list of the person's cases, a page at a
time, and a case card with status, unit, deadline and, once 办结, the one-tap rating.

Opened by /mycases, the menu, the deep link ``/start case_<code>`` and a case code typed at the
menu (only for people who may see the case). The card is rendered from ``cases.case_view``: a
follower (关注此案) sees code, category, unit and status only; the reporter sees their whole case.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram_dialog import Dialog, DialogManager, StartMode, Window
from aiogram_dialog.widgets.kbd import Select, SwitchTo
from aiogram_dialog.widgets.text import Format
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.county import County
from backend.models import Case, CaseStatus, Person, RatingScore
from backend.services import cases, privacy, runtime
from backend.services.errors import NotAllowed, NotFound
from bot.callbacks import MenuAction, RateCase
from bot.dialogs.flow import excerpt, local_time, natural_deadline
from bot.dialogs.states import MyCasesSG
from bot.dialogs.widgets import (
    L,
    Pages,
    back_to_menu,
    dialog_lang,
    dialog_menu_button,
    main_menu,
    row_id,
)
from bot.filters import PRIVATE_CALLBACK
from bot.texts import Raw, keys, t

LIST_LIMIT = 50  # the newest cases; older ones are on the web
PAGE_SIZE = 5  # cases per page of the list
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


def card_text(view: cases.CaseView, *, lang: str, county: County) -> str:
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
    if view.restricted:
        lines.append(t("cases.card_follower_note", lang))
        return "\n".join(lines)
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
    return "\n".join(lines)


def case_card(
    view: cases.CaseView, *, lang: str, county: County
) -> tuple[str, InlineKeyboardMarkup]:
    """The card as a plain message (shown over a report step, whose dialog goes on)."""
    markup = back_to_menu(lang)
    if view.may_rate:
        markup = InlineKeyboardMarkup(
            inline_keyboard=rating_keyboard(view.case_id, lang).inline_keyboard
            + markup.inline_keyboard
        )
    return card_text(view, lang=lang, county=county), markup


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


async def _view_by_id(
    case_id: int, *, session: AsyncSession, person: Person
) -> cases.CaseView | None:
    try:
        case: Case | None = await cases.get_case(session=session, case_id=case_id)
    except NotFound:
        case = None
    return await visible_view(case, session=session, person=person)


async def send_case_card_by_code(
    message: Message,
    *,
    code: str,
    session: AsyncSession,
    person: Person,
    lang: str,
    dialog_manager: DialogManager,
    menu: bool = True,
) -> None:
    """The card of the case with this code, if the person may see it (deep link case_<code>,
    or a code typed anywhere): the my-cases dialog on its card. ``menu=False`` inside a report
    step: a plain card, and the step is shown again after it.
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
    if not menu:
        text, markup = case_card(view, lang=lang, county=runtime.county())
        await message.answer(Raw(text), reply_markup=markup)
        return
    await dialog_manager.start(
        MyCasesSG.card, data={"case_id": view.case_id}, mode=StartMode.RESET_STACK
    )


async def show_my_cases(
    message: Message,
    *,
    session: AsyncSession,
    person: Person,
    lang: str,
    dialog_manager: DialogManager,
) -> None:
    """/mycases and the menu button: the list dialog (or a friendly word when there is none)."""
    found = await cases.list_cases_for_person(session=session, person=person, limit=1)
    if not found:
        await dialog_manager.reset_stack()
        await message.answer(t("cases.none", lang), reply_markup=main_menu(lang, person))
        return
    await dialog_manager.start(MyCasesSG.list, mode=StartMode.RESET_STACK)


# -- the dialog ---------------------------------------------------------------------------------


async def list_getter(
    dialog_manager: DialogManager, session: AsyncSession, person: Person, **_: Any
) -> dict[str, Any]:
    """The cases of the page shown: a line each (status, category, running clock) + a button."""
    lang = dialog_lang(dialog_manager)
    found = await cases.list_cases_for_person(session=session, person=person, limit=LIST_LIMIT)
    page = await dialog_manager.find("pages").get_page()  # type: ignore[union-attr]
    shown = found[page * PAGE_SIZE : (page + 1) * PAGE_SIZE] or found[:PAGE_SIZE]
    county = runtime.county()
    lines = [t("cases.list_title", lang, count=len(found))]
    for case in shown:
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
    if not found:
        lines = [t("cases.none", lang)]
    buttons = [(t("cases.btn_open", lang, code=case.code), case.id) for case in found]
    return {"listing": "\n".join(lines), "cases": buttons}


async def on_open_case(
    callback: CallbackQuery, _widget: Any, manager: DialogManager, case_id: int
) -> None:
    """查看 <code>: the card, if the person may still see that case (ids are re-checked)."""
    data = manager.middleware_data
    view = await _view_by_id(case_id, session=data["session"], person=data["person"])
    if view is None:
        await callback.answer(t("common.button_expired", dialog_lang(manager)), show_alert=True)
        return
    manager.dialog_data["case_id"] = view.case_id
    await manager.switch_to(MyCasesSG.card)


async def card_getter(
    dialog_manager: DialogManager, session: AsyncSession, person: Person, **_: Any
) -> dict[str, Any]:
    lang = dialog_lang(dialog_manager)
    case_id = int(dialog_manager.dialog_data.get("case_id") or 0)
    view = await _view_by_id(case_id, session=session, person=person) if case_id else None
    if view is None:  # the case went away or is no longer theirs to see
        return {"card": t("common.button_expired", lang), "may_rate": False, "scores": []}
    scores = [(t(f"rate.btn_{score.value}", lang), score.value) for score in RatingScore]
    return {
        "card": card_text(view, lang=lang, county=runtime.county()),
        "may_rate": view.may_rate,
        "scores": scores,
    }


async def on_card_score(
    callback: CallbackQuery, _widget: Any, manager: DialogManager, score: str
) -> None:
    """A rating button on the card: the same rating as the one on the 办结 notice."""
    from bot.dialogs.rating import begin_rating

    if isinstance(callback.message, Message):
        await begin_rating(
            callback,
            callback.message,
            manager,
            case_id=int(manager.dialog_data.get("case_id") or 0),
            score=score,
            stacked=True,
        )


async def _on_start(start_data: Any, manager: DialogManager) -> None:
    """A dialog started on a card (deep link, typed code) knows its case from the start data."""
    if isinstance(start_data, dict) and start_data.get("case_id"):
        manager.dialog_data["case_id"] = int(start_data["case_id"])


def my_cases_dialog() -> Dialog:
    return Dialog(
        Window(
            Format("{listing}"),
            Pages(
                Select(
                    Format("{item[0]}"),
                    id="case",
                    item_id_getter=lambda item: item[1],
                    items="cases",
                    type_factory=row_id,
                    on_click=on_open_case,
                ),
                id="pages",
                width=1,
                height=PAGE_SIZE,
                hide_on_single_page=True,
            ),
            dialog_menu_button(),
            getter=list_getter,
            state=MyCasesSG.list,
        ),
        Window(
            Format("{card}"),
            Select(
                Format("{item[0]}"),
                id="score",
                item_id_getter=lambda item: item[1],
                items="scores",
                on_click=on_card_score,
                when="may_rate",
            ),
            SwitchTo(L("cases.btn_list"), id="to_list", state=MyCasesSG.list),
            dialog_menu_button(),
            getter=card_getter,
            state=MyCasesSG.card,
        ),
        on_start=_on_start,
    )


# -- entries ------------------------------------------------------------------------------------


async def on_menu_mycases(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person,
    lang: str,
    dialog_manager: DialogManager,
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await show_my_cases(
            query.message,
            session=session,
            person=person,
            lang=lang,
            dialog_manager=dialog_manager,
        )


def create_router() -> Router:
    """The menu entry and the dialog (/mycases itself is a command of the start router)."""
    router = Router(name="my_cases")
    router.callback_query.register(
        on_menu_mycases, PRIVATE_CALLBACK, MenuAction.filter(F.action == "mycases")
    )
    router.include_router(my_cases_dialog())
    return router
