"""反映问题: a resident (or grid worker) turns messages into one well-formed case.

describe (text, follow-ups appended, photos/documents/voice attached) → where (location button,
乡镇 → 村, or a typed address) → contact (share phone or anonymous) → similar open cases
(关注此案 / 仍要提交) → summary with the suggested category and unit (不对？换一个) → 提交 →
case code, who handles it, by when. Red-risk text anywhere gets the 110/120/12356 safety message
first from the risk gate (bot/middlewares/risk_gate.py); :func:`keep_red_text` decides where that
text goes and :func:`on_urgent` (🚨 立即报告) files it. The grid-worker steps live in grid.py and
share this module's steps.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.county import County
from backend.models import Case, Person, RiskLevel, Unit
from backend.services import catalog, intake, runtime, workflow
from backend.services.errors import DomainError
from bot.callbacks import Flow, MenuAction
from bot.dialogs import steps
from bot.dialogs.flow import (
    GRID,
    RESIDENT,
    Label,
    answer_query,
    draft_text,
    drop_buttons,
    flow_button,
    is_label,
    keep_buttons,
    leave,
    natural_deadline,
    new_draft,
    next_step,
    parse_index,
    parse_page,
    previous_step,
    reply_keyboard,
    step_of,
    to_report_draft,
)
from bot.dialogs.states import GridSG, ReportSG
from bot.dialogs.widgets import main_menu
from bot.filters import NOT_COMMAND, PRIVATE_CALLBACK, PRIVATE_MESSAGE, TEXT, Magic
from bot.middlewares.risk_gate import remember_alert, take_alert_text, urgent_markup
from bot.texts import t

log = logging.getLogger(__name__)

MAX_DRAFT_CHARS = 20_000
PHONE_RE = re.compile(r"^\+?\d[\d\- ]{6,18}\d$")
IN_FLOW = StateFilter(ReportSG, GridSG)
DRAFT_STATES = frozenset(ReportSG.__all_states_names__) | frozenset(GridSG.__all_states_names__)


# -- starting ----------------------------------------------------------------------------------
async def start_report(
    message: Message,
    state: FSMContext,
    *,
    text: str = "",
    lang: str = "zh",
    mode: str = RESIDENT,
) -> None:
    """Start a new report (optionally with a first description, e.g. from the legal desk)."""
    await state.set_state(ReportSG.text)
    await state.set_data(new_draft(mode, text[:MAX_DRAFT_CHARS]))
    if text.strip():
        await message.answer(
            t("report.started_with_text", lang, count=len(text.strip())),
            reply_markup=reply_keyboard(lang, [t("report.btn_next", lang)]),
        )
    else:
        await message.answer(
            t("report.ask_text", lang, count=0, files=0),
            reply_markup=reply_keyboard(lang, [t("report.btn_next", lang)]),
        )


async def _offer_resume(message: Message, lang: str, mode: str, pending: str = "") -> None:
    """继续 or 重新开始; with a just-typed text: add it to that draft, or start anew with it."""
    if pending:
        text = t("report.resume_with_text", lang, count=len(pending))
        rows = [
            [flow_button(t("report.btn_resume_add", lang), "resume", "add")],
            [flow_button(t("report.btn_restart_with_text", lang), "restart_text")],
        ]
    else:
        text = t("report.resume_or_restart", lang)
        rows = [
            [flow_button(t("report.btn_resume", lang), "resume")],
            [flow_button(t("report.btn_restart", lang), "restart", mode)],
        ]
    await message.answer(text, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


def _has_draft(data: dict[str, Any]) -> bool:
    return bool(draft_text(data) or data.get("attachments"))


async def park_draft(state: FSMContext) -> bool:
    """Leave the flow but keep an unfinished draft (and its step) to offer it again later.

    Returns False when there is nothing worth keeping (the caller then clears the state).
    """
    current = await state.get_state()
    data = await state.get_data()
    if current is None or not current.startswith(("ReportSG:", "GridSG:")) or not _has_draft(data):
        return False
    await state.update_data(parked_state=current)
    await state.set_state(None)
    return True


class ParkedDraft(Filter):
    """An unfinished report is parked (the person left it for the menu)."""

    async def __call__(self, message: Message, state: FSMContext) -> bool:
        return bool((await state.get_data()).get("parked_state"))


async def on_text_beside_parked_draft(message: Message, state: FSMContext, lang: str) -> None:
    """Any text typed outside a dialog while a report is parked: kept, and the resume prompt
    asks where it goes (before the legal desk or the fallback could take or drop it)."""
    if not await offer_parked_draft(message, state, lang, text=message.text or ""):
        await start_report(message, state, text=message.text or "", lang=lang)


async def offer_parked_draft(
    message: Message, state: FSMContext, lang: str, *, text: str = ""
) -> bool:
    """If an unfinished report is parked, offer it and say True.

    A text typed meanwhile is kept (``pending_text``) until the resident says where it goes:
    added to that draft, or the start of a new report. It is never dropped.
    """
    data = await state.get_data()
    if not data.get("parked_state") or not _has_draft(data):
        return False
    pending = text.strip()[:MAX_DRAFT_CHARS]
    await state.update_data(pending_text=pending or None)
    await _offer_resume(message, lang, str(data.get("mode") or RESIDENT), pending)
    return True


async def offer_kept_draft(message: Message, state: FSMContext, lang: str) -> bool:
    """/cancel beside a parked draft: say it is kept and offer 继续填写 / 删除草稿 (True)."""
    data = await state.get_data()
    if await state.get_state() is not None or not data.get("parked_state") or not _has_draft(data):
        return False
    rows = [
        [flow_button(t("report.btn_resume", lang), "resume")],
        [flow_button(t("report.btn_discard_draft", lang), "discard")],
    ]
    await message.answer(
        t(
            "report.draft_kept",
            lang,
            count=len(draft_text(data)),
            files=len(data.get("attachments") or []),
        ),
        reply_markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )
    return True


async def on_discard_draft(
    query: CallbackQuery, state: FSMContext, person: Person, lang: str
) -> None:
    """删除草稿: only a parked draft (pressed twice, or after resuming: the button is stale)."""
    if await state.get_state() is not None or not (await state.get_data()).get("parked_state"):
        await query.answer(t("common.button_expired", lang), show_alert=True)
        return
    message = await answer_query(query)
    if message is not None:
        await drop_buttons(message, state, alerts=True)
    await state.clear()
    if message is not None:
        await message.edit_reply_markup(reply_markup=None)
        await message.answer(
            t("report.draft_discarded", lang), reply_markup=main_menu(lang, person)
        )


async def begin_report(
    message: Message, state: FSMContext, *, lang: str, mode: str, person: Person | None = None
) -> None:
    data = await state.get_data()
    current = await state.get_state()
    in_flow = current is not None or bool(data.get("parked_state"))
    if in_flow and _has_draft(data):
        await _offer_resume(message, lang, mode)
        return
    if mode == GRID:
        from bot.dialogs.grid import start_grid_report

        await start_grid_report(message, state, lang=lang, person=person)
        return
    await start_report(message, state, lang=lang)


async def on_menu_report(query: CallbackQuery, state: FSMContext, lang: str) -> None:
    message = await answer_query(query)
    if message is not None:
        await begin_report(message, state, lang=lang, mode=RESIDENT)


async def on_report_command(message: Message, state: FSMContext, lang: str) -> None:
    await begin_report(message, state, lang=lang, mode=RESIDENT)


async def on_resume(
    query: CallbackQuery,
    callback_data: Flow,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    """继续填写 (arg "add": with the text typed at the prompt added to the draft first)."""
    message = await answer_query(query)
    if message is None:
        return
    await message.edit_reply_markup(reply_markup=None)
    data = await state.get_data()
    current = await state.get_state() or data.get("parked_state")
    pending = str(data.get("pending_text") or "") if callback_data.arg == "add" else ""
    await state.update_data(parked_state=None, pending_text=None)
    if not _has_draft(data):
        await start_report(message, state, text=pending, lang=lang)
        return
    if pending and len(draft_text(data)) + len(pending) > MAX_DRAFT_CHARS:
        await message.answer(t("report.text_too_long", lang))
    elif pending:
        await state.update_data(parts=[*(data.get("parts") or []), pending])
        await message.answer(t("report.resume_text_added", lang))
    await steps.enter(
        step_of(current) or "text",
        message,
        state,
        lang=lang,
        county=county,
        session=session,
        person=person,
    )


async def on_restart(
    query: CallbackQuery, callback_data: Flow, state: FSMContext, person: Person, lang: str
) -> None:
    message = await answer_query(query)
    if message is None:
        return
    await message.edit_reply_markup(reply_markup=None)
    await drop_buttons(message, state)
    await state.clear()
    await begin_report(
        message,
        state,
        lang=lang,
        mode=GRID if callback_data.arg == GRID else RESIDENT,
        person=person,
    )


async def on_restart_with_text(query: CallbackQuery, state: FSMContext, lang: str) -> None:
    """重新开始 with the text typed at the resume prompt as the new description."""
    data = await state.get_data()
    pending = str(data.get("pending_text") or "")
    if not pending:  # pressed twice, or an old prompt: never wipe the report it started
        await query.answer(t("common.button_expired", lang), show_alert=True)
        return
    message = await answer_query(query)
    if message is None:
        return
    await message.edit_reply_markup(reply_markup=None)
    mode = GRID if data.get("mode") == GRID else RESIDENT
    await drop_buttons(message, state)
    await state.clear()
    await start_report(message, state, text=pending, lang=lang, mode=mode)


# -- the risk gate's red text --------------------------------------------------------------------
async def keep_red_text(message: Message, state: FSMContext, text: str, lang: str) -> bool:
    """Where a red text goes once the risk gate has shown the safety message; True: kept here.

    Outside any dialog it starts a report (photo included), or waits at the resume prompt beside
    a parked draft. At a report step that asks something else (place, contact, risk, …) it is
    added to the draft and that step still answers. The describe step and the other dialogs
    (a legal question, a rating reason) take it themselves: False lets their handler run.
    """
    current = await state.get_state()
    if current is None:
        if await offer_parked_draft(message, state, lang, text=text):
            return True
        await start_report(message, state, text=text, lang=lang)
        if _media_of(message) is not None:
            await _attach(message, state, caption=False)
        return True
    if current in DRAFT_STATES and current != ReportSG.text.state:
        data = await state.get_data()
        if len(draft_text(data)) + len(text) <= MAX_DRAFT_CHARS:
            await state.update_data(parts=[*(data.get("parts") or []), text])
            await message.answer(t("report.risk_text_added", lang))
    return False


# -- leaving and going back --------------------------------------------------------------------
async def on_cancel_label(message: Message, state: FSMContext, person: Person, lang: str) -> None:
    await leave(message, state, lang, person)


async def on_back_label(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    data = await state.get_data()
    step = previous_step(data.get("mode", RESIDENT), await state.get_state())
    if step is None:  # before the first step: the main menu, the draft kept (never cancelled)
        if not await park_draft(state):
            await leave(message, state, lang, person)
            return
        await message.answer(t("report.parked", lang), reply_markup=ReplyKeyboardRemove())
        await message.answer(t("common.menu_title", lang), reply_markup=main_menu(lang, person))
        return
    await steps.enter(
        step, message, state, lang=lang, county=county, session=session, person=person
    )


# -- step 1: describe --------------------------------------------------------------------------
async def _ack(message: Message, state: FSMContext, lang: str) -> None:
    """ "Noted (n characters, m attachments)" — once per album, not once per photo in it."""
    data = await state.get_data()
    if message.media_group_id:
        if data.get("album") == message.media_group_id:
            return
        await state.update_data(album=message.media_group_id)
    await message.answer(
        t(
            "report.text_saved",
            lang,
            count=len(draft_text(data)),
            files=len(data.get("attachments") or []),
        )
    )


async def on_text(message: Message, state: FSMContext, lang: str) -> None:
    text = (message.text or "").strip()
    data = await state.get_data()
    if len(draft_text(data)) + len(text) > MAX_DRAFT_CHARS:
        await message.answer(t("report.text_too_long", lang))
        return
    await state.update_data(parts=[*(data.get("parts") or []), text])
    await _ack(message, state, lang)


def _media_of(message: Message) -> dict[str, str] | None:
    """The file a message carries, as a draft attachment (kind, file_id, file_name)."""
    if message.photo:
        return {"kind": "photo", "file_id": message.photo[-1].file_id}
    if message.document is not None:
        found = {"kind": "document", "file_id": message.document.file_id}
        if message.document.file_name:
            found["file_name"] = message.document.file_name[:200]
        return found
    if message.video is not None:
        return {"kind": "video", "file_id": message.video.file_id}
    media = message.voice or message.audio or message.video_note
    return {"kind": "voice", "file_id": media.file_id} if media is not None else None


async def _attach(message: Message, state: FSMContext, *, caption: bool = True) -> None:
    """Add the message's file (and its caption, to the description) to the draft."""
    data = await state.get_data()
    attachments = list(data.get("attachments") or [])
    media = _media_of(message)
    if media is not None:
        attachments.append(media)
    parts = list(data.get("parts") or [])
    if caption and message.caption and message.caption.strip():
        parts.append(message.caption.strip())
    await state.update_data(attachments=attachments, parts=parts)


async def on_photo(message: Message, state: FSMContext, lang: str) -> None:
    await _attach(message, state)
    await _ack(message, state, lang)


async def on_document(message: Message, state: FSMContext, lang: str) -> None:
    await _attach(message, state)
    await _ack(message, state, lang)


async def on_voice(message: Message, state: FSMContext, lang: str) -> None:
    await _attach(message, state)
    await message.answer(t("report.voice_kept", lang))


async def on_text_other(message: Message, lang: str) -> None:
    await message.answer(t("report.text_other", lang))


async def on_text_next(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    data = await state.get_data()
    if not draft_text(data):
        key = "report.need_text_after_files" if data.get("attachments") else "report.need_text"
        await message.answer(t(key, lang))
        return
    await steps.enter(
        next_step(data.get("mode", RESIDENT), "text"),
        message,
        state,
        lang=lang,
        county=county,
        session=session,
        person=person,
    )


# -- step 2: where -----------------------------------------------------------------------------
async def on_location(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    assert message.location is not None
    lat, lon = message.location.latitude, message.location.longitude
    if not county.point_in_county(lat, lon):
        await message.answer(t("report.location_outside", lang))
        return
    near = county.townships_near(lat, lon)
    if len(near) > 1:
        # between two townships: the resident says which (or picks another from the list)
        await state.update_data(lat=lat, lon=lon, township=None, village=None, near=list(near))
        sent = await message.answer(
            t("report.location_between", lang, first=near[0], second=near[1]),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [flow_button(name, "near", str(i)) for i, name in enumerate(near)],
                    [flow_button(t("report.btn_other_township", lang), "near_other")],
                ]
            ),
        )
        await keep_buttons(state, sent)
        return
    township = near[0] if near else None
    await state.update_data(lat=lat, lon=lon, township=township, village=None, near=None)
    await message.answer(t("report.location_saved", lang, township=township or "-"))
    await steps.enter_after(
        "place", message, state, lang=lang, county=county, session=session, person=person
    )


async def on_near(
    query: CallbackQuery,
    callback_data: Flow,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    """One of the two townships offered for a location between them."""
    near = [n for n in (await state.get_data()).get("near") or [] if n in county.townships]
    index = parse_index(callback_data.arg, len(near))
    if index is None:
        await query.answer(t("common.button_expired", lang), show_alert=True)
        return
    message = await answer_query(query)
    await state.update_data(township=near[index], village=None, near=None)
    if message is not None:
        await message.edit_reply_markup(reply_markup=None)
        await message.answer(t("report.place_saved", lang, place=near[index]))
        await steps.enter_after(
            "place", message, state, lang=lang, county=county, session=session, person=person
        )


async def on_near_other(
    query: CallbackQuery, state: FSMContext, lang: str, county: County
) -> None:
    """Neither of the two: the full township list."""
    message = await answer_query(query)
    await state.update_data(near=None)
    if message is not None:
        await message.edit_reply_markup(reply_markup=None)
        await steps.show_townships(message, state, lang=lang, county=county)


def _guess_place(text: str, county: County) -> tuple[str | None, str | None]:
    """乡镇 and 村 named in a typed address, if any (the county's own names)."""
    township = next((name for name in county.townships if name in text), None)
    if township is None:
        short = {name[:-1]: name for name in county.townships if len(name) > 2}
        township = next((full for part, full in short.items() if part in text), None)
    candidates = (
        county.townships.get(township, [])
        if township
        else [v for villages in county.townships.values() for v in villages]
    )
    village = next((v for v in candidates if v in text), None)
    if village and not township:
        township = county.township_of_village(village)
    return township, village


async def on_address(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    address = (message.text or "").strip()[:250]
    township, village = _guess_place(address, county)
    await state.update_data(address=address, township=township, village=village)
    await steps.enter_after(
        "place", message, state, lang=lang, county=county, session=session, person=person
    )


async def on_pick_place(message: Message, state: FSMContext, lang: str, county: County) -> None:
    await steps.show_townships(message, state, lang=lang, county=county)


async def on_skip_place(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    await steps.enter_after(
        "place", message, state, lang=lang, county=county, session=session, person=person
    )


async def on_place_other(message: Message, lang: str) -> None:
    await message.answer(t("report.place_other", lang))


async def on_township(
    query: CallbackQuery, callback_data: Flow, state: FSMContext, lang: str, county: County
) -> None:
    names = list(county.townships)
    index = parse_index(callback_data.arg, len(names))
    if index is None:
        await query.answer(t("common.button_expired", lang), show_alert=True)
        return
    message = await answer_query(query)
    await state.update_data(township=names[index], village=None, lat=None, lon=None)
    if message is not None:
        await message.edit_reply_markup(reply_markup=None)
        await steps.show_villages(message, state, lang=lang, county=county)


async def on_village_page(
    query: CallbackQuery, callback_data: Flow, state: FSMContext, lang: str, county: County
) -> None:
    message = await answer_query(query)
    page = parse_page(callback_data.arg)
    if message is not None:
        await message.edit_reply_markup(reply_markup=None)
        await steps.show_villages(message, state, lang=lang, county=county, page=page)


async def on_village(
    query: CallbackQuery,
    callback_data: Flow,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    data = await state.get_data()
    villages = county.townships.get(str(data.get("township")), [])
    index = parse_index(callback_data.arg, len(villages))
    if index is None:
        await query.answer(t("common.button_expired", lang), show_alert=True)
        return
    message = await answer_query(query)
    await state.update_data(village=villages[index])
    if message is not None:
        await message.edit_reply_markup(reply_markup=None)
        await message.answer(
            t("report.place_saved", lang, place=f"{data.get('township')} {villages[index]}")
        )
        await steps.enter_after(
            "place", message, state, lang=lang, county=county, session=session, person=person
        )


async def on_village_skip(
    query: CallbackQuery,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    message = await answer_query(query)
    if message is not None:
        await message.edit_reply_markup(reply_markup=None)
        await steps.enter_after(
            "place", message, state, lang=lang, county=county, session=session, person=person
        )


# -- step 3: contact ---------------------------------------------------------------------------
async def on_contact(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    assert message.contact is not None and message.from_user is not None
    if message.contact.user_id not in (None, message.from_user.id):
        await message.answer(t("report.contact_not_own", lang))
        return
    await state.update_data(phone=message.contact.phone_number[:32], anonymous=False)
    await message.answer(t("report.contact_saved", lang), reply_markup=ReplyKeyboardRemove())
    await steps.enter_after(
        "contact", message, state, lang=lang, county=county, session=session, person=person
    )


async def on_typed_phone(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    text = (message.text or "").strip()
    if not PHONE_RE.match(text):
        await message.answer(t("report.contact_other", lang))
        return
    await state.update_data(phone=text[:32], anonymous=False)
    await message.answer(t("report.contact_saved", lang), reply_markup=ReplyKeyboardRemove())
    await steps.enter_after(
        "contact", message, state, lang=lang, county=county, session=session, person=person
    )


async def on_anonymous(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    await state.update_data(anonymous=True, phone=None)
    await message.answer(t("report.anonymous_saved", lang), reply_markup=ReplyKeyboardRemove())
    await steps.enter_after(
        "contact", message, state, lang=lang, county=county, session=session, person=person
    )


async def on_contact_other(message: Message, lang: str) -> None:
    await message.answer(t("report.contact_other", lang))


# -- duplicates, category, summary ---------------------------------------------------------------
async def on_follow(
    query: CallbackQuery,
    callback_data: Flow,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
) -> None:
    dups = (await state.get_data()).get("dups") or {}
    code = dups.get(callback_data.arg)
    if code is None:
        await query.answer(t("common.button_expired", lang), show_alert=True)
        return
    message = await answer_query(query)
    try:
        case = await intake.follow_case(session=session, person=person, case_code=code)
    except DomainError as exc:
        if message is not None:
            await message.answer(t("report.follow_failed", lang, reason=exc.message))
        return
    if message is not None:
        await drop_buttons(message, state)
    await state.clear()
    if message is not None:
        await message.edit_reply_markup(reply_markup=None)
        await message.answer(
            t("report.followed", lang, code=case.code), reply_markup=ReplyKeyboardRemove()
        )
        await message.answer(t("common.menu_title", lang), reply_markup=main_menu(lang, person))


async def on_submit_anyway(
    query: CallbackQuery, state: FSMContext, lang: str, county: County
) -> None:
    message = await answer_query(query)
    if message is not None:
        await message.edit_reply_markup(reply_markup=None)
        await steps.show_summary(message, state, lang=lang, county=county)


async def on_categories(
    query: CallbackQuery, callback_data: Flow, state: FSMContext, lang: str
) -> None:
    message = await answer_query(query)
    if message is None:
        return
    if not catalog.categories():
        await message.answer(t("report.no_categories", lang))
        return
    page = parse_page(callback_data.arg)
    if callback_data.action == "category_page":
        await message.edit_reply_markup(reply_markup=None)
    await steps.show_categories(message, state, lang=lang, page=page)


async def on_category(
    query: CallbackQuery, callback_data: Flow, state: FSMContext, lang: str, county: County
) -> None:
    choices = catalog.categories()
    index = parse_index(callback_data.arg, len(choices))
    if index is None:
        await query.answer(t("common.button_expired", lang), show_alert=True)
        return
    message = await answer_query(query)
    await state.update_data(category_override=choices[index].code)
    if message is not None:
        await message.edit_reply_markup(reply_markup=None)
        await steps.show_summary(message, state, lang=lang, county=county)


async def on_confirm_other(message: Message, lang: str) -> None:
    await message.answer(t("report.confirm_other", lang))


# -- submitting ----------------------------------------------------------------------------------
async def submit(
    message: Message,
    state: FSMContext,
    *,
    session: AsyncSession,
    person: Person,
    lang: str,
) -> Case | None:
    """File the draft as a case; on refusal keep the draft and say why."""
    case = await _file(message, await state.get_data(), session=session, person=person, lang=lang)
    if case is None:
        return None
    await drop_buttons(message, state)
    await state.clear()
    await _announce(message, case, session=session, person=person, lang=lang)
    return case


async def _file(
    message: Message, data: dict[str, Any], *, session: AsyncSession, person: Person, lang: str
) -> Case | None:
    """Submit a draft (FSM data) as a case; None, with the reason told, when it is refused."""
    try:
        case = await intake.submit_report(
            session=session, reporter=person, draft=to_report_draft(data)
        )
    except DomainError as exc:
        await message.answer(t("report.submit_failed", lang, reason=exc.message))
        return None
    log.info("case %s submitted by person %s", case.code, person.id)
    return case


async def _announce(
    message: Message, case: Case, *, session: AsyncSession, person: Person, lang: str
) -> None:
    await message.answer(
        submitted_text(case, await _unit(session, case), lang), reply_markup=ReplyKeyboardRemove()
    )
    await message.answer(t("common.menu_title", lang), reply_markup=main_menu(lang, person))


async def _unit(session: AsyncSession, case: Case) -> Unit | None:
    return await session.get(Unit, case.lead_unit_id) if case.lead_unit_id else None


def submitted_text(case: Case, unit: Unit | None, lang: str) -> str:
    unit_name = (unit.name_en if lang == "en" and unit.name_en else unit.name) if unit else ""
    if workflow.settled_on_the_spot(case):
        text = t("grid.submitted_resolved", lang, code=case.code)
    elif workflow.in_triage(case):
        text = t("report.submitted_triage", lang, code=case.code)
    else:
        text = t(
            "report.submitted",
            lang,
            code=case.code,
            unit=unit_name,
            accept_by=natural_deadline(case.accept_deadline, runtime.tz(), lang),
        )
    if case.risk_level == RiskLevel.red and not workflow.settled_on_the_spot(case):
        text += "\n" + t("report.submitted_red", lang)
    return text


async def on_submit(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, person: Person, lang: str
) -> None:
    message = await answer_query(query)
    if message is None:
        return
    await message.edit_reply_markup(reply_markup=None)
    await submit(message, state, session=session, person=person, lang=lang)


async def on_urgent(
    query: CallbackQuery, state: FSMContext, session: AsyncSession, person: Person, lang: str
) -> None:
    """🚨 立即报告: file it now; the center is alerted by the red risk at once.

    In a report the draft (which holds the red text) is filed. Anywhere else (legal
    consultation, rating, the resume prompt beside a parked draft) the red text behind this
    button is filed on its own, and the conversation there is left as it was.
    """
    message = query.message if isinstance(query.message, Message) else None
    data = await state.get_data()
    in_draft = await state.get_state() in DRAFT_STATES and _has_draft(data)
    text = await take_alert_text(state, message.message_id) if message is not None else None
    if message is None or (text is None and not in_draft):
        await query.answer(t("common.button_expired", lang), show_alert=True)
        return
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    if in_draft and (text is None or text in draft_text(data)):
        if data.get("mode") == GRID:  # 🚨 goes to the center as red, not as 就地化解 record
            await state.update_data(grid_resolved=False, risk="red")
        if await submit(message, state, session=session, person=person, lang=lang) is None:
            await _offer_again(message, state, text, lang)
        return
    assert text is not None
    lone = new_draft(RESIDENT, text)
    case = await _file(message, lone, session=session, person=person, lang=lang)
    if case is None:
        await _offer_again(message, state, text, lang)
        return
    if data.get("pending_text") == text:  # filed: no longer waiting at the resume prompt
        await state.update_data(pending_text=None)
    await _announce(message, case, session=session, person=person, lang=lang)


async def _offer_again(message: Message, state: FSMContext, text: str | None, lang: str) -> None:
    """Filing failed (the reason was told): the button works again for another try."""
    if text is not None:
        await remember_alert(state, message.message_id, text)
    await message.edit_reply_markup(reply_markup=urgent_markup(lang))


def create_router() -> Router:
    router = Router(name="report")
    router.message.filter(PRIVATE_MESSAGE)
    router.callback_query.filter(PRIVATE_CALLBACK)
    cb, msg = router.callback_query, router.message

    cb.register(on_menu_report, MenuAction.filter(F.action == "report"))
    msg.register(on_report_command, Command("report"))
    msg.register(on_text_beside_parked_draft, StateFilter(None), TEXT, ParkedDraft())
    cb.register(on_resume, Flow.filter(F.action == "resume"))
    cb.register(on_restart, Flow.filter(F.action == "restart"))
    cb.register(on_restart_with_text, Flow.filter(F.action == "restart_text"))
    cb.register(on_discard_draft, Flow.filter(F.action == "discard"))
    cb.register(on_urgent, Flow.filter(F.action == "urgent"))  # in every state (risk gate)

    # every step: ✖ 取消 and ⬅️ 上一步 (reply-keyboard labels, or typed 取消)
    msg.register(on_cancel_label, IN_FLOW, Label("report.btn_cancel", extra=("取消", "cancel")))
    msg.register(on_back_label, IN_FLOW, Label("report.btn_back", extra=("返回", "上一步")))

    # describe
    msg.register(on_text_next, ReportSG.text, Label("report.btn_next", extra=("下一步",)))
    msg.register(on_text, ReportSG.text, TEXT)
    msg.register(on_photo, ReportSG.text, Magic(F.photo))
    msg.register(on_document, ReportSG.text, Magic(F.document | F.video))
    msg.register(on_voice, ReportSG.text, Magic(F.voice | F.audio | F.video_note))
    msg.register(on_text_other, ReportSG.text, NOT_COMMAND)

    # where
    place_states = StateFilter(ReportSG.place, ReportSG.township, ReportSG.village)
    msg.register(on_location, place_states, Magic(F.location))
    msg.register(on_pick_place, place_states, Label("report.btn_pick_place"))
    msg.register(on_skip_place, place_states, Label("report.btn_skip"))
    msg.register(on_address, place_states, TEXT)
    msg.register(on_place_other, place_states, NOT_COMMAND)
    cb.register(on_near, place_states, Flow.filter(F.action == "near"))
    cb.register(on_near_other, place_states, Flow.filter(F.action == "near_other"))
    cb.register(on_township, ReportSG.township, Flow.filter(F.action == "township"))
    cb.register(on_village, ReportSG.village, Flow.filter(F.action == "village"))
    cb.register(on_village_page, ReportSG.village, Flow.filter(F.action == "village_page"))
    cb.register(on_village_skip, ReportSG.village, Flow.filter(F.action == "village_skip"))

    # contact
    msg.register(on_contact, ReportSG.contact, Magic(F.contact))
    msg.register(on_anonymous, ReportSG.contact, Label("report.btn_anonymous"))
    msg.register(on_typed_phone, ReportSG.contact, TEXT)
    msg.register(on_contact_other, ReportSG.contact, NOT_COMMAND)

    # duplicates, category, summary
    cb.register(on_follow, ReportSG.duplicates, Flow.filter(F.action == "follow"))
    cb.register(on_submit_anyway, ReportSG.duplicates, Flow.filter(F.action == "dup_submit"))
    cb.register(
        on_categories,
        StateFilter(ReportSG.confirm, ReportSG.category),
        Flow.filter(F.action.in_({"categories", "category_page"})),
    )
    cb.register(on_category, ReportSG.category, Flow.filter(F.action == "category"))
    cb.register(on_submit, ReportSG.confirm, Flow.filter(F.action == "submit"))
    msg.register(
        on_confirm_other,
        StateFilter(ReportSG.confirm, ReportSG.duplicates, ReportSG.category),
        NOT_COMMAND,
    )
    return router


__all__ = ["create_router", "is_label", "start_report", "submit", "submitted_text"]
