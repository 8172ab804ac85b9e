"""The unit desk: case-card buttons in unit groups and the claimer's private actions.

Group card: 签收 (claim; the card is edited in place, the claimer gets a private panel), 退单
(reason picker and explanation in private), 详情. Private panel after 签收: 办结 (result text, then
optional evidence photos), 延期申请, 申请联办 (pick units), 退单, 备注, 上传材料. Assisting units
签收 their part from their own card and report it done. Every press → one workflow call; which
buttons exist and whether a press applies is the workflow policy's answer, and a refusal is
raised to the one error handler (desk.on_refusal).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.models import Case, CaseStatus, Person, Unit
from backend.models.case import AWAITING_CLAIM_STATUSES
from backend.services import cases, workflow
from backend.services.errors import ErrorCode, NotAllowed, ValidationFailed
from backend.services.workflow import RETURN_REASONS, Action
from bot.callbacks import Act, CaseAction, DeskMenu, StaffMenu
from bot.handlers.desk import (
    actor,
    card_message,
    checked,
    detail_text,
    edit_card_in_place,
    edit_note,
    pickable_units,
    send_private,
    staff_menu,
    viewable,
)
from bot.notifications.cards import (
    EXTENSION_DAYS,
    button,
    fmt_time,
    panel_keyboard,
    unit_picker,
)
from bot.notifications.render import brief
from bot.texts import t

log = logging.getLogger(__name__)

MAX_EVIDENCE = 10
LIST_LIMIT = 20
CENTER_QUEUE = [
    CaseStatus.triage,
    CaseStatus.returned,
]  # a query filter: what waits for the center


class StaffSG(StatesGroup):
    """Private prompts of the unit desk; FSM data always carries ``case_id``."""

    return_text = State()
    resolve_text = State()
    resolve_evidence = State()
    extension_reason = State()
    joint_reason = State()
    note_text = State()
    material = State()
    task_result = State()


def _cancel_markup(case_id: int, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(t("staff.btn.cancel", lang), Act.cancel, case_id)]]
    )


def _bad_button() -> ValidationFailed:
    return ValidationFailed("按钮已失效，请重新打开案件。", code=ErrorCode.bad_button)


# ---------------------------------------------------------------- group card


async def on_claim(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    settings: Settings,
    bot: Bot,
) -> None:
    staff = actor(person)
    case = await workflow.accept(session=session, actor=staff, case_id=callback_data.case_id)
    assert case.id is not None
    if workflow.is_lead_staff(staff, case):
        await edit_card_in_place(callback, case, session=session, lang=lang, tz=settings.tz)
        text = t(
            "staff.claimed.private",
            lang,
            code=case.code,
            deadline=fmt_time(case.handle_deadline, lang, settings.tz),
        )
    else:
        await edit_note(
            callback,
            t("staff.task.claimed_card", lang, code=case.code, name=staff.display_name or "-"),
        )
        text = t("staff.task.claimed_private", lang, code=case.code)
    panel = await panel_keyboard(case, staff, lang, session=session)
    delivered = await send_private(bot, staff, text, panel)
    await callback.answer(
        t("staff.claimed.toast" if delivered else "staff.claimed.toast_no_private", lang)
    )


async def on_return_start(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    bot: Bot,
) -> None:
    case, staff = await checked(session, callback_data.case_id, person, Action.return_)
    assert case.id is not None
    rows = [
        [button(reason, Act.ret_reason, case.id, index)]
        for index, reason in enumerate(RETURN_REASONS)
    ]
    rows.append([button(t("staff.btn.cancel", lang), Act.cancel, case.id)])
    markup = InlineKeyboardMarkup(inline_keyboard=rows)
    text = t("staff.return.pick_reason", lang, code=case.code)
    if callback.message is not None and callback.message.chat.type == ChatType.PRIVATE:
        await bot.send_message(callback.message.chat.id, text, reply_markup=markup)
        await callback.answer()
        return
    delivered = await send_private(bot, staff, text, markup)
    await callback.answer(
        t("staff.return.see_private" if delivered else "staff.need_private", lang),
        show_alert=not delivered,
    )


async def on_return_reason(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    state: FSMContext,
) -> None:
    case, _ = await checked(session, callback_data.case_id, person, Action.return_)
    if callback_data.arg >= len(RETURN_REASONS):
        raise _bad_button()
    reason = RETURN_REASONS[callback_data.arg]
    await state.set_state(StaffSG.return_text)
    await state.set_data({"case_id": case.id, "reason": reason})
    await edit_note(callback, t("staff.return.ask_text", lang, code=case.code, reason=reason))
    await callback.answer()


async def on_detail(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    settings: Settings,
) -> None:
    """The full case, split over several messages when it is longer than Telegram allows."""
    case = await viewable(session, callback_data.case_id, person)
    if not await cases.can_view_as_staff(person, case, session=session):
        raise NotAllowed()
    private = callback.message is not None and callback.message.chat.type == ChatType.PRIVATE
    if isinstance(callback.message, Message):
        for part in await detail_text(
            case, session=session, lang=lang, tz=settings.tz, viewer=person, private=private
        ):
            await callback.message.answer(part)
    await callback.answer()


async def on_open(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    settings: Settings,
) -> None:
    """A button of a coalesced summary: post this case's full card into the chat."""
    case = await viewable(session, callback_data.case_id, person)
    text, markup = await card_message(case, session=session, lang=lang, tz=settings.tz)
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=markup)
    await callback.answer()


# ---------------------------------------------------------------- private panel


async def _start_prompt(
    callback: CallbackQuery,
    state: FSMContext,
    step: State,
    data: dict[str, Any],
    text: str,
    lang: str,
) -> None:
    """Open a typed-text step of the desk: state, data and the prompt with 取消."""
    await state.set_state(step)
    await state.set_data(data)
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=_cancel_markup(data["case_id"], lang))
    await callback.answer()


async def on_resolve_start(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    state: FSMContext,
) -> None:
    case, _ = await checked(session, callback_data.case_id, person, Action.resolve)
    await _start_prompt(
        callback,
        state,
        StaffSG.resolve_text,
        {"case_id": case.id},
        t("staff.resolve.ask_result", lang),
        lang,
    )


async def on_resolve_text(message: Message, state: FSMContext, lang: str) -> None:
    text = (message.text or "").strip()
    if not text:
        await message.answer(t("staff.resolve.ask_result", lang))
        return
    data = await state.get_data()
    await state.update_data(result_text=text, evidence=[])
    await state.set_state(StaffSG.resolve_evidence)
    case_id = int(data["case_id"])
    await message.answer(
        t("staff.resolve.ask_evidence", lang),
        reply_markup=InlineKeyboardMarkup(
            inline_keyboard=[
                [button(t("staff.btn.submit_resolve", lang), Act.evidence_done, case_id)],
                [button(t("staff.btn.cancel", lang), Act.cancel, case_id)],
            ]
        ),
    )


async def on_resolve_photo(message: Message, state: FSMContext, lang: str) -> None:
    data = await state.get_data()
    evidence: list[dict[str, Any]] = list(data.get("evidence") or [])
    if message.photo:
        evidence.append({"kind": "photo", "file_id": message.photo[-1].file_id})
    elif message.document:
        evidence.append(
            {
                "kind": "document",
                "file_id": message.document.file_id,
                "file_name": message.document.file_name,
            }
        )
    if len(evidence) > MAX_EVIDENCE:
        await message.answer(t("staff.resolve.too_many", lang, max=MAX_EVIDENCE))
        return
    await state.update_data(evidence=evidence)
    await message.answer(t("staff.resolve.got_evidence", lang, count=len(evidence)))


async def on_resolve_submit(
    callback: CallbackQuery,
    callback_data: CaseAction,
    state: FSMContext,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    bot: Bot,
    settings: Settings,
) -> None:
    from backend.services.intake import AttachmentIn

    data = await state.get_data()
    if (
        await state.get_state() != StaffSG.resolve_evidence.state
        or data.get("case_id") != callback_data.case_id
    ):
        await callback.answer(t("staff.stale_button", lang), show_alert=True)
        return
    evidence = [
        AttachmentIn(kind=item["kind"], file_id=item["file_id"], file_name=item.get("file_name"))
        for item in data.get("evidence") or []
    ]
    case = await workflow.resolve(
        session=session,
        actor=actor(person),
        case_id=callback_data.case_id,
        result_text=str(data.get("result_text") or ""),
        evidence=evidence,
    )
    await state.clear()
    await edit_note(callback, t("staff.resolve.done", lang, code=case.code, count=len(evidence)))
    await callback.answer()


async def on_extend(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    state: FSMContext,
) -> None:
    """Without a number of days: show the choices; with one: ask for the reason."""
    case, _ = await checked(session, callback_data.case_id, person, Action.request_extension)
    assert case.id is not None
    days = callback_data.arg
    if not days:
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(t("staff.btn.days", lang, days=d), Act.extend, case.id, d)
                    for d in EXTENSION_DAYS
                ],
                [button(t("staff.btn.cancel", lang), Act.cancel, case.id)],
            ]
        )
        if isinstance(callback.message, Message):
            await callback.message.answer(t("staff.extend.pick_days", lang), reply_markup=markup)
        await callback.answer()
        return
    if days not in EXTENSION_DAYS:
        raise _bad_button()
    await state.set_state(StaffSG.extension_reason)
    await state.set_data({"case_id": case.id, "days": days})
    await edit_note(callback, t("staff.extend.ask_reason", lang, days=days))
    await callback.answer()


def _joint_markup(
    case_id: int, units: list[Unit], selected: set[int], lang: str
) -> InlineKeyboardMarkup:
    return unit_picker(
        case_id,
        units,
        lang,
        action=Act.joint_toggle,
        selected=selected,
        extra=[
            [
                button(t("staff.btn.joint_send", lang), Act.joint_send, case_id),
                button(t("staff.btn.cancel", lang), Act.cancel, case_id),
            ]
        ],
    )


async def on_joint_start(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    state: FSMContext,
) -> None:
    case, staff = await checked(session, callback_data.case_id, person, Action.request_joint)
    assert case.id is not None
    await state.set_state(None)
    await state.set_data({"case_id": case.id, "joint": []})
    units = await pickable_units(session, {staff.unit_id})
    if isinstance(callback.message, Message):
        await callback.message.answer(
            t("staff.joint.pick_units", lang),
            reply_markup=_joint_markup(case.id, units, set(), lang),
        )
    await callback.answer()


async def on_joint_toggle(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    state: FSMContext,
) -> None:
    case, staff = await checked(session, callback_data.case_id, person, Action.request_joint)
    assert case.id is not None
    units = await pickable_units(session, {staff.unit_id})
    if callback_data.arg not in {u.id for u in units}:
        raise _bad_button()
    data = await state.get_data()
    selected = set(data.get("joint") or []) if data.get("case_id") == case.id else set()
    selected ^= {callback_data.arg}
    await state.set_data({"case_id": case.id, "joint": sorted(selected)})
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(
            reply_markup=_joint_markup(case.id, units, selected, lang)
        )
    await callback.answer()


async def on_joint_send(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    state: FSMContext,
) -> None:
    case, _ = await checked(session, callback_data.case_id, person, Action.request_joint)
    data = await state.get_data()
    selected = list(data.get("joint") or []) if data.get("case_id") == case.id else []
    if not selected:
        await callback.answer(t("staff.joint.none_selected", lang), show_alert=True)
        return
    units = [await session.get(Unit, unit_id) for unit_id in selected]
    codes = [u.code for u in units if u is not None]
    names = "、".join(u.name for u in units if u is not None)
    await state.set_state(StaffSG.joint_reason)
    await state.set_data({"case_id": case.id, "unit_codes": codes})
    await edit_note(callback, t("staff.joint.ask_reason", lang, units=names))
    await callback.answer()


async def on_note_start(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    state: FSMContext,
) -> None:
    case, _ = await checked(session, callback_data.case_id, person, Action.note)
    await _start_prompt(
        callback, state, StaffSG.note_text, {"case_id": case.id}, t("staff.note.ask", lang), lang
    )


async def on_material_start(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    state: FSMContext,
) -> None:
    case, _ = await checked(session, callback_data.case_id, person, Action.attachment)
    await _start_prompt(
        callback,
        state,
        StaffSG.material,
        {"case_id": case.id},
        t("staff.material.ask", lang),
        lang,
    )


async def on_material_file(
    message: Message, state: FSMContext, session: AsyncSession, person: Person | None, lang: str
) -> None:
    data = await state.get_data()
    if message.photo:
        kind, file_id, file_name = "photo", message.photo[-1].file_id, None
    elif message.document:
        kind, file_id, file_name = "document", message.document.file_id, message.document.file_name
    else:
        await message.answer(t("staff.material.ask", lang))
        return
    case = await workflow.add_attachment(
        session=session,
        actor=actor(person),
        case_id=int(data["case_id"]),
        kind=kind,
        file_id=file_id,
        file_name=file_name,
        purpose="material",
    )
    await state.clear()
    await message.answer(t("staff.material.done", lang, code=case.code))


async def on_task_done_start(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    state: FSMContext,
) -> None:
    case, _ = await checked(session, callback_data.case_id, person, Action.complete_task)
    await _start_prompt(
        callback,
        state,
        StaffSG.task_result,
        {"case_id": case.id},
        t("staff.task.ask_result", lang),
        lang,
    )


@dataclass(frozen=True)
class TextStep:
    """A desk prompt that a typed text completes: the workflow call and the confirmation."""

    call: Callable[[AsyncSession, Person, int, str, dict[str, Any]], Awaitable[Case]]
    done: str


TEXT_STEPS: dict[str | None, TextStep] = {
    StaffSG.return_text.state: TextStep(
        lambda db, who, case_id, text, data: workflow.return_case(
            session=db, actor=who, case_id=case_id, reason_code=str(data["reason"]), text=text
        ),
        "staff.return.done",
    ),
    StaffSG.extension_reason.state: TextStep(
        lambda db, who, case_id, text, data: workflow.request_extension(
            session=db, actor=who, case_id=case_id, days=int(data["days"]), reason=text
        ),
        "staff.extend.done",
    ),
    StaffSG.joint_reason.state: TextStep(
        lambda db, who, case_id, text, data: workflow.request_joint(
            session=db,
            actor=who,
            case_id=case_id,
            unit_codes=list(data["unit_codes"]),
            reason=text,
        ),
        "staff.joint.done",
    ),
    StaffSG.note_text.state: TextStep(
        lambda db, who, case_id, text, data: workflow.add_note(
            session=db, actor=who, case_id=case_id, text=text
        ),
        "staff.note.done",
    ),
    StaffSG.task_result.state: TextStep(
        lambda db, who, case_id, text, data: workflow.complete_task(
            session=db, actor=who, case_id=case_id, result_text=text
        ),
        "staff.task.done",
    ),
}


async def on_typed_text(
    message: Message, state: FSMContext, session: AsyncSession, person: Person | None, lang: str
) -> None:
    """The text typed at a desk prompt: one workflow call, then the confirmation. A refusal goes
    to the error handler, which keeps the prompt open only when the text itself was invalid."""
    step = TEXT_STEPS[await state.get_state()]
    data = await state.get_data()
    case = await step.call(session, actor(person), int(data["case_id"]), message.text or "", data)
    await state.clear()
    await message.answer(t(step.done, lang, code=case.code, days=data.get("days", "")))


async def on_cancel(callback: CallbackQuery, state: FSMContext, lang: str) -> None:
    await state.clear()
    await edit_note(callback, t("staff.cancelled", lang))
    await callback.answer()


# ---------------------------------------------------------------- staff menu


async def on_menu_queue(
    query: CallbackQuery, session: AsyncSession, person: Person | None, lang: str
) -> None:
    """本单位待签收 (the center: cases waiting to be routed or a return to be reviewed)."""
    staff = actor(person)
    if workflow.is_center(staff):
        found = await cases.list_cases(session=session, statuses=CENTER_QUEUE, limit=LIST_LIMIT)
    elif staff.unit_id is not None:
        found = await cases.list_unit_queue(
            session=session,
            unit_id=staff.unit_id,
            statuses=sorted(AWAITING_CLAIM_STATUSES),
            limit=LIST_LIMIT,
        )
    else:
        found = []
    await _case_list(query, found, "staff.menu.queue_title", "staff.menu.queue_empty", lang)


async def on_menu_in_hand(
    query: CallbackQuery, session: AsyncSession, person: Person | None, lang: str
) -> None:
    """我的在办: the cases this person claimed and still handles."""
    found = await cases.list_in_hand(session=session, person=actor(person), limit=LIST_LIMIT)
    await _case_list(query, found, "staff.menu.in_hand_title", "staff.menu.in_hand_empty", lang)


async def _case_list(
    query: CallbackQuery, found: list[Case], title: str, empty: str, lang: str
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    if not found:
        await query.message.answer(t(empty, lang), reply_markup=staff_menu(lang))
        return
    lines = [t(title, lang, count=len(found))] + [brief(case, lang) for case in found]
    rows = [
        [button(t("staff.btn.open", lang, code=case.code), Act.open, case.id)]
        for case in found
        if case.id is not None
    ]
    await query.message.answer(
        "\n".join(lines), reply_markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


async def on_menu_bind(query: CallbackQuery, lang: str) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(t("staff.menu.bind_steps", lang), reply_markup=staff_menu(lang))


async def on_menu_web(
    query: CallbackQuery,
    session: AsyncSession,
    person: Person | None,
    settings: Settings,
    lang: str,
) -> None:
    from bot.handlers.web import on_web

    await query.answer()
    if isinstance(query.message, Message):
        await on_web(query.message, session, person, settings, lang)


async def on_unexpected(message: Message, lang: str) -> None:
    await message.answer(t("staff.expect_text", lang))


def create_router() -> Router:
    router = Router(name="staff")
    cb = router.callback_query
    cb.register(on_claim, CaseAction.filter(F.action == Act.claim))
    cb.register(on_return_start, CaseAction.filter(F.action == Act.ret))
    cb.register(on_return_reason, CaseAction.filter(F.action == Act.ret_reason))
    cb.register(on_detail, CaseAction.filter(F.action == Act.detail))
    cb.register(on_open, CaseAction.filter(F.action == Act.open))
    cb.register(on_resolve_start, CaseAction.filter(F.action == Act.resolve))
    cb.register(on_resolve_submit, CaseAction.filter(F.action == Act.evidence_done))
    cb.register(on_extend, CaseAction.filter(F.action == Act.extend))
    cb.register(on_joint_start, CaseAction.filter(F.action == Act.joint))
    cb.register(on_joint_toggle, CaseAction.filter(F.action == Act.joint_toggle))
    cb.register(on_joint_send, CaseAction.filter(F.action == Act.joint_send))
    cb.register(on_note_start, CaseAction.filter(F.action == Act.note))
    cb.register(on_material_start, CaseAction.filter(F.action == Act.material))
    cb.register(on_task_done_start, CaseAction.filter(F.action == Act.task_done))
    cb.register(on_cancel, CaseAction.filter(F.action == Act.cancel))
    cb.register(on_menu_queue, StaffMenu.filter(F.action == DeskMenu.queue))
    cb.register(on_menu_in_hand, StaffMenu.filter(F.action == DeskMenu.in_hand))
    cb.register(on_menu_bind, StaffMenu.filter(F.action == DeskMenu.bind))
    cb.register(on_menu_web, StaffMenu.filter(F.action == DeskMenu.web))

    private = F.chat.type == ChatType.PRIVATE
    msg = router.message
    msg.register(on_resolve_text, StateFilter(StaffSG.resolve_text), private, F.text)
    msg.register(
        on_resolve_photo, StateFilter(StaffSG.resolve_evidence), private, F.photo | F.document
    )
    msg.register(on_material_file, StateFilter(StaffSG.material), private, F.photo | F.document)
    typed = (
        StaffSG.return_text,
        StaffSG.extension_reason,
        StaffSG.joint_reason,
        StaffSG.note_text,
        StaffSG.task_result,
    )
    msg.register(on_typed_text, StateFilter(*typed), private, F.text)
    msg.register(on_unexpected, StateFilter(StaffSG), private, ~F.text.startswith("/"))
    return router
