"""Intake: a report becomes a case (一案一码), classified and routed, in one transaction.

``preview_routing`` (pure) shows the resident where the report will go before they confirm;
``submit_report`` classifies, stores the case with the classifier's reasons, and dispatches it to
the owning unit, to the center's triage window when the classifier abstains, or records a grid
worker's 就地化解. ``find_similar_open_cases`` lets the bot offer 关注此案 instead of a duplicate.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from rapidfuzz import fuzz
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, or_, select, update

from backend.county import CENTER, County, haversine_km
from backend.models import (
    Attachment,
    Case,
    CaseCodeSequence,
    CaseStatus,
    CaseTask,
    Person,
    RiskLevel,
    Role,
    Unit,
)
from backend.models.base import utcnow
from backend.models.case import OPEN_STATUSES
from backend.services import runtime, workflow
from backend.services.deadlines import accept_deadline
from backend.services.directory import get_unit
from backend.services.errors import NotAllowed, NotFound, ValidationFailed
from backend.services.outbox import NoticeKind
from backend.services.workflow import Action, Change, Notice

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

MAX_TEXT = 20_000  # long reports (several Telegram messages) are stored whole
SIMILAR_DAYS = 30
SIMILAR_KM = 1.0
SIMILAR_SCORE = 55.0
SIMILAR_DEGREES = SIMILAR_KM / 100  # a box a little wider than 1 km at the county's latitude
CLASSIFY_CACHE = 512  # drafts being written at once


@dataclass
class AttachmentIn:
    kind: str  # photo | document | voice | video
    file_id: str
    file_name: str | None = None


@dataclass
class ReportDraft:
    text: str
    attachments: list[AttachmentIn] = field(default_factory=list)
    township: str | None = None
    village: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    anonymous: bool = False
    contact_name: str | None = None
    contact_phone: str | None = None
    phone_visible: bool = False
    category_override: str | None = None
    channel: str = "telegram"
    on_behalf: bool = False
    grid_task_code: str | None = None
    grid_resolved: bool = False
    grid_action_text: str | None = None
    risk_override: str | None = None


@dataclass
class RoutingPreview:
    classification: dict[str, Any]
    department: str | None
    department_name: str
    unit_code: str
    category: str | None
    category_name: str
    risk_level: str
    risk_signals: list[str]
    reasons: list[str]
    needs_triage: bool
    accept_by: datetime
    safety_alert: bool


def _as_dict(result: Any) -> dict[str, Any]:
    keys = (
        "department",
        "category",
        "category_name",
        "confidence",
        "risk_level",
        "risk_signals",
        "joint_departments",
        "reasons",
    )
    data = {k: getattr(result, k, None) for k in keys}
    data["risk_signals"] = [str(s) for s in data["risk_signals"] or []]
    data["joint_departments"] = [str(s) for s in data["joint_departments"] or []]
    data["reasons"] = [str(s) for s in data["reasons"] or []]
    data["confidence"] = float(data["confidence"] or 0.0)
    data["risk_level"] = str(data["risk_level"] or RiskLevel.yellow)
    return data


def classify(text: str, *, category_override: str | None = None) -> dict[str, Any]:
    """The classifier's verdict as a plain dict (stored on the case with its reasons).

    The same draft is classified for the summary, again after each change and at 提交; the
    verdict depends only on the text, the chosen category and the process's rules, so recent
    verdicts are remembered (callers get their own copy to add to)."""
    if category_override:
        return _classify(text, category_override)
    return copy.deepcopy(_classify_text(text))


@lru_cache(maxsize=CLASSIFY_CACHE)
def _classify_text(text: str) -> dict[str, Any]:
    return _classify(text, None)


def _classify(text: str, category_override: str | None) -> dict[str, Any]:
    import classifier

    if category_override and category_override in _categories():
        # the reporter picked the category (类别不对？换一个): it decides the topic, and the risk
        # is recomputed from the text and that category (a red-signal lead still takes over)
        data = _as_dict(classifier.classify(text, category=category_override))
        data["reasons"] = [*data["reasons"], f"人工选择类别 {category_override}"]
        return data
    return _as_dict(classifier.classify(text))


def _categories() -> dict[str, Any]:
    try:
        import classifier

        return dict(classifier.categories())
    except (ImportError, AttributeError):
        return {}


def _route(
    data: dict[str, Any], township: str | None, county: County, text: str
) -> tuple[str, bool]:
    """The lead unit (the category's own county unit if it names one) and whether a person
    must triage. Adds the county's view to ``data``: the units referred at once
    (``joint_units``, e.g. 妇联 and the report's 乡镇 for 婚姻家庭), ``confidential`` and the
    offices the text names (e.g. the 供电所 for a power cut) as a reason."""
    category = data.get("category")
    unit_code = county.lead_unit_code(data.get("department"), category, township)
    data["joint_units"] = [
        code for code in county.referral_units(category, township) if code != unit_code
    ]
    data["confidential"] = county.is_confidential(category)
    mentioned = county.mentioned_offices(category, text)
    if mentioned:
        data["mentions"] = mentioned
        data["reasons"] = [*data["reasons"], "提到：" + "、".join(mentioned)]
    return unit_code, unit_code == CENTER


def preview_routing(
    *,
    text: str,
    township: str | None = None,
    county: County | None = None,
    now: datetime | None = None,
    category_override: str | None = None,
) -> RoutingPreview:
    """Where a report would go and why (no database). Red risk → show the safety message first."""
    county = county or runtime.county()
    now = now or utcnow()
    data = classify(text, category_override=category_override)
    unit_code, needs_triage = _route(data, township, county, text)
    probe = Case(
        code="", text=text, category=data["category"], risk_level=RiskLevel(data["risk_level"])
    )
    profile = county.category_profile(data["category"])
    return RoutingPreview(
        classification=data,
        department=data["department"],
        department_name=county.department_name(unit_code),
        unit_code=unit_code,
        category=data["category"],
        category_name=data.get("category_name") or county.category_name(data["category"]),
        risk_level=data["risk_level"],
        risk_signals=data["risk_signals"],
        reasons=data["reasons"],
        needs_triage=needs_triage,
        accept_by=accept_deadline(probe, profile, now, tz=runtime.tz()),
        safety_alert=data["risk_level"] == RiskLevel.red,
    )


async def next_case_code(*, session: AsyncSession, now: datetime | None = None) -> str:
    """Next public code for the local date, e.g. ``MD20261127-0042`` (caller's transaction)."""
    now = now or utcnow()
    day = f"{runtime.case_code_prefix()}{now.astimezone(ZoneInfo(runtime.tz())):%Y%m%d}"
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.exec(
        insert(CaseCodeSequence)
        .values(day=day, last=0)
        .on_conflict_do_nothing(index_elements=["day"])
    )
    result = await session.exec(
        update(CaseCodeSequence)
        .where(col(CaseCodeSequence.day) == day)
        .values(last=col(CaseCodeSequence.last) + 1)
        .returning(col(CaseCodeSequence.last))
        .execution_options(synchronize_session=False)
    )
    number = int(result.scalar_one())
    return f"{day}-{number:04d}"


def _clean(value: str | None, limit: int) -> str | None:
    value = (value or "").strip()
    return value[:limit] or None


def grid_only_fields(draft: ReportDraft) -> list[str]:
    """The fields of a draft only a grid worker may set (the caller's role is checked here,
    not only in the bot: a forged button or another channel must not set a risk level)."""
    values = {
        "on_behalf": draft.on_behalf,
        "grid_task_code": draft.grid_task_code,
        "grid_resolved": draft.grid_resolved,
        "grid_action_text": draft.grid_action_text,
        "risk_override": draft.risk_override,
    }
    return [name for name, value in values.items() if value]


async def submit_report(
    *, session: AsyncSession, reporter: Person, draft: ReportDraft, now: datetime | None = None
) -> Case:
    """Record a report as a case, route it, write its event and notifications; commits."""
    county = runtime.county()
    now = now or utcnow()
    text = (draft.text or "").strip()
    if not text:
        raise ValidationFailed("请描述您要反映的问题。", code="text_required")
    if reporter.role != Role.grid_worker and grid_only_fields(draft):
        raise NotAllowed(
            "只有网格员可以代村民上报、评定风险等级、填写网格任务或登记就地化解。",
            code="grid_only",
        )
    if draft.grid_resolved and not (draft.grid_action_text or "").strip():
        raise ValidationFailed("请填写就地化解的处理情况。", code="grid_action_required")
    if draft.township and draft.township not in county.township_data:
        raise ValidationFailed("请选择弥渡县的乡镇。", code="township_unknown")
    if draft.category_override and _categories() and draft.category_override not in _categories():
        raise ValidationFailed("未知的事项类别。", code="category_unknown")

    data = classify(text, category_override=draft.category_override)
    risk = data["risk_level"]
    if draft.risk_override:
        try:
            risk = str(RiskLevel(draft.risk_override))
        except ValueError as exc:
            raise ValidationFailed(
                "风险等级应为红、橙、黄、蓝之一。", code="risk_unknown"
            ) from exc
        data["risk_override"] = risk
    township = draft.township or reporter.township
    lat, lon = draft.latitude, draft.longitude
    if not township and lat is not None and lon is not None and county.point_in_county(lat, lon):
        township = county.nearest_township(lat, lon)
    unit_code, needs_triage = _route(data, township, county, text)
    referred = [] if needs_triage or draft.grid_resolved else data["joint_units"]
    units = await _units(session, unit_code, CENTER)  # the lead unit and the center at once
    unit = units.get(unit_code) or await get_unit(  # not loaded yet (`backend init`): fallback
        session=session, code=county.unit_code_for(data["department"], township)
    )
    center = units.get(CENTER) or await get_unit(session=session, code=CENTER)

    try:
        code = await next_case_code(session=session, now=now)
        case = Case(
            code=code,
            text=text[:MAX_TEXT],
            category=data["category"],
            department=unit.department if not needs_triage else CENTER,
            lead_unit_id=unit.id,
            risk_level=RiskLevel(risk),
            risk_signals=data["risk_signals"],
            classification=data,
            township=township,
            village=_clean(draft.village, 64),
            address=_clean(draft.address, 256),
            latitude=draft.latitude,
            longitude=draft.longitude,
            anonymous=draft.anonymous,
            contact_name=None if draft.anonymous else _clean(draft.contact_name, 64),
            contact_phone=None if draft.anonymous else _clean(draft.contact_phone, 32),
            phone_visible=draft.phone_visible and not draft.anonymous,
            reporter_id=reporter.id,
            filed_by_id=reporter.id
            if draft.on_behalf or reporter.role == Role.grid_worker
            else None,
            channel="grid" if draft.on_behalf else draft.channel[:16],
            grid_task_code=_clean(draft.grid_task_code, 8),
            status=CaseStatus.submitted,
            created_at=now,
            updated_at=now,
        )
        notices: list[Notice] = []
        if draft.grid_resolved:
            action, to = Action.grid_resolved, CaseStatus.grid_resolved
            case.result_text = (draft.grid_action_text or "").strip()
            case.resolved_at = case.closed_at = now
        elif needs_triage:
            action, to = Action.submit, CaseStatus.triage
            notices.append(Notice(NoticeKind.triage, {}, unit=center))
        else:
            action, to = Action.submit, CaseStatus.dispatched
            profile = county.category_profile(case.category)
            case.dispatched_at = now
            case.accept_deadline = accept_deadline(case, profile, now, tz=runtime.tz())
            notices.append(Notice(NoticeKind.case_card, {"reason": "new"}, unit=unit))
        if risk == RiskLevel.red and not draft.grid_resolved:
            notices.append(
                Notice(NoticeKind.red_alert, {"risk_signals": data["risk_signals"]}, unit=center)
            )
        if not draft.grid_resolved:
            notices.append(
                Notice(
                    NoticeKind.case_update,
                    {"event": "received", "unit_name": unit.name},
                    person=reporter,
                )
            )
        case.status = to
        session.add(case)
        await session.flush()
        assert case.id is not None
        notices.extend(await _refer(session, case, referred, unit.code))
        for a in draft.attachments:
            session.add(
                Attachment(
                    case_id=case.id,
                    kind=a.kind[:16],
                    purpose="report",
                    telegram_file_id=a.file_id,
                    file_name=a.file_name,
                    uploaded_by_id=reporter.id,
                    created_at=now,
                )
            )
        payload = {
            "unit_code": unit.code,
            "joint_units": referred,
            "category": data["category"],
            "confidence": data["confidence"],
            "reasons": data["reasons"],
            "on_behalf": draft.on_behalf,
        }
        change = Change(
            action,
            to,
            payload=payload,
            notices=notices,
            reason=case.result_text if draft.grid_resolved else None,
        )
        await workflow.record_event(session, case, reporter, change, None, now)
        await session.commit()
    except BaseException:
        await workflow.rollback_keeping(session, reporter)
        raise
    return case  # every column was set here (expire_on_commit=False): no reload


async def _units(session: AsyncSession, *codes: str) -> dict[str, Unit]:
    rows = await session.exec(select(Unit).where(col(Unit.code).in_(codes)))
    return {unit.code: unit for unit in rows.all()}


async def _refer(
    session: AsyncSession, case: Case, unit_codes: list[str], lead_code: str
) -> list[Notice]:
    """A 协办 task and its card for each unit the category refers at once (caller commits)."""
    notices: list[Notice] = []
    for code in unit_codes:
        try:
            unit = await get_unit(session=session, code=code)
        except NotFound:  # not loaded yet: the dispatcher can still 吹哨 it later
            continue
        assert unit.id is not None and case.id is not None
        session.add(CaseTask(case_id=case.id, unit_id=unit.id))
        notices.append(Notice(NoticeKind.joint_task, {"lead_unit_code": lead_code}, unit=unit))
    return notices


async def follow_case(*, session: AsyncSession, person: Person, case_code: str) -> Case:
    """关注此案: the person gets the case's updates; the case counts one more reporter."""
    case = (await session.exec(select(Case).where(Case.code == case_code.strip().upper()))).first()
    if case is None:
        raise NotFound("没有找到该编号的事项。")
    assert case.id is not None
    return await workflow.follow(session=session, actor=person, case_id=case.id)


async def find_similar_open_cases(
    *,
    session: AsyncSession,
    text: str,
    category: str | None,
    township: str | None,
    village: str | None,
    latitude: float | None,
    longitude: float | None,
    now: datetime | None = None,
    limit: int = 3,
) -> list[Case]:
    """Open cases of the same category nearby (same village or within 1 km) from the last 30
    days whose text is similar: candidates for 关注此案."""
    near_point = latitude is not None and longitude is not None
    if not category or not (village or near_point):
        return []  # nothing to compare places with: no query at all
    now = now or utcnow()
    query = (
        select(Case)
        .where(col(Case.status).in_(OPEN_STATUSES))
        .where(Case.category == category)
        .where(col(Case.created_at) >= now - timedelta(days=SIMILAR_DAYS))
    )
    # Only cases that can pass the place test below are loaded (same village, or inside a box
    # around the point that holds the 1 km circle).
    places = []
    if village:
        places.append(col(Case.village) == village)
    if latitude is not None and longitude is not None:
        places.append(
            col(Case.latitude).between(latitude - SIMILAR_DEGREES, latitude + SIMILAR_DEGREES)
            & col(Case.longitude).between(
                longitude - SIMILAR_DEGREES * 1.2, longitude + SIMILAR_DEGREES * 1.2
            )
        )
    rows = await session.exec(
        query.where(or_(*places)).order_by(col(Case.created_at).desc()).limit(500)
    )
    scored: list[tuple[float, Case]] = []
    for case in rows.all():
        same_place = (
            bool(village)
            and case.village == village
            and (not township or case.township == township)
        )
        near = (
            latitude is not None
            and longitude is not None
            and case.latitude is not None
            and case.longitude is not None
            and haversine_km(latitude, longitude, case.latitude, case.longitude) <= SIMILAR_KM
        )
        if not (same_place or near):
            continue
        score = max(fuzz.ratio(text, case.text), fuzz.partial_ratio(text, case.text) * 0.9)
        if score >= SIMILAR_SCORE:
            scored.append((score, case))
    scored.sort(key=lambda item: item[0], reverse=True)
    return [case for _, case in scored[:limit]]
