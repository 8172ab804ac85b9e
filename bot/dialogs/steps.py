"""Entering a step of the report / grid-worker conversation: set the state, send its prompt.

Handlers in report.py and grid.py collect the input and call :func:`enter` for the next (or
previous) step; nothing here changes the draft except the duplicate check's bookkeeping.
"""

from __future__ import annotations

from typing import Any

from aiogram.fsm.context import FSMContext
from aiogram.types import InlineKeyboardMarkup, KeyboardButton, Message, ReplyKeyboardRemove
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.county import County
from backend.models import Case, Person
from backend.services import catalog, intake
from bot.dialogs.flow import (
    GRID,
    RESIDENT,
    draft_text,
    excerpt,
    flow_button,
    keep_buttons,
    local_time,
    natural_deadline,
    next_step,
    paged,
    place_text,
    preview,
    reply_keyboard,
)
from bot.dialogs.states import GridSG, ReportSG
from bot.texts import Raw, t

RISK_LEVELS = ("red", "orange", "yellow", "blue")


async def enter_after(
    done: str,
    target: Message,
    state: FSMContext,
    *,
    lang: str,
    county: County,
    session: AsyncSession | None,
    person: Person | None,
) -> None:
    """Enter the step that follows ``done`` in this draft's flow (resident or grid worker)."""
    mode = (await state.get_data()).get("mode", RESIDENT)
    await enter(
        next_step(mode, done),
        target,
        state,
        lang=lang,
        county=county,
        session=session,
        person=person,
    )


async def enter(
    step: str,
    target: Message,
    state: FSMContext,
    *,
    lang: str,
    county: County,
    session: AsyncSession | None,
    person: Person | None,
) -> None:
    data = await state.get_data()
    if step == "text":
        await state.set_state(ReportSG.text)
        words = len(draft_text(data))
        key = "report.ask_text_more" if words else "report.ask_text"
        await target.answer(
            t(key, lang, count=words, files=len(data.get("attachments") or [])),
            reply_markup=reply_keyboard(lang, [t("report.btn_next", lang)]),
        )
    elif step == "place":
        await state.set_state(ReportSG.place)
        await target.answer(
            t("report.ask_place", lang),
            reply_markup=reply_keyboard(
                lang,
                [KeyboardButton(text=t("report.btn_location", lang), request_location=True)],
                [t("report.btn_pick_place", lang), t("report.btn_skip", lang)],
            ),
        )
    elif step == "contact":
        await state.set_state(ReportSG.contact)
        await target.answer(
            t("report.ask_contact", lang),
            reply_markup=reply_keyboard(
                lang,
                [KeyboardButton(text=t("report.btn_share_phone", lang), request_contact=True)],
                [t("report.btn_anonymous", lang)],
            ),
        )
    elif step == "task":
        await state.set_state(GridSG.task_group)
        await target.answer(
            t("grid.ask_task_group", lang),
            reply_markup=reply_keyboard(
                lang,
                [t("grid.btn_group_A", lang), t("grid.btn_group_B", lang)],
                [t("grid.btn_group_C", lang), t("report.btn_skip", lang)],
            ),
        )
    elif step == "villager":
        await state.set_state(GridSG.villager)
        await target.answer(
            t("grid.ask_villager", lang),
            reply_markup=reply_keyboard(
                lang, [t("grid.btn_self", lang), t("grid.btn_behalf", lang)]
            ),
        )
    elif step == "risk":
        await state.set_state(GridSG.risk)
        suggested = preview(data, county).risk_level
        await target.answer(
            t("grid.ask_risk", lang, suggested=t(f"grid.risk_{suggested}", lang)),
            reply_markup=reply_keyboard(
                lang,
                [t("grid.btn_risk_red", lang), t("grid.btn_risk_orange", lang)],
                [t("grid.btn_risk_yellow", lang), t("grid.btn_risk_blue", lang)],
                [t("grid.btn_risk_auto", lang)],
            ),
        )
    elif step == "resolution":
        await state.set_state(GridSG.resolution)
        await target.answer(
            t("grid.ask_resolution", lang),
            reply_markup=reply_keyboard(
                lang, [t("grid.btn_resolved", lang), t("grid.btn_escalate", lang)]
            ),
        )
    elif step == "confirm":
        assert session is not None, "the summary step needs a database session"
        await enter_confirm(target, state, lang=lang, county=county, session=session)
    else:  # pragma: no cover - a programming error, not user input
        raise ValueError(f"unknown step {step!r}")


async def enter_confirm(
    target: Message, state: FSMContext, *, lang: str, county: County, session: AsyncSession
) -> None:
    """Before the summary, once per draft: similar open cases nearby (关注此案 / 仍要提交)."""
    data = await state.get_data()
    if not data.get("dup_seen") and not data.get("grid_resolved"):
        routing = preview(data, county)
        similar = await intake.find_similar_open_cases(
            session=session,
            text=draft_text(data),
            category=routing.category,
            township=data.get("township"),
            village=data.get("village"),
            latitude=data.get("lat"),
            longitude=data.get("lon"),
        )
        await state.update_data(dup_seen=True)
        if similar:
            await show_duplicates(target, state, similar, lang=lang, county=county)
            return
    await show_summary(target, state, lang=lang, county=county)


def duplicate_line(case: Case, lang: str, county: County, tz: str) -> str:
    """Code, status, category, township and date: no text, names, numbers or village."""
    place = case.township or "-"  # no place below the township: it could point to a home
    return t(
        "report.duplicate_line",
        lang,
        code=case.code,
        status=t(f"cases.status_{case.status.value}", lang),
        category=county.category_name(case.category, lang),
        place=place,
        date=local_time(case.created_at, tz, lang).split(" ")[0],
    )


async def show_duplicates(
    target: Message, state: FSMContext, similar: list[Case], *, lang: str, county: County
) -> None:
    from backend.services import runtime

    await state.set_state(ReportSG.duplicates)
    await state.update_data(dups={str(c.id): c.code for c in similar})
    lines = "\n".join(duplicate_line(c, lang, county, runtime.tz()) for c in similar)
    rows = [
        [flow_button(t("report.btn_follow", lang, code=c.code), "follow", str(c.id))]
        for c in similar
    ]
    rows.append([flow_button(t("report.btn_submit_anyway", lang), "dup_submit")])
    await target.answer(t("report.duplicates_found", lang), reply_markup=reply_keyboard(lang))
    sent = await target.answer(Raw(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
    await keep_buttons(state, sent)


def summary_text(data: dict[str, Any], lang: str, county: County) -> str:
    from backend.services import runtime

    routing = preview(data, county)
    text = draft_text(data)
    lines = [
        t("report.summary_title", lang),
        t("report.summary_text", lang, text=excerpt(text), count=len(text)),
        t("report.summary_files", lang, count=len(data.get("attachments") or [])),
        t("report.summary_place", lang, place=place_text(data, lang)),
    ]
    if data.get("mode") == GRID:
        if data.get("grid_task"):
            lines.append(t("grid.summary_task", lang, task=str(data.get("grid_task_name") or "")))
        if data.get("on_behalf"):
            who = data.get("villager_name") or t("grid.villager_unnamed", lang)
            lines.append(t("grid.summary_behalf", lang, name=str(who)))
        risk = str(data.get("risk") or routing.risk_level)
        lines.append(t("grid.summary_risk", lang, risk=t(f"grid.risk_{risk}", lang)))
    elif data.get("anonymous"):
        lines.append(t("report.summary_anonymous", lang))
    elif data.get("phone"):
        from backend.services.privacy import mask_phone

        lines.append(t("report.summary_phone", lang, phone=mask_phone(str(data["phone"]))))
    lines.append(
        t("report.summary_category", lang, category=county.category_name(routing.category, lang))
    )
    if data.get("mode") == GRID and data.get("grid_resolved"):
        lines.append(t("grid.summary_resolved", lang, action=str(data.get("grid_action") or "")))
    elif routing.needs_triage:
        lines.append(t("report.summary_triage", lang))
    else:
        lines.append(
            t(
                "report.summary_unit",
                lang,
                unit=county.department_name(routing.unit_code, lang),
                accept_by=natural_deadline(routing.accept_by, runtime.tz(), lang),
            )
        )
    lines.append(t("report.summary_hint", lang))
    return "\n".join(lines)


async def show_summary(target: Message, state: FSMContext, *, lang: str, county: County) -> None:
    await state.set_state(ReportSG.confirm)
    data = await state.get_data()
    await target.answer(t("report.summary_intro", lang), reply_markup=reply_keyboard(lang))
    buttons = InlineKeyboardMarkup(
        inline_keyboard=[
            [flow_button(t("report.btn_submit", lang), "submit")],
            [flow_button(t("report.btn_change_category", lang), "categories")],
        ]
    )
    sent = await target.answer(Raw(summary_text(data, lang, county)), reply_markup=buttons)
    await keep_buttons(state, sent)


async def show_categories(target: Message, state: FSMContext, *, lang: str, page: int) -> None:
    await state.set_state(ReportSG.category)
    choices = catalog.categories()
    labels = [c.name_en if lang == "en" else c.name_zh for c in choices]
    markup = paged(
        labels, action="category", page=page, page_action="category_page", lang=lang, columns=1
    )
    await keep_buttons(
        state, await target.answer(t("report.ask_category", lang), reply_markup=markup)
    )


async def show_townships(target: Message, state: FSMContext, *, lang: str, county: County) -> None:
    await state.set_state(ReportSG.township)
    names = list(county.townships)
    markup = paged(names, action="township", page=0, page_action="township_page", lang=lang)
    await keep_buttons(
        state, await target.answer(t("report.ask_township", lang), reply_markup=markup)
    )


async def show_villages(
    target: Message, state: FSMContext, *, lang: str, county: County, page: int = 0
) -> None:
    data = await state.get_data()
    villages = county.townships.get(str(data.get("township")), [])
    await state.set_state(ReportSG.village)
    markup = paged(
        villages, action="village", page=page, page_action="village_page", lang=lang, columns=3
    )
    markup.inline_keyboard.append(
        [flow_button(t("report.btn_village_unknown", lang), "village_skip")]
    )
    sent = await target.answer(
        t("report.ask_village", lang, township=str(data.get("township"))), reply_markup=markup
    )
    await keep_buttons(state, sent)


async def remove_keyboard_note(target: Message, text: str) -> None:
    """A short acknowledgement that also takes the reply keyboard away."""
    await target.answer(text, reply_markup=ReplyKeyboardRemove())
