"""Open311 GeoReport v2 (JSON) under /open311/v2/: services are categories, requests are cases."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from backend.models import Case, Unit
from backend.services import dashboard, open311
from backend.services.errors import NotAllowed, ValidationFailed
from backend.web.deps import SessionDep, State, WebState


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str = Field(description="realtime")
    keywords: str
    group: str


class ServiceAttribute(BaseModel):
    code: str
    datatype: str
    required: bool
    description: str


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[ServiceAttribute]


class ServiceRequest(BaseModel):
    service_request_id: str = Field(
        description="Opaque id (day + HMAC of the case code); the case code is not published"
    )
    status: str = Field(description="open | closed")
    status_notes: str
    service_name: str
    service_code: str | None
    agency_responsible: str
    service_notice: str | None
    requested_datetime: str | None
    updated_datetime: str | None
    expected_datetime: str | None
    address: str | None = Field(description="The township only; never a village or address")
    lat: float | None = Field(default=None, description="The township's centre point")
    long: float | None = Field(default=None, description="The township's centre point")
    zipcode: str | None
    media_url: str | None


class RequestCreated(BaseModel):
    service_request_id: str
    service_notice: str | None
    account_id: str | None = None


class Open311Error(BaseModel):
    code: int
    description: str


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": list[Open311Error]},
    403: {"model": list[Open311Error]},
    404: {"model": list[Open311Error]},
}


def _parse_time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationFailed(f"{name} 应为 W3C 日期时间格式。") from exc
    if parsed.tzinfo is None:
        raise ValidationFailed(f"{name} 需要带时区。")
    try:
        return parsed.astimezone(UTC)  # 0001-01-01+14:00 has no UTC time: refuse it here
    except OverflowError as exc:
        raise ValidationFailed(f"{name} 超出可用的日期范围。") from exc


def _float(value: Any, name: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(f"{name} 应为数字。") from exc


def _secret(state: WebState) -> str:
    return state.settings.web_secret_key.get_secret_value()


def _view(case: Case, state: WebState, units: dict[int, Unit]) -> dict[str, Any]:
    return open311.request_view(
        case, state.county, units, secret=_secret(state), tz=state.settings.tz
    )


def create_router() -> APIRouter:
    router = APIRouter(prefix="/open311/v2", tags=["Open311 GeoReport v2"], responses=ERRORS)

    @router.get("/services.json", response_model=list[Service])
    async def services(state: State) -> list[dict[str, Any]]:
        """Every service (case category) a request can be filed under."""
        return open311.service_list(state.county)

    @router.get("/services/{service_code}.json", response_model=ServiceDefinition)
    async def service_definition(service_code: str) -> dict[str, Any]:
        """A service's extra attributes (none: description and location are enough)."""
        return open311.service_definition(service_code)

    @router.post("/requests.json", response_model=list[RequestCreated], status_code=201)
    async def create_request(
        request: Request,
        session: SessionDep,
        state: State,
        x_api_key: Annotated[str | None, Header()] = None,
    ) -> list[dict[str, Any]]:
        """File a new request (a case, channel open311). Needs an API key.

        Form-encoded (as the spec says) or JSON: ``api_key``, ``service_code``, ``description``,
        optional ``lat``, ``long``, ``address_string``. Personal fields (names, phone, e-mail)
        are ignored: requests arrive anonymously.
        """
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                body = json.loads(await request.body() or b"{}")
            except ValueError as exc:
                raise ValidationFailed("请求体不是合法的 JSON。") from exc
            if not isinstance(body, dict):
                raise ValidationFailed("请求体应为 JSON 对象。")
            data = {key: value for key, value in body.items()}
        else:
            data = {key: value for key, value in (await request.form()).items()}
        api_key = str(data.get("api_key") or x_api_key or "")
        if not open311.api_key_valid(state.settings.open311_api_keys, api_key):
            raise NotAllowed("API 密钥无效。", code="api_key")
        new = open311.NewRequest(
            service_code=str(data.get("service_code") or ""),
            description=str(data.get("description") or ""),
            lat=_float(data.get("lat"), "lat"),
            long=_float(data.get("long"), "long"),
            address_string=str(data.get("address_string") or "") or None,
        )
        case = await open311.create_request(
            session=session, county=state.county, api_key=api_key, request=new
        )
        request_id = open311.public_id(case.code, _secret(state))
        return [{"service_request_id": request_id, "service_notice": "已受理", "account_id": None}]

    @router.get("/requests.json", response_model=list[ServiceRequest])
    async def list_requests(
        session: SessionDep,
        state: State,
        service_request_id: str | None = None,
        service_code: str | None = None,
        status: Annotated[str | None, Query(pattern="^(open|closed)$")] = None,
        start_date: str | None = None,
        end_date: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[dict[str, Any]]:
        """Published requests by id (comma-separated) or by service, status and dates.

        Only what the county's publication policy allows: public categories, township level,
        times to the day, opaque ids (README "Open311 publication policy").
        """
        cases = await open311.list_requests(
            session=session,
            county=state.county,
            secret=_secret(state),
            ids=service_request_id.split(",") if service_request_id else None,
            service_code=service_code,
            status=status,
            start=_parse_time(start_date, "start_date"),
            end=_parse_time(end_date, "end_date"),
            limit=limit,
        )
        units = await dashboard.units_by_id(session=session)
        return [_view(case, state, units) for case in cases]

    @router.get("/requests/{service_request_id}.json", response_model=list[ServiceRequest])
    async def get_request(
        service_request_id: str, session: SessionDep, state: State
    ) -> list[dict[str, Any]]:
        """One published request (the spec returns it as a one-element list)."""
        case = await open311.get_request(
            session=session,
            county=state.county,
            secret=_secret(state),
            request_id=service_request_id,
        )
        units = await dashboard.units_by_id(session=session)
        return [_view(case, state, units)]

    @router.get("/discovery.json", include_in_schema=False)
    async def discovery(state: State) -> JSONResponse:
        base = state.settings.web_base_url.rstrip("/") + "/open311/v2/"
        return JSONResponse(
            {
                "changeset": "2026-11-27T00:00:00+08:00",
                "contact": "弥渡县综治中心",
                "key_service": "向弥渡县综治中心申请 API 密钥",
                "endpoints": [
                    {
                        "specification": "http://wiki.open311.org/GeoReport_v2",
                        "url": base,
                        "changeset": "2026-11-27T00:00:00+08:00",
                        "type": "production",
                        "formats": ["application/json"],
                    }
                ],
            }
        )

    return router
