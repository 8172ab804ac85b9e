"""Open311 GeoReport v2: required fields of the spec, API keys, no personal data, OpenAPI."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlmodel import select

from backend.models import Case, CaseStatus
from tests.test_web.conftest import World

pytestmark = pytest.mark.usefixtures("fake_classifier")

SERVICE_FIELDS = {
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
}
REQUEST_FIELDS = {
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "zipcode",
    "media_url",
}
BASE = "/open311/v2"


def assert_error_list(body: Any, code: int) -> None:
    assert isinstance(body, list) and body
    assert body[0]["code"] == code and body[0]["description"]


async def test_services_list_has_every_required_field(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{BASE}/services.json")
    assert response.status_code == 200
    services = response.json()
    assert {s["service_code"] for s in services} == {"D04", "D08", "C7"}
    for service in services:
        assert set(service) >= SERVICE_FIELDS
        assert service["type"] in {"realtime", "batch", "blackbox"}
        assert service["metadata"] is False
    assert any("交通运输局" in s["description"] for s in services)


async def test_service_definition_and_unknown_service(client: httpx.AsyncClient) -> None:
    ok = await client.get(f"{BASE}/services/C7.json")
    assert ok.status_code == 200 and ok.json() == {"service_code": "C7", "attributes": []}
    missing = await client.get(f"{BASE}/services/ZZ.json")
    assert missing.status_code == 404
    assert_error_list(missing.json(), 404)


@pytest.mark.parametrize("key", [None, "", "wrong-key", "key-one,key-two"])
async def test_posting_without_a_valid_api_key_is_refused(
    client: httpx.AsyncClient, world: World, key: str | None
) -> None:
    data = {"service_code": "C7", "description": "村里的路烂了"}
    if key is not None:
        data["api_key"] = key
    response = await client.post(f"{BASE}/requests.json", data=data)
    assert response.status_code == 403
    assert_error_list(response.json(), 403)
    async with world.factory() as session:
        assert (await session.exec(select(Case).where(Case.channel == "open311"))).first() is None


async def test_a_request_becomes_an_anonymous_case_through_intake(
    client_any: httpx.AsyncClient, world_any: World
) -> None:
    world, client = world_any, client_any
    response = await client.post(
        f"{BASE}/requests.json",
        data={
            "api_key": "key-two",
            "service_code": "C7",
            "description": "西山村到谷芦村的路烂了，下雨天车过不去",
            "address_string": "弥城镇西山村",
            "first_name": "李",
            "phone": "13711112222",
            "email": "li@example.com",
        },
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert isinstance(created, list) and created[0]["service_request_id"]
    code = created[0]["service_request_id"]
    case = await world.case(code)
    assert case.channel == "open311" and case.anonymous
    assert case.contact_phone is None and case.contact_name is None
    assert (case.category, case.township, case.village) == ("C7", "弥城镇", "西山村")
    assert case.status == CaseStatus.dispatched
    assert case.lead_unit_id == world.units["transport"].id

    one = await client.get(f"{BASE}/requests/{code}.json")
    assert one.status_code == 200
    [item] = one.json()
    assert set(item) >= REQUEST_FIELDS
    assert item["service_request_id"] == code and item["status"] == "open"
    assert item["agency_responsible"] == "县交通运输局"
    assert item["expected_datetime"] and item["requested_datetime"]
    assert item["address"] == "弥城镇西山村"
    body = one.text
    for private in ("下雨天", "13711112222", "li@example.com", "谷芦村的路"):
        assert private not in body


async def test_json_body_is_accepted_too(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        f"{BASE}/requests.json",
        json={"service_code": "D08", "description": "工地老板欠薪三个月"},
        headers={"X-API-Key": "key-one"},
    )
    assert response.status_code == 201
    case = await world.case(response.json()[0]["service_request_id"])
    assert case.lead_unit_id == world.units["hrss"].id


@pytest.mark.parametrize(
    "data",
    [
        {"service_code": "C7", "description": "  "},
        {"service_code": "C7", "description": "路坏了", "lat": "north"},
        {"service_code": "C7", "description": "路坏了", "lat": "39.9", "long": "116.4"},
    ],
)
async def test_bad_requests_get_400(client: httpx.AsyncClient, data: dict[str, str]) -> None:
    response = await client.post(f"{BASE}/requests.json", data={"api_key": "key-one", **data})
    assert response.status_code == 400
    assert_error_list(response.json(), 400)


async def test_request_list_filters_and_status(client: httpx.AsyncClient, world: World) -> None:
    async with world.factory() as session:
        case = (await session.exec(select(Case).where(Case.code == "MD20261127-0002"))).one()
        case.status = CaseStatus.closed
        session.add(case)
        await session.commit()
    everything = (await client.get(f"{BASE}/requests.json")).json()
    assert {r["service_request_id"] for r in everything} == {
        "MD20261127-0001",
        "MD20261127-0002",
        "MD20261127-0003",
    }
    for item in everything:
        assert set(item) >= REQUEST_FIELDS
        assert item["status"] in {"open", "closed"}
        assert "13812345678" not in str(item) and "柴草" not in str(item)
    closed = (await client.get(f"{BASE}/requests.json?status=closed")).json()
    assert [r["service_request_id"] for r in closed] == ["MD20261127-0002"]
    assert closed[0]["expected_datetime"] is None
    by_id = (
        await client.get(
            f"{BASE}/requests.json?service_request_id=MD20261127-0003,MD20261127-0001"
        )
    ).json()
    assert {r["service_request_id"] for r in by_id} == {"MD20261127-0001", "MD20261127-0003"}
    assert (await client.get(f"{BASE}/requests/MD19990101-0001.json")).status_code == 404
    assert (await client.get(f"{BASE}/requests.json?start_date=yesterday")).status_code == 400


async def test_openapi_documents_the_api_and_not_the_pages(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    paths = set(schema["paths"])
    assert {
        f"{BASE}/services.json",
        f"{BASE}/services/{{service_code}}.json",
        f"{BASE}/requests.json",
        f"{BASE}/requests/{{service_request_id}}.json",
    } <= paths
    assert not any(p in paths for p in ("/", "/login", "/queue", "/stats", "/cases/{code}"))
    assert "post" in schema["paths"][f"{BASE}/requests.json"]
