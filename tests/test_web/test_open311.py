"""Open311 GeoReport v2: required fields of the spec, API keys, no personal data, OpenAPI."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from sqlmodel import select

from backend.county import load_county
from backend.models import Case, CaseStatus, RiskLevel
from backend.services import open311
from tests.test_web.conftest import World, make_case

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
    request_id = created[0]["service_request_id"]
    async with world.factory() as session:
        case = (await session.exec(select(Case).where(Case.channel == "open311"))).one()
    assert case.code not in request_id and re.fullmatch(r"\d{8}-[0-9a-f]{20}", request_id)
    assert case.channel == "open311" and case.anonymous
    assert case.contact_phone is None and case.contact_name is None
    assert (case.category, case.township, case.village) == ("C7", "弥城镇", "西山村")
    assert case.status == CaseStatus.dispatched
    assert case.lead_unit_id == world.units["transport"].id

    one = await client.get(f"{BASE}/requests/{request_id}.json")
    assert one.status_code == 200
    [item] = one.json()
    assert set(item) >= REQUEST_FIELDS
    assert item["service_request_id"] == request_id and item["status"] == "open"
    assert item["agency_responsible"] == "县交通运输局"
    assert item["expected_datetime"] and item["requested_datetime"]
    assert item["requested_datetime"].endswith("T00:00:00+08:00")  # to the day only
    assert item["address"] == "弥城镇"  # the township, never the village
    center = load_county(world.settings.county_data).township_data["弥城镇"].center
    assert center is not None and (item["lat"], item["long"]) == center
    body = one.text
    for private in ("下雨天", "13711112222", "li@example.com", "谷芦村的路", "西山村", case.code):
        assert private not in body


async def test_json_body_is_accepted_too(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        f"{BASE}/requests.json",
        json={"service_code": "D08", "description": "工地老板欠薪三个月"},
        headers={"X-API-Key": "key-one"},
    )
    assert response.status_code == 201
    async with world.factory() as session:
        case = (await session.exec(select(Case).where(Case.channel == "open311"))).one()
    assert case.lead_unit_id == world.units["hrss"].id
    # 欠薪 (D08) is a personal matter: filed, but never on the public map
    request_id = response.json()[0]["service_request_id"]
    assert (await client.get(f"{BASE}/requests/{request_id}.json")).status_code == 404


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


async def add_cases(world: World, *cases: Case) -> None:
    async with world.factory() as session:
        for case in cases:
            session.add(case)
        await session.commit()


async def test_only_public_categories_at_township_level_are_published(
    client_any: httpx.AsyncClient, world_any: World
) -> None:
    world, client = world_any, client_any
    transport = world.units["transport"]
    confidential = make_case(
        "MD20261128-0008", transport, category="C7", department="transport", text="修路款被挪用"
    )
    confidential.classification = {**confidential.classification, "confidential": True}
    await add_cases(
        world,
        make_case(
            "MD20261128-0001",
            transport,
            category="C7",
            department="transport",
            village="西山村",
            address="西山村3组13812345678家门口",
        ),
        make_case(
            "MD20261128-0002",
            transport,
            category="C7",
            department="transport",
            status=CaseStatus.closed,
        ),
        make_case(
            "MD20261128-0003", transport, category="C7", department="transport", risk=RiskLevel.red
        ),
        make_case(
            "MD20261128-0004",
            world.units["justice"],
            category="D01",
            department="justice",
            text="老公打我",
        ),
        make_case(
            "MD20261128-0005",
            world.units["discipline"],
            category="C20",
            department="discipline",
            text="村支书贪污低保款",
        ),
        make_case(
            "MD20261128-0006",
            world.units["police"],
            category="B2",
            department="police",
            text="精神病人拿刀",
        ),
        confidential,
        make_case(
            "MD20261128-0007",
            world.units["discipline"],
            category="C7",
            department="discipline",
            text="交通局长收红包修路",
        ),
    )
    everything = (await client.get(f"{BASE}/requests.json")).json()
    assert len(everything) == 2  # the two C7 road cases that are neither red nor 纪委监委
    for item in everything:
        assert set(item) >= REQUEST_FIELDS
        assert item["service_code"] == "C7" and item["address"] == "弥城镇"
        assert re.fullmatch(r"20261128-[0-9a-f]{20}", item["service_request_id"])
        text = str(item)
        for private in ("MD2026", "13812345678", "西山村", "张三", "柴草"):
            assert private not in text
    closed = (await client.get(f"{BASE}/requests.json?status=closed")).json()
    assert len(closed) == 1 and closed[0]["expected_datetime"] is None
    ids = ",".join(item["service_request_id"] for item in everything)
    by_id = (await client.get(f"{BASE}/requests.json?service_request_id={ids}")).json()
    assert {r["service_request_id"] for r in by_id} == {
        r["service_request_id"] for r in everything
    }
    assert (await client.get(f"{BASE}/requests.json?start_date=yesterday")).status_code == 400


async def test_ids_cannot_be_guessed_or_enumerated(
    client: httpx.AsyncClient, world: World
) -> None:
    transport = world.units["transport"]
    await add_cases(
        world, make_case("MD20261128-0001", transport, category="C7", department="transport")
    )
    [item] = (await client.get(f"{BASE}/requests.json")).json()
    real = item["service_request_id"]
    assert (await client.get(f"{BASE}/requests/{real}.json")).status_code == 200
    day, tag = real.split("-")
    forged = f"{day}-{format(int(tag, 16) ^ 1, '020x')}"
    for guess in ("MD20261128-0001", "MD20261127-0001", forged, "1", "20261128-0001"):
        response = await client.get(f"{BASE}/requests/{guess}.json")
        assert response.status_code == 404, guess
    # a different web secret gives different ids: the id is an HMAC, not an encoding
    assert open311.public_id("MD20261128-0001", "other") != real
    assert open311.public_id("MD20261128-0001", "test-secret-key") == real


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
