"""The unit desk: case-card buttons in unit groups and the claimer's private actions.

Group card: 签收 (claim; the card is edited in place, the claimer gets a private panel), 退单
(reason picker and explanation in private), 详情. Private panel after 签收: 办结 (result text, then
optional evidence photos), 延期申请, 申请联办 (pick units), 备注, 上传材料. Assisting units 签收
their part from their own card and report it done. Every press → one workflow call.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.models import Case, CaseStatus, Person, TaskStatus, Unit
from backend.services import cases, workflow
from backend.services.errors import DomainError, InvalidTransition, NotAllowed, ValidationFailed
from bot.callbacks import CaseAction
from bot.handlers.desk import (
    card_message,
    detail_text,
    edit_card_in_place,
    edit_note,
    load_case,
    pickable_units,
    refresh_group_card,
    refuse,
    refuse_error,
    require_lead,
    require_staff,
    send_private,
)
from bot.notifications.cards import (
    EXTENSION_DAYS,
    RETURN_REASONS,
    A,
    assisting_keyboard,
    button,
    claimer_keyboard,
    fmt_time,
    unit_picker,
)
from bot.texts import t

log = logging.getLogger(__name__)

MAX_EVIDENCE = 10


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


def _tz(settings: Settings) -> str:
    return settings.tz


def _cancel_markup(case_id: int, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[[button(t("staff.btn.cancel", lang), A.cancel, case_id)]]
    )


# ---------------------------------------------------------------- group card


async def _finish_text_step(
    message: Message, state: FSMContext, lang: str, step: Callable[[], Awaitable[Case]]
) -> Case | None:
    """Run the workflow call that a typed text completes. A refusal is shown; the prompt stays
    open only when the text itself was invalid, so the staff member can type it again."""
    try:
        case = await step()
    except DomainError as exc:
        await message.answer(t("staff.refused", lang, reason=exc.message))
        if not isinstance(exc, ValidationFailed):
            await state.clear()
        return None
    await state.clear()
    return case


async def on_claim(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    settings: Settings,
    bot: Bot,
) -> None:
    try:
        staff = require_staff(person)
        case = await workflow.accept(session=session, actor=staff, case_id=callback_data.case_id)
    except DomainError as exc:
        await refuse_error(callback, exc)
        return
    assert case.id is not None
    tz = _tz(settings)
    if staff.unit_id == case.lead_unit_id:
        await edit_card_in_place(callback, case, session=session, lang=lang, tz=tz)
        text = t(
            "staff.claimed.private",
            lang,
            code=case.code,
            deadline=fmt_time(case.handle_deadline, lang, tz),
        )
        delivered = await send_private(bot, staff, text, claimer_keyboard(case.id, lang))
    else:
        await edit_note(
            callback,
            t("staff.task.claimed_card", lang, code=case.code, name=staff.display_name or "-"),
        )
        text = t("staff.task.claimed_private", lang, code=case.code)
        delivered = await send_private(bot, staff, text, assisting_keyboard(case.id, lang))
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
    try:
        case = await load_case(session, callback_data.case_id)
        staff = require_lead(person, case)
        if case.status not in (CaseStatus.dispatched, CaseStatus.reopened, CaseStatus.accepted):
            workflow.next_status(case.status, workflow.Action.return_)
    except DomainError as exc:
        await refuse_error(callback, exc)
        return
    assert case.id is not None
    rows = [
        [button(reason, A.ret_reason, case.id, str(index))]
        for index, reason in enumerate(RETURN_REASONS)
    ]
    rows.append([button(t("staff.btn.cancel", lang), A.cancel, case.id)])
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
    try:
        case = await load_case(session, callback_data.case_id)
        require_lead(person, case)
        index = int(callback_data.arg)
        reason = RETURN_REASONS[index]
    except (ValueError, IndexError):
        await refuse(callback, t("staff.bad_button", lang))
        return
    except DomainError as exc:
        await refuse_error(callback, exc)
        return
    await state.set_state(StaffSG.return_text)
    await state.set_data({"case_id": case.id, "reason": reason})
    await edit_note(callback, t("staff.return.ask_text", lang, code=case.code, reason=reason))
    await callback.answer()


async def on_return_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    bot: Bot,
    settings: Settings,
) -> None:
    data = await state.get_data()

    async def step() -> Case:
        return await workflow.return_case(
            session=session,
            actor=require_staff(person),
            case_id=int(data["case_id"]),
            reason_code=str(data["reason"]),
            text=message.text or "",
        )

    case = await _finish_text_step(message, state, lang, step)
    if case is not None:
        await message.answer(t("staff.return.done", lang, code=case.code))
        await refresh_group_card(bot, case, session=session, lang="zh", tz=settings.tz)


async def on_detail(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    settings: Settings,
) -> None:
    try:
        case = await load_case(session, callback_data.case_id)
    except DomainError as exc:
        await refuse_error(callback, exc)
        return
    if not await cases.can_view_as_staff(person, case, session=session):
        await refuse(callback, NotAllowed.default_message)
        return
    text = await detail_text(
        case,
        session=session,
        lang=lang,
        tz=_tz(settings),
        viewer=person,
        private=callback.message is not None and callback.message.chat.type == ChatType.PRIVATE,
    )
    if isinstance(callback.message, Message):
        await callback.message.answer(text)
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
    try:
        case = await load_case(session, callback_data.case_id)
    except DomainError as exc:
        await refuse_error(callback, exc)
        return
    if not await cases.can_view(person, case, session=session):
        await refuse(callback, NotAllowed.default_message)
        return
    text, markup = await card_message(case, session=session, lang=lang, tz=_tz(settings))
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=markup)
    await callback.answer()


# ---------------------------------------------------------------- private panel


async def _lead_case_or_refuse(
    callback: CallbackQuery, session: AsyncSession, person: Person | None, case_id: int
) -> tuple[Person, int] | None:
    try:
        case = await load_case(session, case_id)
        staff = require_lead(person, case)
        if case.status != CaseStatus.accepted:
            raise InvalidTransition(
                workflow._STATE_MESSAGES.get(case.status, InvalidTransition.default_message)
            )
    except DomainError as exc:
        await refuse_error(callback, exc)
        return None
    assert case.id is not None
    return staff, case.id


async def on_resolve_start(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    state: FSMContext,
) -> None:
    found = await _lead_case_or_refuse(callback, session, person, callback_data.case_id)
    if found is None:
        return
    _, case_id = found
    await state.set_state(StaffSG.resolve_text)
    await state.set_data({"case_id": case_id})
    await _prompt(callback, t("staff.resolve.ask_result", lang), case_id, lang)


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
                [button(t("staff.btn.submit_resolve", lang), A.evidence_done, case_id)],
                [button(t("staff.btn.cancel", lang), A.cancel, case_id)],
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
        await refuse(callback, t("staff.stale_button", lang))
        return
    evidence = [
        AttachmentIn(kind=item["kind"], file_id=item["file_id"], file_name=item.get("file_name"))
        for item in data.get("evidence") or []
    ]
    try:
        staff = require_staff(person)
        case = await workflow.resolve(
            session=session,
            actor=staff,
            case_id=callback_data.case_id,
            result_text=str(data.get("result_text") or ""),
            evidence=evidence,
        )
    except DomainError as exc:
        await state.clear()
        await refuse_error(callback, exc)
        return
    await state.clear()
    await edit_note(callback, t("staff.resolve.done", lang, code=case.code, count=len(evidence)))
    await callback.answer()
    await refresh_group_card(bot, case, session=session, lang="zh", tz=settings.tz)


async def on_extend(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    state: FSMContext,
) -> None:
    found = await _lead_case_or_refuse(callback, session, person, callback_data.case_id)
    if found is None:
        return
    _, case_id = found
    if not callback_data.arg:
        markup = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    button(t("staff.btn.days", lang, days=days), A.extend, case_id, str(days))
                    for days in EXTENSION_DAYS
                ],
                [button(t("staff.btn.cancel", lang), A.cancel, case_id)],
            ]
        )
        if isinstance(callback.message, Message):
            await callback.message.answer(t("staff.extend.pick_days", lang), reply_markup=markup)
        await callback.answer()
        return
    try:
        days = int(callback_data.arg)
    except ValueError:
        await refuse(callback, t("staff.bad_button", lang))
        return
    if days not in EXTENSION_DAYS:
        await refuse(callback, t("staff.bad_button", lang))
        return
    await state.set_state(StaffSG.extension_reason)
    await state.set_data({"case_id": case_id, "days": days})
    await edit_note(callback, t("staff.extend.ask_reason", lang, days=days))
    await callback.answer()


async def on_extension_reason(
    message: Message, state: FSMContext, session: AsyncSession, person: Person | None, lang: str
) -> None:
    data = await state.get_data()

    async def step() -> Case:
        return await workflow.request_extension(
            session=session,
            actor=require_staff(person),
            case_id=int(data["case_id"]),
            days=int(data["days"]),
            reason=message.text or "",
        )

    case = await _finish_text_step(message, state, lang, step)
    if case is not None:
        await message.answer(t("staff.extend.done", lang, code=case.code, days=data["days"]))


async def on_joint_start(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    state: FSMContext,
) -> None:
    found = await _lead_case_or_refuse(callback, session, person, callback_data.case_id)
    if found is None:
        return
    staff, case_id = found
    await state.set_state(None)
    await state.set_data({"case_id": case_id, "joint": []})
    units = await pickable_units(session, {staff.unit_id})
    if isinstance(callback.message, Message):
        await callback.message.answer(
            t("staff.joint.pick_units", lang),
            reply_markup=_joint_markup(case_id, units, set(), lang),
        )
    await callback.answer()


def _joint_markup(
    case_id: int, units: list[Unit], selected: set[int], lang: str
) -> InlineKeyboardMarkup:
    return unit_picker(
        case_id,
        units,
        lang,
        action=A.joint_toggle,
        selected=selected,
        extra=[
            [
                button(t("staff.btn.joint_send", lang), A.joint_send, case_id),
                button(t("staff.btn.cancel", lang), A.cancel, case_id),
            ]
        ],
    )


async def on_joint_toggle(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    state: FSMContext,
) -> None:
    found = await _lead_case_or_refuse(callback, session, person, callback_data.case_id)
    if found is None:
        return
    staff, case_id = found
    data = await state.get_data()
    if data.get("case_id") != case_id:
        data = {"case_id": case_id, "joint": []}
    try:
        unit_id = int(callback_data.arg)
    except ValueError:
        await refuse(callback, t("staff.bad_button", lang))
        return
    units = await pickable_units(session, {staff.unit_id})
    if unit_id not in {u.id for u in units}:
        await refuse(callback, t("staff.bad_button", lang))
        return
    selected = set(data.get("joint") or [])
    selected ^= {unit_id}
    await state.set_data({"case_id": case_id, "joint": sorted(selected)})
    if isinstance(callback.message, Message):
        await callback.message.edit_reply_markup(
            reply_markup=_joint_markup(case_id, units, selected, lang)
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
    found = await _lead_case_or_refuse(callback, session, person, callback_data.case_id)
    if found is None:
        return
    _, case_id = found
    data = await state.get_data()
    selected = list(data.get("joint") or []) if data.get("case_id") == case_id else []
    if not selected:
        await refuse(callback, t("staff.joint.none_selected", lang))
        return
    units = [await session.get(Unit, unit_id) for unit_id in selected]
    codes = [u.code for u in units if u is not None]
    names = "、".join(u.name for u in units if u is not None)
    await state.set_state(StaffSG.joint_reason)
    await state.set_data({"case_id": case_id, "unit_codes": codes})
    await edit_note(callback, t("staff.joint.ask_reason", lang, units=names))
    await callback.answer()


async def on_joint_reason(
    message: Message, state: FSMContext, session: AsyncSession, person: Person | None, lang: str
) -> None:
    data = await state.get_data()

    async def step() -> Case:
        return await workflow.request_joint(
            session=session,
            actor=require_staff(person),
            case_id=int(data["case_id"]),
            unit_codes=list(data["unit_codes"]),
            reason=message.text or "",
        )

    case = await _finish_text_step(message, state, lang, step)
    if case is not None:
        await message.answer(t("staff.joint.done", lang, code=case.code))


async def _involved_or_refuse(
    callback: CallbackQuery, session: AsyncSession, person: Person | None, case_id: int
) -> int | None:
    try:
        case = await load_case(session, case_id)
        staff = require_staff(person)
        if (
            staff.unit_id != case.lead_unit_id
            and await cases.assisting_task(session=session, case=case, person=staff) is None
        ):
            raise NotAllowed("该事项不在您单位的办理范围内。", code="other_unit")
        if case.status in (CaseStatus.closed, CaseStatus.grid_resolved):
            raise InvalidTransition(workflow._STATE_MESSAGES[case.status])
    except DomainError as exc:
        await refuse_error(callback, exc)
        return None
    return case.id


async def on_note_start(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    state: FSMContext,
) -> None:
    case_id = await _involved_or_refuse(callback, session, person, callback_data.case_id)
    if case_id is None:
        return
    await state.set_state(StaffSG.note_text)
    await state.set_data({"case_id": case_id})
    await _prompt(callback, t("staff.note.ask", lang), case_id, lang)


async def on_note_text(
    message: Message, state: FSMContext, session: AsyncSession, person: Person | None, lang: str
) -> None:
    data = await state.get_data()

    async def step() -> Case:
        return await workflow.add_note(
            session=session,
            actor=require_staff(person),
            case_id=int(data["case_id"]),
            text=message.text or "",
        )

    case = await _finish_text_step(message, state, lang, step)
    if case is not None:
        await message.answer(t("staff.note.done", lang, code=case.code))


async def on_material_start(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
    state: FSMContext,
) -> None:
    case_id = await _involved_or_refuse(callback, session, person, callback_data.case_id)
    if case_id is None:
        return
    await state.set_state(StaffSG.material)
    await state.set_data({"case_id": case_id})
    await _prompt(callback, t("staff.material.ask", lang), case_id, lang)


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
    try:
        case = await workflow.add_attachment(
            session=session,
            actor=require_staff(person),
            case_id=int(data["case_id"]),
            kind=kind,
            file_id=file_id,
            file_name=file_name,
            purpose="material",
        )
    except DomainError as exc:
        await state.clear()
        await message.answer(t("staff.refused", lang, reason=exc.message))
        return
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
    try:
        case = await load_case(session, callback_data.case_id)
        staff = require_staff(person)
        task = await cases.assisting_task(session=session, case=case, person=staff)
        if task is None:
            raise NotAllowed("您的单位没有该事项的协办任务。", code="other_unit")
        if task.status != TaskStatus.accepted:
            raise InvalidTransition(
                t("staff.task.not_accepted", lang)
                if task.status == TaskStatus.pending
                else t("staff.task.already_done", lang)
            )
    except DomainError as exc:
        await refuse_error(callback, exc)
        return
    assert case.id is not None
    await state.set_state(StaffSG.task_result)
    await state.set_data({"case_id": case.id})
    await _prompt(callback, t("staff.task.ask_result", lang), case.id, lang)


async def on_task_result(
    message: Message, state: FSMContext, session: AsyncSession, person: Person | None, lang: str
) -> None:
    data = await state.get_data()

    async def step() -> Case:
        return await workflow.complete_task(
            session=session,
            actor=require_staff(person),
            case_id=int(data["case_id"]),
            result_text=message.text or "",
        )

    case = await _finish_text_step(message, state, lang, step)
    if case is not None:
        await message.answer(t("staff.task.done", lang, code=case.code))


async def on_cancel(callback: CallbackQuery, state: FSMContext, lang: str) -> None:
    await state.clear()
    await edit_note(callback, t("staff.cancelled", lang))
    await callback.answer()


async def _prompt(callback: CallbackQuery, text: str, case_id: int, lang: str) -> None:
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=_cancel_markup(case_id, lang))
    await callback.answer()


async def on_unexpected(message: Message, lang: str) -> None:
    await message.answer(t("staff.expect_text", lang))


def create_router() -> Router:
    router = Router(name="staff")
    cb = router.callback_query
    cb.register(on_claim, CaseAction.filter(F.action == A.claim))
    cb.register(on_return_start, CaseAction.filter(F.action == A.ret))
    cb.register(on_return_reason, CaseAction.filter(F.action == A.ret_reason))
    cb.register(on_detail, CaseAction.filter(F.action == A.detail))
    cb.register(on_open, CaseAction.filter(F.action == A.open))
    cb.register(on_resolve_start, CaseAction.filter(F.action == A.resolve))
    cb.register(on_resolve_submit, CaseAction.filter(F.action == A.evidence_done))
    cb.register(on_extend, CaseAction.filter(F.action == A.extend))
    cb.register(on_joint_start, CaseAction.filter(F.action == A.joint))
    cb.register(on_joint_toggle, CaseAction.filter(F.action == A.joint_toggle))
    cb.register(on_joint_send, CaseAction.filter(F.action == A.joint_send))
    cb.register(on_note_start, CaseAction.filter(F.action == A.note))
    cb.register(on_material_start, CaseAction.filter(F.action == A.material))
    cb.register(on_task_done_start, CaseAction.filter(F.action == A.task_done))
    cb.register(on_cancel, CaseAction.filter(F.action == A.cancel))

    private = F.chat.type == ChatType.PRIVATE
    msg = router.message
    msg.register(on_return_text, StateFilter(StaffSG.return_text), private, F.text)
    msg.register(on_resolve_text, StateFilter(StaffSG.resolve_text), private, F.text)
    msg.register(
        on_resolve_photo, StateFilter(StaffSG.resolve_evidence), private, F.photo | F.document
    )
    msg.register(on_extension_reason, StateFilter(StaffSG.extension_reason), private, F.text)
    msg.register(on_joint_reason, StateFilter(StaffSG.joint_reason), private, F.text)
    msg.register(on_note_text, StateFilter(StaffSG.note_text), private, F.text)
    msg.register(on_material_file, StateFilter(StaffSG.material), private, F.photo | F.document)
    msg.register(on_task_result, StateFilter(StaffSG.task_result), private, F.text)
    msg.register(
        on_unexpected,
        StateFilter(
            StaffSG.return_text,
            StaffSG.resolve_text,
            StaffSG.extension_reason,
            StaffSG.joint_reason,
            StaffSG.note_text,
            StaffSG.task_result,
            StaffSG.resolve_evidence,
            StaffSG.material,
        ),
        private,
        ~F.text.startswith("/"),
    )
    return router
