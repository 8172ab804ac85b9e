"""Open311 GeoReport v2 over the case engine: services are categories, requests are cases.

Requests created here go through ``intake.submit_report`` (channel ``open311``) like any report.
What is published about a request never contains personal data: no text, no contact, no exact
location (only township and village), so the public API cannot be used to look people up.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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


def request_view(case: Case, county: County, units: dict[int, Unit]) -> dict[str, Any]:
    """One service request as published: status and timing, no personal data."""
    status = CaseStatus(case.status)
    unit = units.get(case.lead_unit_id or -1)
    expected = case.handle_deadline if workflow.is_in_hand(case) else case.accept_deadline
    if status in CLOSED_STATUSES:
        expected = None
    address = "".join(part for part in (case.township, case.village) if part) or None
    return {
        "service_request_id": case.code,
        "status": "closed" if status in CLOSED_STATUSES else "open",
        "status_notes": STATUS_NOTES.get(status, ""),
        "service_name": county.category_name(case.category),
        "service_code": case.category,
        "agency_responsible": unit.name if unit else county.department_name(case.department),
        "service_notice": None,
        "requested_datetime": iso(case.created_at),
        "updated_datetime": iso(case.updated_at),
        "expected_datetime": iso(expected),
        "address": address,
        "zipcode": None,
        "media_url": None,
    }


async def list_requests(
    *,
    session: AsyncSession,
    codes: list[str] | None = None,
    service_code: str | None = None,
    status: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 200,
) -> list[Case]:
    """GET requests.json: by ids, or filtered by service, status and dates (newest first)."""
    query = select(Case).where(col(Case.status) != CaseStatus.submitted)
    if codes:
        query = query.where(col(Case.code).in_([c.strip().upper() for c in codes if c.strip()]))
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
    return list(rows)


async def get_request(*, session: AsyncSession, code: str) -> Case:
    case = (await session.exec(select(Case).where(Case.code == code.strip().upper()))).first()
    if case is None or workflow.being_recorded(case):
        raise NotFound("没有这个编号的诉求。", code="request_not_found")
    return case
