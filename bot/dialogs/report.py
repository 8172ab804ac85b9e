"""反映问题: a resident (or grid worker) turns messages into one well-formed case.

describe (text, follow-ups appended, photos/documents/voice attached) → where (location button,
乡镇 → 村, or a typed address) → contact (share phone or anonymous) → similar open cases
(关注此案 / 仍要提交) → summary with the suggested category and unit (不对？换一个) → 提交 →
case code, who handles it, by when. Red-risk text gets the 110/120/12356 safety message first.
The grid-worker steps live in grid.py and share this module's steps.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
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
    flow_button,
    is_label,
    leave,
    local_time,
    new_draft,
    next_step,
    parse_index,
    preview,
    previous_step,
    reply_keyboard,
    step_of,
    to_report_draft,
)
from bot.dialogs.states import GridSG, ReportSG
from bot.dialogs.widgets import main_menu
from bot.filters import NOT_COMMAND, PRIVATE_CALLBACK, PRIVATE_MESSAGE, TEXT, Magic
from bot.texts import t

log = logging.getLogger(__name__)

MAX_DRAFT_CHARS = 20_000
PHONE_RE = re.compile(r"^\+?\d[\d\- ]{6,18}\d$")
IN_FLOW = StateFilter(ReportSG, GridSG)


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
        await _safety_check(message, state, lang=lang, county=runtime.county())
    else:
        await message.answer(
            t("report.ask_text", lang, count=0, files=0),
            reply_markup=reply_keyboard(lang, [t("report.btn_next", lang)]),
        )


async def _offer_resume(message: Message, lang: str, mode: str) -> None:
    await message.answer(
        t("report.resume_or_restart", lang),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [flow_button(t("report.btn_resume", lang), "resume")],
                [flow_button(t("report.btn_restart", lang), "restart", mode)],
            ]
        ),
    )


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


async def offer_parked_draft(message: Message, state: FSMContext, lang: str) -> bool:
    """If an unfinished report is parked, offer it (continue or start over) and say True."""
    data = await state.get_data()
    if not data.get("parked_state") or not _has_draft(data):
        return False
    await _offer_resume(message, lang, str(data.get("mode") or RESIDENT))
    return True


async def begin_report(message: Message, state: FSMContext, *, lang: str, mode: str) -> None:
    data = await state.get_data()
    current = await state.get_state()
    in_flow = current is not None or bool(data.get("parked_state"))
    if in_flow and _has_draft(data):
        await _offer_resume(message, lang, mode)
        return
    if mode == GRID:
        from bot.dialogs.grid import start_grid_report

        await start_grid_report(message, state, lang=lang)
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
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    message = await answer_query(query)
    if message is None:
        return
    await message.edit_reply_markup(reply_markup=None)
    data = await state.get_data()
    current = await state.get_state() or data.get("parked_state")
    await state.update_data(parked_state=None)
    if not _has_draft(data):
        await start_report(message, state, lang=lang)
        return
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
    query: CallbackQuery, callback_data: Flow, state: FSMContext, lang: str
) -> None:
    message = await answer_query(query)
    if message is None:
        return
    await message.edit_reply_markup(reply_markup=None)
    await state.clear()
    await begin_report(
        message, state, lang=lang, mode=GRID if callback_data.arg == GRID else RESIDENT
    )


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
    if step is None:
        await leave(message, state, lang, person)
        return
    await steps.enter(
        step, message, state, lang=lang, county=county, session=session, person=person
    )


# -- step 1: describe --------------------------------------------------------------------------
async def _safety_check(message: Message, state: FSMContext, *, lang: str, county: County) -> bool:
    """Red risk: the safety numbers come first, with a button to alert the center right away."""
    data = await state.get_data()
    if data.get("safety_shown"):
        return False
    if not preview(data, county).safety_alert:
        return False
    await state.update_data(safety_shown=True)
    await message.answer(
        t("report.safety", lang),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[[flow_button(t("report.btn_urgent", lang), "urgent")]]
        ),
    )
    return True


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


async def on_text(message: Message, state: FSMContext, lang: str, county: County) -> None:
    text = (message.text or "").strip()
    data = await state.get_data()
    if len(draft_text(data)) + len(text) > MAX_DRAFT_CHARS:
        await message.answer(t("report.text_too_long", lang))
        return
    await state.update_data(parts=[*(data.get("parts") or []), text])
    await _safety_check(message, state, lang=lang, county=county)
    await _ack(message, state, lang)


async def _attach(
    message: Message, state: FSMContext, kind: str, file_id: str, file_name: str | None = None
) -> None:
    data = await state.get_data()
    attachments = [*(data.get("attachments") or []), {"kind": kind, "file_id": file_id}]
    if file_name:
        attachments[-1]["file_name"] = file_name[:200]
    parts = list(data.get("parts") or [])
    if message.caption and message.caption.strip():
        parts.append(message.caption.strip())
    await state.update_data(attachments=attachments, parts=parts)


async def on_photo(message: Message, state: FSMContext, lang: str, county: County) -> None:
    assert message.photo
    await _attach(message, state, "photo", message.photo[-1].file_id)
    await _safety_check(message, state, lang=lang, county=county)
    await _ack(message, state, lang)


async def on_document(message: Message, state: FSMContext, lang: str) -> None:
    if message.document is not None:
        await _attach(
            message, state, "document", message.document.file_id, message.document.file_name
        )
    elif message.video is not None:
        await _attach(message, state, "video", message.video.file_id)
    await _ack(message, state, lang)


async def on_voice(message: Message, state: FSMContext, lang: str) -> None:
    media = message.voice or message.audio or message.video_note
    if media is not None:
        await _attach(message, state, "voice", media.file_id)
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
    township = county.nearest_township(lat, lon)
    await state.update_data(lat=lat, lon=lon, township=township, village=None)
    await message.answer(t("report.location_saved", lang, township=township or "-"))
    await steps.enter_after(
        "place", message, state, lang=lang, county=county, session=session, person=person
    )


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
    page = int(callback_data.arg) if callback_data.arg.isdigit() else 0
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
    page = int(callback_data.arg) if callback_data.arg.isdigit() else 0
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
    data = await state.get_data()
    draft = to_report_draft(data)
    try:
        case = await intake.submit_report(session=session, reporter=person, draft=draft)
    except DomainError as exc:
        await message.answer(t("report.submit_failed", lang, reason=exc.message))
        return None
    await state.clear()
    log.info("case %s submitted by person %s", case.code, person.id)
    await message.answer(
        submitted_text(case, await _unit(session, case), lang), reply_markup=ReplyKeyboardRemove()
    )
    await message.answer(t("common.menu_title", lang), reply_markup=main_menu(lang, person))
    return case


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
            accept_by=local_time(case.accept_deadline, runtime.tz(), lang),
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
    """🚨 立即报告: file what we have now; the center is alerted by the red risk at once."""
    message = await answer_query(query)
    if message is None:
        return
    await message.edit_reply_markup(reply_markup=None)
    await submit(message, state, session=session, person=person, lang=lang)


def create_router() -> Router:
    router = Router(name="report")
    router.message.filter(PRIVATE_MESSAGE)
    router.callback_query.filter(PRIVATE_CALLBACK)
    cb, msg = router.callback_query, router.message

    cb.register(on_menu_report, MenuAction.filter(F.action == "report"))
    msg.register(on_report_command, Command("report"))
    cb.register(on_resume, Flow.filter(F.action == "resume"))
    cb.register(on_restart, Flow.filter(F.action == "restart"))
    cb.register(on_urgent, IN_FLOW, Flow.filter(F.action == "urgent"))

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
