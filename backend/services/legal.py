"""Free legal consultation: the question log and the hand-off to the legal expert desk.

Every question a resident asks is logged (``LegalQuestionLog``): answered ones carry the entry
shown and the resident's feedback (有帮助/没帮助); unanswered ones are the admin's list of
entries to add. A resident who wants a person (找律师, or no confident answer) gets a case for
the 司法局 法律专家工作室: department ``justice``, category ``C10`` (法律服务), with the
question as its text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from sqlalchemy import ColumnElement, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

import knowledge_base
from backend.county import County
from backend.models import Case, LegalQuestionLog, Person
from backend.services import intake
from backend.services.errors import NotFound, ValidationFailed
from knowledge_base import ANSWER, DECLINE, Consultation, Hit

LEGAL_DEPARTMENT = "justice"
LEGAL_CATEGORY = "C10"
DEFAULT_REPLY_WORKING_DAYS = 3  # 签收 1 + 咨询类 2 (county.yaml time profile "consult")
MAX_QUESTION_CHARS = 5000  # longer questions are cut (a Telegram message holds 4,096)
SEARCH_CHARS = 1000  # retrieval looks at the start of a long message; the log keeps all of it
# A declined statement the classifier files under a public service or hazard (B*, C*) or
# pollution (D16) with this confidence is a report, not a legal question.
REPORT_CONFIDENCE = 0.6
REPORT_CATEGORY_PREFIXES = ("B", "C")
LEGAL_CATEGORIES = frozenset({"C10"})
REPORT_CATEGORIES = frozenset({"D16"})

_PHONE_NOISE = re.compile(r"[\s\-()（）]")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}\d{7,8}")


def normalize_phone(raw: str) -> str | None:
    """A mainland mobile or landline number without spaces/dashes/+86, or None if it is not one."""
    digits = _PHONE_NOISE.sub("", raw.strip())
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    if len(digits) == 13 and digits.startswith("86"):  # a shared contact: 8613812345678
        digits = digits[2:]
    if _MOBILE.fullmatch(digits) or _LANDLINE.fullmatch(digits):
        return digits
    return None


class Consulting(Protocol):
    """What consultation needs from the knowledge base (the ``knowledge_base`` package)."""

    def consult(self, question: str, limit: int = 3) -> Consultation: ...


def consult(*, text: str, knowledge: Consulting | None = None) -> Consultation:
    """What a resident's message is, for the legal desk and for free text at the main menu.

    The knowledge base tells small talk, off-topic questions, reports and legal questions
    (with the band: answer, suggest, decline); a declined statement that the classifier
    confidently routes as a public-service problem or hazard becomes a report.
    """
    kb: Consulting = knowledge if knowledge is not None else knowledge_base
    result = kb.consult(text[:SEARCH_CHARS])
    if result.is_question and result.band == DECLINE and not result.asked and _report_like(text):
        return replace(result, kind="report", label="routing")
    return result


def _report_like(text: str) -> bool:
    data = intake.classify(text[:SEARCH_CHARS])
    category = str(data.get("category") or "")
    if category in LEGAL_CATEGORIES or float(data.get("confidence") or 0) < REPORT_CONFIDENCE:
        return False
    return category in REPORT_CATEGORIES or category.startswith(REPORT_CATEGORY_PREFIXES)


def takes_free_text(result: Consultation) -> bool:
    """Free text at the main menu goes to the legal desk when it is a legal question phrased as
    one, or a statement the knowledge base answers with confidence (the answer card offers the
    report too); other statements, a half-matching one included, start a report."""
    return result.is_question and (result.asked or result.band == ANSWER)


def _clean_question(question: str) -> str:
    text = question.strip()
    if not text:
        raise ValidationFailed("请先写下您想咨询的问题。", code="legal_question_empty")
    return text[:MAX_QUESTION_CHARS]


async def log_question(
    *,
    session: AsyncSession,
    person: Person | None,
    question: str,
    hits: Sequence[Hit],
    now: datetime | None = None,
) -> LegalQuestionLog:
    """Record a question and what was shown (the top hit), or that it went unanswered."""
    top = hits[0] if hits else None
    row = LegalQuestionLog(
        question=_clean_question(question),
        entry_id=top.entry_id if top else None,
        score=top.score if top else None,
        answered=top is not None,
        person_id=person.id if person else None,
    )
    if now is not None:
        row.created_at = now
    session.add(row)
    await session.commit()
    await session.refresh(row)
    return row


async def get_question_log(
    *, session: AsyncSession, log_id: int, person: Person | None = None
) -> LegalQuestionLog:
    """A logged question; with ``person``, only that person's own (buttons are never trusted)."""
    row = await session.get(LegalQuestionLog, log_id)
    if row is None or (person is not None and row.person_id != person.id):
        raise NotFound("没有找到这个问题，请重新提问。", code="legal_question_not_found")
    return row


async def mark_helpful(
    *, session: AsyncSession, log_id: int, helpful: bool, person: Person | None = None
) -> LegalQuestionLog:
    """Store the resident's 有帮助/没帮助 on an answered question (the last press wins)."""
    row = await get_question_log(session=session, log_id=log_id, person=person)
    row.helpful = helpful
    session.add(row)
    await session.commit()
    await session.refresh(row)
    return row


async def unanswered_questions(
    *, session: AsyncSession, limit: int = 100, include_unhelpful: bool = True
) -> list[LegalQuestionLog]:
    """The admin's worklist: questions with no answer (and, optionally, answers marked 没帮助)."""
    condition: ColumnElement[bool] = col(LegalQuestionLog.answered).is_(False)
    if include_unhelpful:
        condition = or_(condition, col(LegalQuestionLog.helpful).is_(False))
    statement = (
        select(LegalQuestionLog)
        .where(condition)
        .order_by(col(LegalQuestionLog.created_at).desc())
        .limit(limit)
    )
    return list((await session.exec(statement)).all())


async def handoff_to_lawyer(
    *,
    session: AsyncSession,
    person: Person,
    question: str,
    contact_phone: str | None = None,
    anonymous: bool = False,
    channel: str = "telegram",
    now: datetime | None = None,
) -> Case:
    """Create a case for the 司法局 法律专家工作室 with the question as its text.

    ``contact_phone`` (normalised; refused when it is not a phone number) lets the lawyer call
    back; an anonymous request keeps the resident's identity from the desk, who answers through
    the bot.
    """
    text = _clean_question(question)
    phone = None
    if contact_phone:
        phone = normalize_phone(contact_phone)
        if phone is None:
            raise ValidationFailed("手机号格式不对，请重新输入。", code="legal_phone_invalid")
    draft = intake.ReportDraft(
        text=text,
        anonymous=anonymous,
        contact_phone=phone,
        contact_name=None if anonymous else (person.display_name or None),
        phone_visible=phone is not None,
        category_override=LEGAL_CATEGORY,
        channel=channel,
    )
    return await intake.submit_report(session=session, reporter=person, draft=draft, now=now)


def reply_working_days(county: County | None) -> int:
    """Working days within which the desk answers a hand-off: 签收 + handling of C10."""
    if county is None:
        return DEFAULT_REPLY_WORKING_DAYS
    profile = county.category_profile(LEGAL_CATEGORY)
    days = profile.accept_working_days + profile.handle_working_days
    return days if days > 0 else DEFAULT_REPLY_WORKING_DAYS
