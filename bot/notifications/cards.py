"""The case card and the staff keyboards: shared by the notifier and the staff/center handlers.

A card is rendered from the case as it is *now*, so a card delivered late (after retries) or
edited after a claim always shows the current state. Privacy (backend/services/privacy.py):
anonymous cases show no identity, numbers (contact and inside the text) are masked unless the
caller says this viewer may see them (``reveal``), and every user text is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.county import County, names_before_address
from backend.models import Attachment, Case, CaseTask, Person, Rating, Role, Unit
from backend.models.base import aware
from backend.services import runtime, workflow
from backend.services.privacy import mask_phone, mask_text
from backend.services.reasons import plain_reasons
from backend.services.workflow import Action
from bot.callbacks import Act, CaseAction
from bot.texts import Raw, keys, t

DEFAULT_TZ = "Asia/Shanghai"
CARD_TEXT_LIMIT = 300
RISK_ICONS = {"red": "🔴", "orange": "🟠", "yellow": "🟡", "blue": "🔵"}
EXTENSION_DAYS = (3, 5, 10, 15)


def button(text: str, action: Act, case_id: int, arg: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=CaseAction(action=action, case_id=case_id, arg=arg).pack()
    )


def fmt_time(value: datetime | None, lang: str, tz: str = DEFAULT_TZ) -> str:
    moment = aware(value)
    if moment is None:
        return t("notice.card.no_deadline", lang)
    local = moment.astimezone(ZoneInfo(tz))
    return local.strftime("%m-%d %H:%M")


def shorten(text: str, limit: int = CARD_TEXT_LIMIT) -> tuple[str, bool]:
    text = text.strip()
    if len(text) <= limit:
        return text, False
    return text[:limit].rstrip() + "…", True


def county() -> County:
    """The configured county (``COUNTY_DATA``; entry points call ``runtime.configure``)."""
    return runtime.county()


def unit_label(unit: Unit | None, lang: str) -> str:
    if unit is None:
        return t("notice.card.unit_unknown", lang)
    if lang == "en" and unit.name_en:
        return unit.name_en
    return unit.name


def person_label(person: Person | None, lang: str) -> str:
    if person is None:
        return t("notice.card.someone", lang)
    return person.display_name or t("notice.card.someone", lang)


def contact_line(case: Case, lang: str, *, reveal: bool = False) -> str:
    if case.anonymous:
        return t("notice.card.contact_anonymous", lang)
    phone = case.contact_phone or ""
    shown = phone if reveal else mask_phone(phone)
    name = case.contact_name or ""
    if not name and not shown:
        return t("notice.card.contact_none", lang)
    return t("notice.card.contact", lang, name=name, phone=shown).strip()


def risk_label(case: Case, lang: str) -> str:
    level = str(case.risk_level)
    return RISK_ICONS.get(level, "") + t(f"notice.card.risk_{level}", lang)


def place_label(case: Case, lang: str) -> str:
    parts = names_before_address(case.township, case.village, case.address)
    if case.address:
        parts.append(mask_text(case.address))
    return " · ".join(parts) or t("notice.card.place_unknown", lang)


def reasons_label(case: Case, lang: str) -> str:
    """Why the report came here, in plain words (from the stored classification)."""
    return "；".join(plain_reasons(case.classification, county(), lang))


async def attachment_count(session: AsyncSession, case_id: int) -> int:
    result = await session.exec(
        select(func.count()).select_from(Attachment).where(col(Attachment.case_id) == case_id)
    )
    return int(result.one())


@dataclass
class CardText:
    text: str
    truncated: bool


async def case_card_text(
    case: Case,
    *,
    session: AsyncSession,
    lang: str,
    header: str | None = None,
    tz: str = DEFAULT_TZ,
    full: bool = False,
    reveal: bool = False,
    reason: str = "new",
    unit_id: int | None = None,
) -> CardText:
    """Card: the case's current state as its headline (unless ``header`` is given), then code,
    category, place, risk, deadline, text, contact, attachments, reasons.

    ``reveal`` (from ``privacy.may_see_contact``) shows numbers unmasked; group cards never do.
    """
    if header is None:
        header = await headline(
            case, session=session, lang=lang, tz=tz, reason=reason, unit_id=unit_id
        )
    assert case.id is not None
    raw = case.text if reveal else mask_text(case.text)
    body, truncated = (raw.strip(), False) if full else shorten(raw)
    lines = [
        t("notice.card.title", lang, header=Raw(header), code=case.code),
        t("notice.card.category", lang, category=county().category_name(case.category, lang)),
        t("notice.card.place", lang, place=place_label(case, lang)),
        t("notice.card.risk", lang, risk=risk_label(case, lang)),
        t("notice.card.text", lang, text=body),
        t("notice.card.contact_line", lang, contact=contact_line(case, lang, reveal=reveal)),
    ]
    if workflow.awaits_claim(case):
        deadline = fmt_time(case.accept_deadline, lang, tz)
        lines.insert(4, t("notice.card.accept_by", lang, deadline=deadline))
    attachments = await attachment_count(session, case.id)
    if attachments:
        lines.append(t("notice.card.attachments", lang, count=attachments))
    channel = f"notice.card.channel_{case.channel}"  # 网页, 网格员, open API (not the bot)
    if channel in keys(lang):
        lines.append(t(channel, lang))
    reasons = reasons_label(case, lang)
    if reasons:
        lines.append(t("notice.card.reasons", lang, reasons=reasons))
    return CardText("\n".join(lines), truncated)


WAITING_HEADLINES = {"new", "transfer", "reopen", "overrule"}


async def headline(
    case: Case,
    *,
    session: AsyncSession,
    lang: str,
    tz: str,
    reason: str = "new",
    unit_id: int | None = None,
) -> str:
    """The case's state now, for the top of every card.

    待签收, 办理中 by whom and until when, 已退单待审核, 延期审核中, 已办结待评价, 满意/不满意,
    已关闭. ``reason``: why a card waiting for 签收 was sent (new, transfer, reopen, overrule);
    ``unit_id``: the group's unit, told where the case went when it is no longer the lead unit.
    """
    if unit_id is not None and unit_id != case.lead_unit_id and workflow.is_open(case):
        lead = await session.get(Unit, case.lead_unit_id) if case.lead_unit_id else None
        return t("notice.head.moved", lang, unit=unit_label(lead, lang))
    if workflow.awaits_claim(case):
        key = reason if reason in WAITING_HEADLINES else "new"
        if case.reopen_count and key == "new":
            key = "reopen"
        return t(f"notice.head.waiting_{key}", lang)
    if workflow.is_in_hand(case):
        claimer = await session.get(Person, case.accepted_by_id) if case.accepted_by_id else None
        pending = case.extension_requested_until is not None
        return t(
            "notice.head.extension_pending" if pending else "notice.head.in_hand",
            lang,
            name=person_label(claimer, lang),
            deadline=fmt_time(case.handle_deadline, lang, tz),
        )
    rating = (
        await session.exec(
            select(Rating).where(Rating.case_id == case.id).order_by(col(Rating.id).desc())
        )
    ).first()
    if rating is not None and not workflow.is_open(case) and case.closed_at is not None:
        return t(f"notice.head.rated_{rating.score}", lang)
    return t(f"notice.head.{case.status}", lang)


def _member(unit_id: int | None) -> Person:
    """Any staff member of a unit: what a unit group's card offers them."""
    return Person(role=Role.staff, unit_id=unit_id)


def card_keyboard(case: Case, lang: str, unit_id: int | None = None) -> InlineKeyboardMarkup:
    """A unit group's card (default: the lead unit's): 签收 and 退单 while the policy offers that
    unit 签收 (a unit the case was transferred away from gets none), always 详情."""
    assert case.id is not None
    actions = workflow.allowed_actions(case, _member(unit_id or case.lead_unit_id))
    rows: list[list[InlineKeyboardButton]] = []
    if Action.accept in actions:
        row = [button(t("staff.btn.claim", lang), Act.claim, case.id)]
        if Action.return_ in actions:
            row.append(button(t("staff.btn.return", lang), Act.ret, case.id))
        rows.append(row)
    rows.append([button(t("staff.btn.detail", lang), Act.detail, case.id)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def task_keyboard(
    case: Case, unit_id: int | None, lang: str, *, session: AsyncSession
) -> InlineKeyboardMarkup:
    """An assisting unit's group card: 签收协办 while its task waits, always 详情."""
    assert case.id is not None
    member = _member(unit_id)
    task = (
        await session.exec(
            select(CaseTask).where(CaseTask.case_id == case.id, CaseTask.unit_id == unit_id)
        )
    ).first()
    row = []
    if Action.accept_task in workflow.allowed_actions(case, member, task=task):
        row.append(button(t("staff.btn.claim_task", lang), Act.claim, case.id))
    row.append(button(t("staff.btn.detail", lang), Act.detail, case.id))
    return InlineKeyboardMarkup(inline_keyboard=[row])


# Private panel buttons in order: (policy action, button action, text key).
PANEL = (
    (Action.resolve, Act.resolve, "staff.btn.resolve"),
    (Action.complete_task, Act.task_done, "staff.btn.task_done"),
    (Action.request_extension, Act.extend, "staff.btn.extend"),
    (Action.request_joint, Act.joint, "staff.btn.joint"),
    (Action.return_, Act.ret, "staff.btn.return"),
    (Action.note, Act.note, "staff.btn.note"),
    (Action.attachment, Act.material, "staff.btn.material"),
)


async def panel_keyboard(
    case: Case, person: Person, lang: str, *, session: AsyncSession
) -> InlineKeyboardMarkup:
    """The claimer's (or an assisting unit's) private panel: what the policy allows them now."""
    assert case.id is not None
    actions = await workflow.actions_for(session, case, person)
    buttons = [
        button(t(key, lang), act, case.id) for action, act, key in PANEL if action in actions
    ]
    buttons.append(button(t("staff.btn.detail", lang), Act.detail, case.id))
    return InlineKeyboardMarkup(
        inline_keyboard=[buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    )


# Center desk buttons in order: (policy action, button action, text key).
CENTER_BUTTONS = {
    Action.dispatch: (Act.pick_unit, "staff.btn.pick_unit"),
    Action.approve_return: (Act.approve_return, "staff.btn.approve_return"),
    Action.overrule_return: (Act.overrule, "staff.btn.overrule"),
    Action.transfer: (Act.transfer, "staff.btn.transfer"),
    Action.supervise: (Act.supervise, "staff.btn.supervise"),
}


def center_keyboard(
    case: Case, lang: str, *, offer: tuple[Action, ...], arg: int = 0
) -> InlineKeyboardMarkup:
    """A center item's buttons: those of ``offer`` a dispatcher may take now, then 详情.

    decide_extension and approve_joint become two and one buttons (``arg``: the request row).
    """
    assert case.id is not None
    actions = workflow.allowed_actions(case, Person(role=Role.dispatcher))
    if Action.dispatch in actions and Action.dispatch in offer:
        actions -= {Action.transfer}  # in triage 分派 is the reassignment
    row: list[InlineKeyboardButton] = []
    for action in offer:
        if action not in actions:
            continue
        if action == Action.decide_extension:
            row.append(button(t("staff.btn.extension_yes", lang), Act.extension_yes, case.id))
            row.append(button(t("staff.btn.extension_no", lang), Act.extension_no, case.id))
        elif action == Action.approve_joint:
            row.append(button(t("staff.btn.joint_approve", lang), Act.joint_approve, case.id, arg))
        else:
            act, key = CENTER_BUTTONS[action]
            row.append(button(t(key, lang), act, case.id))
    rows = [row[i : i + 2] for i in range(0, len(row), 2)]
    rows.append([button(t("staff.btn.detail", lang), Act.detail, case.id)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def unit_picker(
    case_id: int,
    units: list[Unit],
    lang: str,
    *,
    action: Act,
    selected: set[int] | None = None,
    extra: list[list[InlineKeyboardButton]] | None = None,
    columns: int = 2,
) -> InlineKeyboardMarkup:
    """Units as buttons (arg = unit id); ``selected`` marks a multi-choice."""
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for unit in units:
        assert unit.id is not None
        label = unit_label(unit, lang)
        if selected is not None and unit.id in selected:
            label = "✅ " + label
        row.append(button(label, action, case_id, unit.id))
        if len(row) == columns:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    rows.extend(extra or [])
    return InlineKeyboardMarkup(inline_keyboard=rows)
