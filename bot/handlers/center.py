"""The center's desk (综治中心调度): triage, returns, extensions, 吹哨, red alerts, 督办.

Items arrive in the center group from the notifier; each button is one workflow call by the
dispatcher who pressed it. Pickers (which unit?) are posted as a separate message so the item
itself stays readable; after a decision the picker turns into a one-line record of it.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import OutboxMessage, Person, Unit
from backend.services import workflow
from backend.services.errors import DomainError, InvalidTransition, NotFound
from backend.services.outbox import NoticeKind
from bot.callbacks import CaseAction, parse_id
from bot.handlers.desk import (
    edit_note,
    load_case,
    pickable_units,
    refuse,
    refuse_error,
    require_center,
)
from bot.notifications.cards import A, button, unit_label, unit_picker
from bot.texts import t

log = logging.getLogger(__name__)


async def _unit_from_arg(session: AsyncSession, arg: str) -> Unit:
    try:
        unit = await session.get(Unit, parse_id(arg) or 0)
    except ValueError:
        unit = None
    if unit is None or unit.code == "center":
        raise NotFound("没有找到该单位。", code="unit_not_found")
    return unit


def _who(person: Person, lang: str) -> str:
    return person.display_name or t("notice.card.someone", lang)


async def on_pick_unit(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
) -> None:
    """Triage: post a unit picker for this case."""
    try:
        require_center(person, dispatch=True)
        case = await load_case(session, callback_data.case_id)
        if str(case.status) not in ("triage", "returned"):
            workflow.next_status(case.status, workflow.Action.dispatch)
    except DomainError as exc:
        await refuse_error(callback, exc)
        return
    assert case.id is not None
    markup = unit_picker(
        case.id,
        await pickable_units(session),
        lang,
        action=A.dispatch_to,
        extra=[[button(t("staff.btn.cancel", lang), A.cancel, case.id)]],
    )
    if isinstance(callback.message, Message):
        await callback.message.answer(
            t("staff.center.pick_unit", lang, code=case.code), reply_markup=markup
        )
    await callback.answer()


async def on_dispatch_to(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
) -> None:
    try:
        dispatcher = require_center(person, dispatch=True)
        unit = await _unit_from_arg(session, callback_data.arg)
        case = await workflow.dispatch(
            session=session, actor=dispatcher, case_id=callback_data.case_id, unit_code=unit.code
        )
    except DomainError as exc:
        await refuse_error(callback, exc)
        return
    await edit_note(
        callback,
        t(
            "staff.center.dispatched",
            lang,
            code=case.code,
            unit=unit_label(unit, lang),
            name=_who(dispatcher, lang),
        ),
    )
    await callback.answer(t("staff.center.done", lang))


async def on_approve_return(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
) -> None:
    """退单 approved: pick the new unit, or send the case back to triage."""
    try:
        require_center(person, dispatch=True)
        case = await load_case(session, callback_data.case_id)
        if str(case.status) != "returned":
            raise InvalidTransition(t("staff.center.no_return_pending", lang), code="no_return")
    except DomainError as exc:
        await refuse_error(callback, exc)
        return
    assert case.id is not None
    extra: list[list[InlineKeyboardButton]] = [
        [button(t("staff.btn.back_to_triage", lang), A.return_to, case.id, "")],
        [button(t("staff.btn.cancel", lang), A.cancel, case.id)],
    ]
    markup = unit_picker(
        case.id,
        await pickable_units(session, {case.lead_unit_id}),
        lang,
        action=A.return_to,
        extra=extra,
    )
    if isinstance(callback.message, Message):
        await callback.message.answer(
            t("staff.center.pick_new_unit", lang, code=case.code), reply_markup=markup
        )
    await callback.answer()


async def on_return_to(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
) -> None:
    try:
        dispatcher = require_center(person, dispatch=True)
        unit = await _unit_from_arg(session, callback_data.arg) if callback_data.arg else None
        case = await workflow.approve_return(
            session=session,
            actor=dispatcher,
            case_id=callback_data.case_id,
            unit_code=unit.code if unit else None,
        )
    except DomainError as exc:
        await refuse_error(callback, exc)
        return
    key = "staff.center.return_approved_to" if unit else "staff.center.return_approved_triage"
    await edit_note(
        callback,
        t(
            key,
            lang,
            code=case.code,
            unit=unit_label(unit, lang) if unit else "",
            name=_who(dispatcher, lang),
        ),
    )
    await callback.answer(t("staff.center.done", lang))


async def on_overrule(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
) -> None:
    try:
        dispatcher = require_center(person, dispatch=True)
        case = await workflow.overrule_return(
            session=session,
            actor=dispatcher,
            case_id=callback_data.case_id,
            note=t("staff.center.overrule_note", lang),
        )
    except DomainError as exc:
        await refuse_error(callback, exc)
        return
    await _record(
        callback, t("staff.center.overruled", lang, code=case.code, name=_who(dispatcher, lang))
    )


async def on_extension(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
) -> None:
    approve = callback_data.action == A.extension_yes
    try:
        dispatcher = require_center(person, dispatch=True)
        case = await workflow.decide_extension(
            session=session,
            actor=dispatcher,
            case_id=callback_data.case_id,
            approve=approve,
            note=None if approve else t("staff.center.extension_denied_note", lang),
        )
    except DomainError as exc:
        await refuse_error(callback, exc)
        return
    key = "staff.center.extension_approved" if approve else "staff.center.extension_denied"
    await _record(callback, t(key, lang, code=case.code, name=_who(dispatcher, lang)))


async def on_joint_approve(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
) -> None:
    """吹哨: the request's units come from the stored request, never from the button."""
    try:
        dispatcher = require_center(person, dispatch=True)
        request = await session.get(OutboxMessage, parse_id(callback_data.arg) or 0)
        if (
            request is None
            or request.kind != NoticeKind.joint_request
            or request.case_id != callback_data.case_id
        ):
            raise NotFound(t("staff.center.no_joint_request", lang), code="no_joint_request")
        codes = [str(c) for c in (request.payload or {}).get("unit_codes") or []]
        case = await workflow.approve_joint(
            session=session, actor=dispatcher, case_id=callback_data.case_id, unit_codes=codes
        )
    except ValueError:
        await refuse(callback, t("staff.bad_button", lang))
        return
    except DomainError as exc:
        await refuse_error(callback, exc)
        return
    await _record(
        callback,
        t("staff.center.joint_approved", lang, code=case.code, name=_who(dispatcher, lang)),
    )


async def on_supervise(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
) -> None:
    """督办: a recorded formal reminder to the unit's group and its heads."""
    try:
        supervisor = require_center(person)
        case = await workflow.supervise(
            session=session,
            actor=supervisor,
            case_id=callback_data.case_id,
            note=t("staff.center.supervise_note", lang),
        )
    except DomainError as exc:
        await refuse_error(callback, exc)
        return
    await callback.answer(t("staff.center.supervised", lang, code=case.code), show_alert=False)
    if isinstance(callback.message, Message):
        await callback.message.answer(
            t("staff.center.supervised_record", lang, code=case.code, name=_who(supervisor, lang))
        )


async def _record(callback: CallbackQuery, line: str) -> None:
    """Append the decision to the item and remove its buttons."""
    if isinstance(callback.message, Message):
        original = callback.message.html_text if callback.message.text else ""
        text = f"{original}\n\n{line}" if original else line
        await edit_note(callback, text)
    await callback.answer()


def create_router() -> Router:
    router = Router(name="center")
    cb = router.callback_query
    cb.register(on_pick_unit, CaseAction.filter(F.action == A.pick_unit))
    cb.register(on_dispatch_to, CaseAction.filter(F.action == A.dispatch_to))
    cb.register(on_approve_return, CaseAction.filter(F.action == A.approve_return))
    cb.register(on_return_to, CaseAction.filter(F.action == A.return_to))
    cb.register(on_overrule, CaseAction.filter(F.action == A.overrule))
    cb.register(on_extension, CaseAction.filter(F.action.in_({A.extension_yes, A.extension_no})))
    cb.register(on_joint_approve, CaseAction.filter(F.action == A.joint_approve))
    cb.register(on_supervise, CaseAction.filter(F.action == A.supervise))
    return router
