"""Numbers and times from URLs and forms are bounded: a forged value gets a clear 4xx answer,
never a 500 (both DBs: PostgreSQL fails on integers past its column types, SQLite past 2^63).
Unhandled errors are logged without their message (which may carry personal data)."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.test_web.conftest import API_KEYS, World

pytestmark = pytest.mark.usefixtures("fake_classifier")

HUGE = ["9223372036854775808", "99999999999", "2147483648", "-1", "0", "1e3", "²", "abc"]
OPEN311 = "/open311/v2"
API_KEY = API_KEYS.split(",")[0]


@pytest.mark.parametrize("value", HUGE)
@pytest.mark.parametrize("name", ["unit", "page"])
async def test_queue_filters_refuse_forged_numbers(
    client_any: httpx.AsyncClient, world_any: World, name: str, value: str
) -> None:
    await world_any.login(client_any, "dispatcher")
    response = await client_any.get("/queue", params={name: value})
    assert 400 <= response.status_code < 500, response.text[:300]
    assert "参数" in response.text


async def test_queue_still_takes_sensible_numbers_and_blanks(
    client_any: httpx.AsyncClient, world_any: World
) -> None:
    await world_any.login(client_any, "dispatcher")
    police = world_any.units["police"].id
    for params in ({"unit": str(police), "page": "2"}, {"unit": "", "page": ""}, {}):
        response = await client_any.get("/queue", params=params)
        assert response.status_code == 200, (params, response.text[:300])


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "9223372036854775808"},
        {"limit": "99999999999"},
        {"limit": "-5"},
        {"service_request_id": "9" * 40},
        {"start_date": "0001-01-01T00:00:00+14:00"},
        {"end_date": "9999-12-31T23:59:59-12:00"},
        {"start_date": "99999999999"},
        {"service_code": "\x00"},
    ],
)
async def test_open311_lists_refuse_forged_parameters(
    client_any: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await client_any.get(f"{OPEN311}/requests.json", params=params)
    assert response.status_code < 500, response.text[:300]
    if response.status_code != 200:
        assert 400 <= response.status_code < 500


@pytest.mark.parametrize("code", ["99999999999", "9223372036854775808", "MD" + "9" * 200])
async def test_open311_single_requests_with_forged_ids_are_not_found(
    client_any: httpx.AsyncClient, code: str
) -> None:
    response = await client_any.get(f"{OPEN311}/requests/{code}.json")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("lat", "long"),
    [("1e309", "100.5"), ("nan", "nan"), ("99999999999", "-99999999999"), ("inf", "-inf")],
)
async def test_open311_posts_with_impossible_places_are_refused(
    client_any: httpx.AsyncClient, lat: str, long: str
) -> None:
    response = await client_any.post(
        f"{OPEN311}/requests.json",
        data={
            "api_key": API_KEY,
            "service_code": "D04",
            "description": "路边柴草堆放",
            "lat": lat,
            "long": long,
        },
    )
    assert response.status_code == 400, response.text[:300]


@pytest.mark.parametrize("code", ["99999999999", "9223372036854775808", "%00", "MD%00"])
async def test_case_pages_with_forged_codes_are_not_found(
    client_any: httpx.AsyncClient, world_any: World, code: str
) -> None:
    await world_any.login(client_any, "dispatcher")
    response = await client_any.get(f"/cases/{code}")
    assert response.status_code == 404


async def test_an_unhandled_error_is_logged_without_its_message(
    client: httpx.AsyncClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from backend.services import dashboard

    message = "Key (phone)=({}) of {} already exists".format("138" + "12345678", "张" + "三")

    async def broken(**_: object) -> object:
        raise RuntimeError(message)  # the source line is in the logged frames, not the values

    await world.login(client, "dispatcher")
    monkeypatch.setattr(dashboard, "center_board", broken)
    with caplog.at_level(logging.INFO):
        response = await client.get("/")
    assert response.status_code == 500
    assert "13812345678" not in response.text and "张三" not in response.text
    assert "RuntimeError" in caplog.text
    assert "13812345678" not in caplog.text and "张三" not in caplog.text
