"""Outbox row → Telegram message. Every NoticeKind has its wording here (texts in notices.yaml).

The backend writes only ids and small facts into payloads; the wording, the buttons and the
privacy rules (masked phone, anonymous reporters) are applied here, when the row is delivered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Case, OutboxMessage, Person, RatingScore, Unit
from backend.models.base import aware
from backend.services.outbox import NoticeKind
from backend.services.privacy import is_party, mask_text
from backend.services.workflow import Action
from bot.callbacks import Act, CaseAction, RateCase
from bot.dialogs.flow import natural_deadline
from bot.notifications.cards import (
    DEFAULT_TZ,
    RISK_ICONS,
    button,
    card_keyboard,
    case_card_text,
    center_keyboard,
    county,
    fmt_time,
    place_label,
    shorten,
    task_keyboard,
    unit_label,
)
from bot.texts import Raw, normalize_language, t

CENTER_CODE = "center"

__all__ = ["NoticeKind", "Rendered", "render_notice", "render_summary", "resolve_chat"]


@dataclass
class Rendered:
    """What to send: ``text`` (HTML) and buttons; an edit when ``edit_message_id`` is set.

    ``chat_id`` overrides the row's chat (edits go to the card's chat); ``skip`` means nothing
    needs sending (e.g. the card to edit was never delivered on its own).
    """

    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    edit_message_id: int | None = None
    chat_id: int | None = None
    skip: bool = False


async def center_unit(session: AsyncSession) -> Unit | None:
    result = await session.exec(select(Unit).where(Unit.code == CENTER_CODE))
    return result.first()


async def resolve_chat(message: OutboxMessage, *, session: AsyncSession) -> tuple[int | None, str]:
    """Where a row goes now, and in which language.

    A unit's current group wins over the chat recorded when the row was written (groups get
    re-bound); a unit without a group falls back to the center's group.
    """
    if message.recipient_person_id is not None:
        person = await session.get(Person, message.recipient_person_id)
        if person is not None:
            return person.telegram_id or message.chat_id, normalize_language(person.language)
        return message.chat_id, "zh"
    if message.recipient_unit_id is not None:
        unit = await session.get(Unit, message.recipient_unit_id)
        if unit is not None and unit.chat_id is not None:
            return unit.chat_id, "zh"
        center = await center_unit(session)
        if center is not None and center.chat_id is not None:
            return center.chat_id, "zh"
        return None, "zh"
    return message.chat_id, "zh"


async def _case(session: AsyncSession, message: OutboxMessage) -> Case:
    case_id = message.case_id or message.payload.get("case_id")
    case = await session.get(Case, case_id) if case_id else None
    if case is None:
        raise LookupError(f"outbox {message.id}: case {case_id} not found")
    await session.refresh(case)
    return case


async def _unit_name(session: AsyncSession, unit_id: int | None, lang: str) -> str:
    unit = await session.get(Unit, unit_id) if unit_id else None
    return unit_label(unit, lang)


def _unit_name_by_code(code: str | None, lang: str) -> str:
    return county().department_name(code, lang) if code else t("notice.card.unit_unknown", lang)


def brief(case: Case, lang: str) -> str:
    """One-line summary of a case for center items and summaries."""
    return t(
        "notice.brief",
        lang,
        icon=RISK_ICONS.get(str(case.risk_level), ""),
        code=case.code,
        category=county().category_name(case.category, lang),
        place=place_label(case, lang),
    )


def _keyboard(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def _detail_row(case_id: int, lang: str) -> list[InlineKeyboardButton]:
    return [button(t("staff.btn.detail", lang), Act.detail, case_id)]


async def render_notice(
    message: OutboxMessage,
    *,
    session: AsyncSession,
    language: str = "zh",
    tz: str = DEFAULT_TZ,
) -> Rendered:
    """Render one outbox row; raises LookupError when the case it names is gone."""
    lang = normalize_language(language)
    kind = message.kind
    payload: dict[str, Any] = message.payload or {}
    if kind == NoticeKind.digest:
        return Rendered(render_digest(payload, lang))
    if kind == NoticeKind.desk_changed:
        event = "taken" if payload.get("event") == "taken" else "moved"
        params = {k: str(payload.get(k) or "") for k in ("unit", "previous", "title")}
        return Rendered(t(f"notice.desk_{event}", lang, **params))
    case = await _case(session, message)
    assert case.id is not None
    cid = case.id

    if kind == NoticeKind.case_card:
        reason = str(payload.get("reason") or "new")
        unit_id = message.recipient_unit_id
        card = await case_card_text(
            case, session=session, lang=lang, tz=tz, reason=reason, unit_id=unit_id
        )
        text = card.text
        if reason == "task_done":
            text = f"{t('notice.card_task_done', lang)}\n{text}"
        return Rendered(text, card_keyboard(case, lang, message.recipient_unit_id))

    if kind == NoticeKind.joint_task:
        return await _task_card(case, message, session=session, lang=lang, tz=tz)

    if kind == NoticeKind.triage:
        card = await case_card_text(
            case, session=session, lang=lang, header=t("notice.triage", lang), tz=tz
        )
        return Rendered(card.text, center_keyboard(case, lang, offer=(Action.dispatch,)))

    if kind == NoticeKind.red_alert:
        card = await case_card_text(
            case, session=session, lang=lang, header=t("notice.red_alert", lang), tz=tz
        )
        offer: tuple[Action, ...] = (Action.dispatch, Action.supervise, Action.transfer)
        return Rendered(card.text, center_keyboard(case, lang, offer=offer))

    if kind == NoticeKind.return_request:
        text = t(
            "notice.return_request",
            lang,
            brief=Raw(brief(case, lang)),
            unit=_unit_name_by_code(payload.get("unit_code"), lang),
            reason=str(payload.get("reason_code") or ""),
            text=shorten(mask_text(str(payload.get("text") or "")), 500)[0],
        )
        offer = (Action.approve_return, Action.overrule_return)
        return Rendered(text, center_keyboard(case, lang, offer=offer))

    if kind == NoticeKind.extension_request:
        text = t(
            "notice.extension_request",
            lang,
            brief=Raw(brief(case, lang)),
            unit=await _unit_name(session, case.lead_unit_id, lang),
            days=payload.get("days", ""),
            reason=shorten(mask_text(str(payload.get("reason") or "")), 500)[0],
            deadline=fmt_time(case.handle_deadline, lang, tz),
        )
        return Rendered(text, center_keyboard(case, lang, offer=(Action.decide_extension,)))

    if kind == NoticeKind.joint_request:
        codes = [str(c) for c in payload.get("unit_codes") or []]
        text = t(
            "notice.joint_request",
            lang,
            brief=Raw(brief(case, lang)),
            unit=await _unit_name(session, case.lead_unit_id, lang),
            units="、".join(_unit_name_by_code(c, lang) for c in codes),
            reason=shorten(mask_text(str(payload.get("reason") or "")), 500)[0],
        )
        offer = (Action.approve_joint,)
        return Rendered(text, center_keyboard(case, lang, offer=offer, arg=message.id or 0))

    if kind == NoticeKind.unsatisfied:
        text = t(
            "notice.unsatisfied",
            lang,
            brief=Raw(brief(case, lang)),
            unit=await _unit_name(session, case.lead_unit_id, lang),
            reason=shorten(
                mask_text(str(payload.get("reason") or t("notice.no_reason", lang))), 300
            )[0],
            count=case.reopen_count,
        )
        offer = (Action.supervise, Action.transfer)
        return Rendered(text, center_keyboard(case, lang, offer=offer))

    if kind == NoticeKind.deadline_warning:
        level = str(payload.get("level") or "yellow")
        clock = str(payload.get("clock") or "handle")
        deadline = payload.get("deadline")
        text = t(
            f"notice.warning_{'red' if level == 'red' else 'yellow'}",
            lang,
            brief=Raw(brief(case, lang)),
            unit=await _unit_name(session, case.lead_unit_id, lang),
            clock=t(f"notice.clock_{'accept' if clock == 'accept' else 'handle'}", lang),
            deadline=_payload_time(deadline, lang, tz)
            or fmt_time(
                case.accept_deadline if clock == "accept" else case.handle_deadline, lang, tz
            ),
        )
        if await _is_center_recipient(session, message):
            offer = (Action.supervise, Action.transfer)
            return Rendered(text, center_keyboard(case, lang, offer=offer))
        return Rendered(text, _keyboard(_detail_row(cid, lang)))

    if kind == NoticeKind.supervision:
        text = t(
            "notice.supervision",
            lang,
            brief=Raw(brief(case, lang)),
            note=shorten(mask_text(str(payload.get("note") or "")), 500)[0],
            by=str(payload.get("by") or t("notice.card.center", lang)),
            deadline=fmt_time(
                case.handle_deadline if case.accepted_at else case.accept_deadline, lang, tz
            ),
        )
        return Rendered(text, _keyboard(_detail_row(cid, lang)))

    if kind == NoticeKind.staff_notice:
        event = str(payload.get("event") or "")
        key = f"notice.staff_{event}" if event in STAFF_EVENTS else "notice.staff_other"
        text = t(
            key,
            lang,
            code=case.code,
            note=str(payload.get("note") or ""),
            deadline=fmt_time(case.handle_deadline, lang, tz),
            event=event,
        )
        return Rendered(text, _keyboard(_detail_row(cid, lang)))

    if kind == NoticeKind.case_update:
        if await _is_follower_recipient(session, case, message):
            return Rendered(render_follower_update(case, lang))
        return Rendered(await render_case_update(case, payload, session=session, lang=lang, tz=tz))

    if kind == NoticeKind.rating_request:
        return Rendered(
            t("notice.rating_request", lang, code=case.code),
            InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text=t(f"notice.rate_{score.value}", lang),
                            callback_data=RateCase(case_id=cid, score=score).pack(),
                        )
                        for score in RatingScore
                    ]
                ]
            ),
        )

    if kind == NoticeKind.card_update:
        return await render_card_update(case, payload, session=session, lang=lang, tz=tz)

    raise LookupError(f"unknown notice kind {kind!r}")


STAFF_EVENTS = {
    "extension_approved",
    "extension_denied",
    "return_overruled",
    "return_approved",
    "joint_approved",
}
UPDATE_EVENTS = {
    "received",
    "accepted",
    "extended",
    "transferred",
    "resolved",
    "reopened",
    "closed",
}


def _moment(value: Any) -> datetime | None:
    """A time stored in a notice's payload (ISO text), or None."""
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _payload_time(value: Any, lang: str, tz: str) -> str:
    if not value:
        return ""
    moment = _moment(value)
    return str(value) if moment is None else fmt_time(aware(moment), lang, tz)


async def _is_center_recipient(session: AsyncSession, message: OutboxMessage) -> bool:
    if message.recipient_unit_id is None:
        return False
    unit = await session.get(Unit, message.recipient_unit_id)
    return unit is not None and unit.code == CENTER_CODE


async def _is_follower_recipient(
    session: AsyncSession, case: Case, message: OutboxMessage
) -> bool:
    """A resident who only follows the case (关注此案), not its reporter or filer."""
    if message.recipient_person_id is None:
        return False
    recipient = await session.get(Person, message.recipient_person_id)
    return recipient is None or not is_party(recipient, case)


def render_follower_update(case: Case, lang: str) -> str:
    """A follower gets the status only: no result text, no unit reply, no reporter."""
    status = case.status.value
    key = "cases.status_resolved_follower" if status == "resolved" else f"cases.status_{status}"
    return t("notice.update_follower", lang, code=case.code, status=t(key, lang))


async def render_case_update(
    case: Case, payload: dict[str, Any], *, session: AsyncSession, lang: str, tz: str
) -> str:
    """The resident's (and followers') news about their case."""
    event = str(payload.get("event") or "")
    unit_name = str(payload.get("unit_name") or "") or await _unit_name(
        session, case.lead_unit_id, lang
    )
    key = f"notice.update_{event}" if event in UPDATE_EVENTS else "notice.update_other"
    result_text = str(payload.get("result_text") or case.result_text or "")
    return t(
        key,
        lang,
        code=case.code,
        unit=unit_name,
        result=shorten(result_text, 1500)[0],
        deadline=natural_deadline(
            _moment(payload.get("new_deadline")) or case.handle_deadline, tz, lang
        ),
    )


async def render_card_update(
    case: Case, payload: dict[str, Any], *, session: AsyncSession, lang: str, tz: str
) -> Rendered:
    """Edit the group card that was sent for this case (skipped if it was never sent alone)."""
    card_row_id = payload.get("outbox_id_of_card")
    card_row = await session.get(OutboxMessage, card_row_id) if card_row_id else None
    if card_row is None or card_row.telegram_message_id is None:
        return Rendered("", skip=True)
    chat_id, _ = await resolve_chat(card_row, session=session)
    if card_row.chat_id is not None:
        chat_id = card_row.chat_id
    if card_row.kind == NoticeKind.joint_task:
        rendered = await _task_card(case, card_row, session=session, lang=lang, tz=tz)
    else:
        reason = str(payload.get("reason") or (card_row.payload or {}).get("reason") or "new")
        unit_id = card_row.recipient_unit_id
        card = await case_card_text(
            case, session=session, lang=lang, tz=tz, reason=reason, unit_id=unit_id
        )
        keyboard = card_keyboard(case, lang, card_row.recipient_unit_id)
        rendered = Rendered(card.text, keyboard)
    rendered.edit_message_id = card_row.telegram_message_id
    rendered.chat_id = chat_id
    return rendered


async def _task_card(
    case: Case, row: OutboxMessage, *, session: AsyncSession, lang: str, tz: str
) -> Rendered:
    """An assisting unit's card: 协办 of the lead unit, then the case's state as its headline."""
    lead = _unit_name_by_code((row.payload or {}).get("lead_unit_code"), lang)
    state = await case_card_text(case, session=session, lang=lang, tz=tz)
    text = f"{t('notice.joint_task', lang, lead=lead)}\n{state.text}"
    return Rendered(text, await task_keyboard(case, row.recipient_unit_id, lang, session=session))


def render_digest(payload: dict[str, Any], lang: str) -> str:
    """satisfaction: per cent (int, -1 = no ratings) as deadlines.enqueue_daily_digest writes it;
    a float ≤ 1 is read as a fraction."""
    satisfaction = payload.get("satisfaction")
    if isinstance(satisfaction, float) and 0 <= satisfaction <= 1:
        rate = f"{satisfaction * 100:.0f}%"
    elif isinstance(satisfaction, int | float) and satisfaction >= 0:
        rate = f"{satisfaction:.0f}%"
    else:
        rate = t("notice.digest_no_rating", lang)
    return t(
        "notice.digest",
        lang,
        day=str(payload.get("date") or payload.get("day") or ""),
        new=payload.get("new", 0),
        overdue=payload.get("overdue", 0),
        due_today=payload.get("due_today", 0),
        satisfaction=rate,
    )


async def render_summary(
    messages: Sequence[OutboxMessage], *, session: AsyncSession, language: str = "zh"
) -> Rendered:
    """One message for a burst of cards to the same group: codes listed, a button to open each."""
    lang = normalize_language(language)
    lines = [t("notice.summary_title", lang, count=len(messages))]
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for message in messages:
        case = await _case(session, message)
        assert case.id is not None
        lines.append(brief(case, lang))
        row.append(
            InlineKeyboardButton(
                text=t("staff.btn.open", lang, code=case.code),
                callback_data=CaseAction(action=Act.open, case_id=case.id).pack(),
            )
        )
        if len(row) == 2:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    lines.append(t("notice.summary_hint", lang))
    return Rendered("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows))
