"""The case card and the staff keyboards: shared by the notifier and the staff/center handlers.

A card is rendered from the case as it is *now*, so a card delivered late (after retries) or
edited after a claim always shows the current state. Privacy (backend/services/privacy.py):
anonymous cases show no identity, numbers (contact and inside the text) are masked unless the
caller says this viewer may see them (``reveal``), and every user text is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.county import County
from backend.models import Attachment, Case, CaseStatus, Person, Unit
from backend.services import runtime
from backend.services.privacy import mask_phone, mask_text
from bot.callbacks import CaseAction
from bot.texts import Raw, t

DEFAULT_TZ = "Asia/Shanghai"
CARD_TEXT_LIMIT = 300
RISK_ICONS = {"red": "🔴", "orange": "🟠", "yellow": "🟡", "blue": "🔵"}
RETURN_REASONS = ("属地不符", "权属不清", "职能交叉", "其他")
EXTENSION_DAYS = (3, 5, 10, 15)
AWAITING_CLAIM = (CaseStatus.dispatched, CaseStatus.reopened)


class A:
    """Callback action names (short: callback data is at most 64 bytes)."""

    claim = "claim"
    ret = "ret"  # 退单: show the reasons
    ret_reason = "retr"  # arg = index in RETURN_REASONS
    detail = "det"
    open = "open"  # open a card from a coalesced summary
    resolve = "res"
    evidence_done = "evd"
    extend = "ext"  # arg = days, or "" to show the choices
    joint = "jnt"  # show the unit picker
    joint_toggle = "jtg"  # arg = unit id
    joint_send = "jok"
    note = "note"
    material = "mat"
    task_done = "tdn"
    pick_unit = "pick"  # center: show the unit picker to dispatch
    dispatch_to = "dto"  # arg = unit id
    approve_return = "rok"  # show the unit picker (or back to triage)
    return_to = "rto"  # arg = unit id, "" = back to triage
    overrule = "rno"
    extension_yes = "xok"
    extension_no = "xno"
    joint_approve = "jap"  # arg = outbox message id of the request
    supervise = "sup"
    cancel = "cxl"


def button(text: str, action: str, case_id: int, arg: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=CaseAction(action=action, case_id=case_id, arg=arg).pack()
    )


def aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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
    parts = [p for p in (case.township, case.village) if p]
    if case.address:
        parts.append(mask_text(case.address))
    return " · ".join(parts) or t("notice.card.place_unknown", lang)


def reasons_label(case: Case) -> str:
    reasons = case.classification.get("reasons") if case.classification else None
    if not reasons:
        return ""
    if isinstance(reasons, str):
        return reasons
    return "；".join(str(r) for r in list(reasons)[:4])


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
    header: str,
    tz: str = DEFAULT_TZ,
    full: bool = False,
    reveal: bool = False,
) -> CardText:
    """Card body: code, category, place, risk, deadline, text, contact, attachments, reasons.

    ``reveal`` (from ``privacy.may_see_contact``) shows numbers unmasked; group cards never do.
    """
    assert case.id is not None
    raw = case.text if reveal else mask_text(case.text)
    body, truncated = (raw.strip(), False) if full else shorten(raw)
    lines = [
        t("notice.card.title", lang, header=Raw(header), code=case.code),
        t("notice.card.category", lang, category=county().category_name(case.category, lang)),
        t("notice.card.place", lang, place=place_label(case, lang)),
        t("notice.card.risk", lang, risk=risk_label(case, lang)),
        t("notice.card.accept_by", lang, deadline=fmt_time(case.accept_deadline, lang, tz)),
        t("notice.card.text", lang, text=body),
        t("notice.card.contact_line", lang, contact=contact_line(case, lang, reveal=reveal)),
    ]
    attachments = await attachment_count(session, case.id)
    if attachments:
        lines.append(t("notice.card.attachments", lang, count=attachments))
    reasons = reasons_label(case)
    if reasons:
        lines.append(t("notice.card.reasons", lang, reasons=reasons))
    status = await status_line(case, session=session, lang=lang, tz=tz)
    if status:
        lines.append("")
        lines.append(status)
    return CardText("\n".join(lines), truncated)


async def status_line(case: Case, *, session: AsyncSession, lang: str, tz: str) -> str:
    """What happened to the card since it was sent (empty while it still waits for 签收)."""
    status = case.status
    if status in AWAITING_CLAIM:
        return ""
    if status == CaseStatus.accepted:
        claimer = await session.get(Person, case.accepted_by_id) if case.accepted_by_id else None
        return t(
            "notice.card.status_accepted",
            lang,
            name=person_label(claimer, lang),
            deadline=fmt_time(case.handle_deadline, lang, tz),
        )
    return t(f"notice.card.status_{status}", lang)


def card_keyboard(case: Case, lang: str, *, truncated: bool) -> InlineKeyboardMarkup | None:
    """签收 / 退单 / 详情 while the case waits for 签收; afterwards only 详情."""
    assert case.id is not None
    rows: list[list[InlineKeyboardButton]] = []
    if case.status in AWAITING_CLAIM:
        rows.append(
            [
                button(t("staff.btn.claim", lang), A.claim, case.id),
                button(t("staff.btn.return", lang), A.ret, case.id),
            ]
        )
    rows.append([button(t("staff.btn.detail", lang), A.detail, case.id)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def task_keyboard(case_id: int, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(t("staff.btn.claim_task", lang), A.claim, case_id),
                button(t("staff.btn.detail", lang), A.detail, case_id),
            ]
        ]
    )


def claimer_keyboard(case_id: int, lang: str) -> InlineKeyboardMarkup:
    """The claimer's private panel after 签收."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(t("staff.btn.resolve", lang), A.resolve, case_id),
                button(t("staff.btn.extend", lang), A.extend, case_id),
            ],
            [
                button(t("staff.btn.joint", lang), A.joint, case_id),
                button(t("staff.btn.note", lang), A.note, case_id),
            ],
            [
                button(t("staff.btn.material", lang), A.material, case_id),
                button(t("staff.btn.detail", lang), A.detail, case_id),
            ],
        ]
    )


def assisting_keyboard(case_id: int, lang: str) -> InlineKeyboardMarkup:
    """An assisting unit's private panel after it accepted its part."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(t("staff.btn.task_done", lang), A.task_done, case_id)],
            [
                button(t("staff.btn.note", lang), A.note, case_id),
                button(t("staff.btn.material", lang), A.material, case_id),
            ],
            [button(t("staff.btn.detail", lang), A.detail, case_id)],
        ]
    )


def unit_picker(
    case_id: int,
    units: list[Unit],
    lang: str,
    *,
    action: str,
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
        row.append(button(label, action, case_id, str(unit.id)))
        if len(row) == columns:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    rows.extend(extra or [])
    return InlineKeyboardMarkup(inline_keyboard=rows)
