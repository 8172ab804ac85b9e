"""The center's desk (综治中心调度): triage, transfers, returns, extensions, 吹哨, alerts, 督办.

Items arrive in the center group from the notifier with the buttons the workflow policy allows;
each press is one workflow call by the dispatcher who pressed it (a refusal goes to the one error
handler). Pickers (which unit?) are posted as a separate message so the item itself stays
readable; after a decision the picker turns into a one-line record of it.
"""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import OutboxMessage, Person, Unit
from backend.services import workflow
from backend.services.errors import ErrorCode, NotFound
from backend.services.outbox import NoticeKind
from backend.services.workflow import Action
from bot.callbacks import Act, CaseAction
from bot.handlers.desk import actor, checked, edit_note, pickable_units, record
from bot.notifications.cards import button, unit_label, unit_picker
from bot.texts import t

log = logging.getLogger(__name__)


async def _unit(session: AsyncSession, unit_id: int) -> Unit:
    unit = await session.get(Unit, unit_id)
    if unit is None or unit.code == "center":
        raise NotFound("没有找到该单位。", code=ErrorCode.unit_not_found)
    return unit


def _who(person: Person, lang: str) -> str:
    return person.display_name or t("notice.card.someone", lang)


async def _post_picker(
    callback: CallbackQuery,
    text: str,
    case_id: int,
    units: list[Unit],
    action: Act,
    lang: str,
    extra: list[list[InlineKeyboardButton]] | None = None,
) -> None:
    cancel = [[button(t("staff.btn.cancel", lang), Act.cancel, case_id)]]
    markup = unit_picker(case_id, units, lang, action=action, extra=(extra or []) + cancel)
    if isinstance(callback.message, Message):
        await callback.message.answer(text, reply_markup=markup)
    await callback.answer()


async def on_pick_unit(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
) -> None:
    """Triage: post a unit picker for this case."""
    case, _ = await checked(session, callback_data.case_id, person, Action.dispatch)
    assert case.id is not None
    text = t("staff.center.pick_unit", lang, code=case.code)
    await _post_picker(
        callback, text, case.id, await pickable_units(session), Act.dispatch_to, lang
    )


async def on_transfer(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
) -> None:
    """Reassign an open case: post a picker of the other units."""
    case, _ = await checked(session, callback_data.case_id, person, Action.transfer)
    assert case.id is not None
    units = await pickable_units(session, {case.lead_unit_id})
    text = t("staff.center.pick_transfer_unit", lang, code=case.code)
    await _post_picker(callback, text, case.id, units, Act.transfer_to, lang)


async def on_approve_return(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
) -> None:
    """退单 approved: pick the new unit, or send the case back to triage."""
    case, _ = await checked(session, callback_data.case_id, person, Action.approve_return)
    assert case.id is not None
    extra = [[button(t("staff.btn.back_to_triage", lang), Act.return_to, case.id, 0)]]
    units = await pickable_units(session, {case.lead_unit_id})
    text = t("staff.center.pick_new_unit", lang, code=case.code)
    await _post_picker(callback, text, case.id, units, Act.return_to, lang, extra)


async def on_to_unit(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
) -> None:
    """A unit picked in a picker: dispatch, reassign, or approve a return (0: back to triage)."""
    dispatcher = actor(person)
    case_id = callback_data.case_id
    unit = await _unit(session, callback_data.arg) if callback_data.arg else None
    if callback_data.action == Act.return_to:
        code = unit.code if unit else None
        case = await workflow.approve_return(
            session=session, actor=dispatcher, case_id=case_id, unit_code=code
        )
        key = "staff.center.return_approved_to" if unit else "staff.center.return_approved_triage"
    elif unit is None:
        raise NotFound("没有找到该单位。", code=ErrorCode.unit_not_found)
    elif callback_data.action == Act.transfer_to:
        note = t("staff.center.transfer_note", lang)
        case = await workflow.transfer(
            session=session, actor=dispatcher, case_id=case_id, unit_code=unit.code, reason=note
        )
        key = "staff.center.transferred"
    else:
        case = await workflow.dispatch(
            session=session, actor=dispatcher, case_id=case_id, unit_code=unit.code
        )
        key = "staff.center.dispatched"
    unit_name = unit_label(unit, lang) if unit else ""
    await edit_note(
        callback, t(key, lang, code=case.code, unit=unit_name, name=_who(dispatcher, lang))
    )
    await callback.answer(t("staff.center.done", lang))


async def on_overrule(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
) -> None:
    dispatcher = actor(person)
    case = await workflow.overrule_return(
        session=session,
        actor=dispatcher,
        case_id=callback_data.case_id,
        note=t("staff.center.overrule_note", lang),
    )
    await record(
        callback, t("staff.center.overruled", lang, code=case.code, name=_who(dispatcher, lang))
    )


async def on_extension(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
) -> None:
    approve = callback_data.action == Act.extension_yes
    dispatcher = actor(person)
    case = await workflow.decide_extension(
        session=session,
        actor=dispatcher,
        case_id=callback_data.case_id,
        approve=approve,
        note=None if approve else t("staff.center.extension_denied_note", lang),
    )
    key = "staff.center.extension_approved" if approve else "staff.center.extension_denied"
    await record(callback, t(key, lang, code=case.code, name=_who(dispatcher, lang)))


async def on_joint_approve(
    callback: CallbackQuery,
    callback_data: CaseAction,
    session: AsyncSession,
    person: Person | None,
    lang: str,
) -> None:
    """吹哨: the request's units come from the stored request, never from the button."""
    dispatcher = actor(person)
    request = await session.get(OutboxMessage, callback_data.arg) if callback_data.arg else None
    if (
        request is None
        or request.kind != NoticeKind.joint_request
        or request.case_id != callback_data.case_id
    ):
        raise NotFound("没有找到这份联办申请。", code=ErrorCode.no_joint_request)
    codes = [str(c) for c in (request.payload or {}).get("unit_codes") or []]
    case = await workflow.approve_joint(
        session=session, actor=dispatcher, case_id=callback_data.case_id, unit_codes=codes
    )
    await record(
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
    supervisor = actor(person)
    case = await workflow.supervise(
        session=session,
        actor=supervisor,
        case_id=callback_data.case_id,
        note=t("staff.center.supervise_note", lang),
    )
    await callback.answer(t("staff.center.supervised", lang, code=case.code), show_alert=False)
    if isinstance(callback.message, Message):
        await callback.message.answer(
            t("staff.center.supervised_record", lang, code=case.code, name=_who(supervisor, lang))
        )


def create_router() -> Router:
    router = Router(name="center")
    cb = router.callback_query
    cb.register(on_pick_unit, CaseAction.filter(F.action == Act.pick_unit))
    cb.register(on_transfer, CaseAction.filter(F.action == Act.transfer))
    cb.register(on_approve_return, CaseAction.filter(F.action == Act.approve_return))
    to_unit = {Act.dispatch_to, Act.transfer_to, Act.return_to}
    cb.register(on_to_unit, CaseAction.filter(F.action.in_(to_unit)))
    cb.register(on_overrule, CaseAction.filter(F.action == Act.overrule))
    cb.register(
        on_extension, CaseAction.filter(F.action.in_({Act.extension_yes, Act.extension_no}))
    )
    cb.register(on_joint_approve, CaseAction.filter(F.action == Act.joint_approve))
    cb.register(on_supervise, CaseAction.filter(F.action == Act.supervise))
    return router
