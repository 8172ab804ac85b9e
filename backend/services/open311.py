"""Open311 GeoReport v2 over the case engine: services are categories, requests are cases.

Requests created here go through ``intake.submit_report`` (channel ``open311``) like any report.
What is published is what a county would put on a public map (README "Open311 publication"):
- only the county's public categories (``publication`` in county.yaml), never red/orange cases
  nor cases of hidden departments (纪委监委);
- no text, no contact, no village or address: the township and its centre point only;
- times to the day;
- an opaque ``service_request_id`` (the day + an HMAC of the case code under the web secret),
  so ids cannot be enumerated and the case code (一案一码) is not published.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.county import County
from backend.models import Case, CaseStatus, Person, Role, Unit
from backend.models.base import aware
from backend.services import workflow
from backend.services.errors import NotFound, ValidationFailed

CLOSED_STATUSES = frozenset({CaseStatus.resolved, CaseStatus.closed, CaseStatus.grid_resolved})
STATUS_NOTES = {
    CaseStatus.submitted: "已收到，正在分拨。",
    CaseStatus.triage: "已收到，综治中心正在分拨。",
    CaseStatus.dispatched: "已交承办单位，等待签收。",
    CaseStatus.accepted: "承办单位已签收，正在办理。",
    CaseStatus.returned: "承办单位申请退回，综治中心正在重新分拨。",
    CaseStatus.reopened: "群众不满意，已退回承办单位重新办理。",
    CaseStatus.resolved: "已办结，等待群众评价。",
    CaseStatus.closed: "已办结。",
    CaseStatus.grid_resolved: "网格员已就地化解。",
}
OPEN311_CHANNEL = "open311"
MAX_DESCRIPTION = 4000


def parse_api_keys(raw: str) -> list[str]:
    return [key.strip() for key in raw.split(",") if key.strip()]


def api_key_valid(raw_keys: str, submitted: str | None) -> bool:
    """Constant-time check of a submitted key against OPEN311_API_KEYS (comma-separated)."""
    if not submitted:
        return False
    return any(hmac.compare_digest(key, submitted) for key in parse_api_keys(raw_keys))


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    moment = aware(value)
    assert moment is not None
    return moment.isoformat(timespec="seconds")


def service_list(county: County) -> list[dict[str, Any]]:
    """GET services.json: one service per classifier category."""
    import classifier

    services = []
    for code, category in classifier.categories().items():
        name = str(getattr(category, "name_zh", code))
        group = str(getattr(category, "group", "") or getattr(category, "family", "") or "")
        department = getattr(category, "department", None)
        keywords = getattr(category, "keywords", None) or getattr(category, "strong", None) or []
        services.append(
            {
                "service_code": code,
                "service_name": name,
                "description": f"{name}（承办：{county.department_name(department)}）"
                if department
                else name,
                "metadata": False,
                "type": "realtime",
                "keywords": ",".join(str(k) for k in list(keywords)[:8]),
                "group": group,
            }
        )
    return services


def service_definition(service_code: str) -> dict[str, Any]:
    """GET services/{code}.json: our services take no extra attributes."""
    import classifier

    if service_code not in classifier.categories():
        raise NotFound("没有这个服务类别。", code="service_not_found")
    return {"service_code": service_code, "attributes": []}


async def _api_reporter(session: AsyncSession, api_key: str) -> Person:
    """The Person that stands for one API client (identified by a hash, never the key)."""
    label = "open311:" + hashlib.sha256(api_key.encode()).hexdigest()[:12]
    person = (
        await session.exec(
            select(Person).where(Person.display_name == label, col(Person.telegram_id).is_(None))
        )
    ).first()
    if person is None:
        person = Person(display_name=label, role=Role.resident)
        session.add(person)
        await session.flush()
    return person


@dataclass
class NewRequest:
    service_code: str
    description: str
    lat: float | None = None
    long: float | None = None
    address_string: str | None = None


async def create_request(
    *,
    session: AsyncSession,
    county: County,
    api_key: str,
    request: NewRequest,
    now: datetime | None = None,
) -> Case:
    """POST requests.json: a new case through intake (anonymous, channel open311)."""
    import classifier
    from backend.services import intake

    description = request.description.strip()
    if not description:
        raise ValidationFailed("description 不能为空。", code="description_required")
    if request.service_code not in classifier.categories():
        raise NotFound("没有这个服务类别。", code="service_not_found")
    township = village = None
    if request.lat is not None and request.long is not None:
        if not county.point_in_county(request.lat, request.long):
            raise ValidationFailed("位置不在本县范围内。", code="outside_county")
        township = county.nearest_township(request.lat, request.long)
    address = (request.address_string or "").strip() or None
    if address:
        for name, villages in county.townships.items():
            if name in address:
                township = township or name
            for candidate in villages:
                if candidate in address:
                    village, township = candidate, name
                    break
    reporter = await _api_reporter(session, api_key)
    draft = intake.ReportDraft(
        text=description[:MAX_DESCRIPTION],
        attachments=[],
        township=township,
        village=village,
        address=address,
        latitude=request.lat,
        longitude=request.long,
        anonymous=True,
        contact_name=None,
        contact_phone=None,
        phone_visible=False,
        category_override=request.service_code,
        channel=OPEN311_CHANNEL,
    )
    return await intake.submit_report(session=session, reporter=reporter, draft=draft, now=now)


PUBLIC_ID_RE = re.compile(r"^(\d{8})-([0-9a-f]{20})$")
CODE_DAY_RE = re.compile(r"(\d{8})-\d+$")


def _id_key(secret: str) -> bytes:
    """A key of its own for public ids, derived from the web secret."""
    return hmac.new(secret.encode(), b"open311-service-request-id", hashlib.sha256).digest()


def public_id(code: str, secret: str) -> str:
    """The published id of a case: its day and an HMAC tag (not guessable from the code)."""
    day = CODE_DAY_RE.search(code)
    tag = hmac.new(_id_key(secret), code.encode(), hashlib.sha256).hexdigest()[:20]
    return f"{day.group(1) if day else '00000000'}-{tag}"


def day_only(value: datetime | None, tz: str) -> str | None:
    """A time published to the day (local midnight), never to the minute."""
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    zone = ZoneInfo(tz)
    return iso(datetime.combine(aware.astimezone(zone).date(), time.min, tzinfo=zone))


def publishable_clause(county: County) -> ColumnElement[bool]:
    """The cases the public API may show at all (see the module docstring)."""
    policy = county.publication
    return and_(
        col(Case.status) != CaseStatus.submitted,
        col(Case.category).in_(sorted(policy.public_categories)),
        col(Case.risk_level).notin_(sorted(policy.hidden_risk_levels)),
        col(Case.department).notin_(sorted(policy.hidden_departments)),
    )


def confidential(case: Case) -> bool:
    """A case intake marked confidential (纪委监委 and the like): never published."""
    return bool((case.classification or {}).get("confidential"))


def request_view(
    case: Case, county: County, units: dict[int, Unit], *, secret: str, tz: str
) -> dict[str, Any]:
    """One service request as published: status, township and day; no personal data."""
    status = CaseStatus(case.status)
    unit = units.get(case.lead_unit_id or -1)
    expected = case.handle_deadline if workflow.is_in_hand(case) else case.accept_deadline
    if status in CLOSED_STATUSES:
        expected = None
    township = county.township_data.get(case.township or "")
    center = township.center if township else None
    return {
        "service_request_id": public_id(case.code, secret),
        "status": "closed" if status in CLOSED_STATUSES else "open",
        "status_notes": STATUS_NOTES.get(status, ""),
        "service_name": county.category_name(case.category),
        "service_code": case.category,
        "agency_responsible": unit.name if unit else county.department_name(case.department),
        "service_notice": None,
        "requested_datetime": day_only(case.created_at, tz),
        "updated_datetime": day_only(case.updated_at, tz),
        "expected_datetime": day_only(expected, tz),
        "address": township.name if township else None,
        "lat": center[0] if center else None,
        "long": center[1] if center else None,
        "zipcode": None,
        "media_url": None,
    }


async def find_by_public_ids(
    *, session: AsyncSession, county: County, secret: str, ids: list[str]
) -> list[Case]:
    """The publishable cases with these public ids (unknown or unpublished ids are skipped)."""
    found: list[Case] = []
    for raw in ids[:50]:
        match = PUBLIC_ID_RE.match(raw.strip().lower())
        if match is None:
            continue
        day = match.group(1)
        rows = await session.exec(
            select(Case).where(publishable_clause(county), col(Case.code).contains(f"{day}-"))
        )
        for case in rows.all():
            if hmac.compare_digest(public_id(case.code, secret), match.group(0)):
                if case not in found and not confidential(case):
                    found.append(case)
                break
    return found


async def list_requests(
    *,
    session: AsyncSession,
    county: County,
    secret: str,
    ids: list[str] | None = None,
    service_code: str | None = None,
    status: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 200,
) -> list[Case]:
    """GET requests.json: by public ids, or publishable cases filtered by service, status and
    dates (newest first)."""
    if ids:
        return await find_by_public_ids(session=session, county=county, secret=secret, ids=ids)
    query = select(Case).where(publishable_clause(county))
    if service_code:
        query = query.where(Case.category == service_code)
    if status == "open":
        query = query.where(col(Case.status).notin_(CLOSED_STATUSES))
    elif status == "closed":
        query = query.where(col(Case.status).in_(CLOSED_STATUSES))
    if start is not None:
        query = query.where(col(Case.created_at) >= start)
    if end is not None:
        query = query.where(col(Case.created_at) < end)
    rows = (await session.exec(query.order_by(col(Case.created_at).desc()).limit(limit))).all()
    return [case for case in rows if not confidential(case)]


async def get_request(
    *, session: AsyncSession, county: County, secret: str, request_id: str
) -> Case:
    """GET requests/{id}.json: one publishable case by its public id."""
    found = await find_by_public_ids(
        session=session, county=county, secret=secret, ids=[request_id]
    )
    if not found:
        raise NotFound("没有这个编号的诉求。", code="request_not_found")
    return found[0]
