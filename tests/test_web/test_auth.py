"""Sign-in links, sessions, roles, units and CSRF on every page and form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import select

from backend.models import CaseStatus, Person, Role
from backend.models.web import WebLoginToken, WebSession
from backend.services import web_auth
from backend.services.errors import NotAllowed
from tests.test_web.conftest import World

PAGES = [
    "/",
    "/queue",
    "/cases/MD20261127-0001",
    "/search?q=柴草",
    "/stats",
    "/stats/export.xlsx",
    "/stats/export.csv?table=category",
    "/admin",
    "/admin/townships",
    "/admin/invites",
    "/admin/profiles",
    "/admin/rules",
    "/admin/kb",
]
FORMS = [
    "/cases/MD20261127-0001/accept",
    "/cases/MD20261127-0001/note",
    "/cases/MD20261127-0003/dispatch",
    "/admin/invites",
    "/logout",
]
CENTER_ONLY = ["/", "/stats", "/stats/export.xlsx", "/stats/export.csv?table=category"]
ADMIN_ONLY = ["/admin", "/admin/townships", "/admin/invites", "/admin/profiles"]


async def test_anonymous_visitor_to_root_is_sent_to_the_sign_in_page(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    login = await client.get("/login")
    assert login.status_code == 200
    assert "/web" in login.text and "只能使用一次" in login.text


async def test_every_page_without_a_session_redirects_to_sign_in(
    client: httpx.AsyncClient,
) -> None:
    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login"), path


async def test_every_form_without_a_session_changes_nothing(
    client: httpx.AsyncClient, world: World
) -> None:
    for path in FORMS:
        response = await client.post(
            path, data={"csrf_token": "x", "text": "hi", "unit_code": "police"}
        )
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login"), path
    assert (await world.case("MD20261127-0001")).status == CaseStatus.dispatched
    assert (await world.case("MD20261127-0003")).status == CaseStatus.triage


async def test_a_forged_session_cookie_is_not_a_session(client: httpx.AsyncClient) -> None:
    client.cookies.set("zzt_session", "made-up-value")
    response = await client.get("/queue")
    assert response.status_code == 303


async def test_one_time_link_signs_in_once_and_then_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    async with world.factory() as session:
        person = await session.get(Person, world.people["dispatcher"].id)
        assert person is not None
        url = await web_auth.create_login_link(
            session=session, person=person, settings=world.settings
        )
    path = url.removeprefix("http://testserver")
    first = await client.get(path)
    assert first.status_code == 303 and first.headers["location"] == "/"
    assert (await client.get("/")).status_code == 200
    client.cookies.clear()
    second = await client.get(path)
    assert second.status_code == 403
    assert "已使用" in second.text
    assert (await client.get("/")).status_code == 303


async def test_expired_link_is_refused(client: httpx.AsyncClient, world: World) -> None:
    async with world.factory() as session:
        person = await session.get(Person, world.people["police"].id)
        assert person is not None
        url = await web_auth.create_login_link(
            session=session,
            person=person,
            settings=world.settings,
            now=datetime.now(UTC) - timedelta(minutes=11),
        )
    response = await client.get(url.removeprefix("http://testserver"))
    assert response.status_code == 403
    assert "过期" in response.text
    assert "zzt_session" not in response.cookies


async def test_tampered_link_is_refused(client: httpx.AsyncClient, world: World) -> None:
    async with world.factory() as session:
        person = await session.get(Person, world.people["police"].id)
        assert person is not None
        url = await web_auth.create_login_link(
            session=session, person=person, settings=world.settings
        )
    token = url.rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = await client.get(f"/auth/{forged}")
    assert response.status_code == 400
    async with world.factory() as session:
        rows = (await session.exec(select(WebLoginToken))).all()
        assert all(row.used_at is None for row in rows)


async def test_link_signed_with_another_key_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    other = world.settings.model_copy(
        update={"web_secret_key": world.settings.web_secret_key.__class__("other")}
    )
    async with world.factory() as session:
        person = await session.get(Person, world.people["police"].id)
        assert person is not None
        url = await web_auth.create_login_link(session=session, person=person, settings=other)
    response = await client.get(url.removeprefix("http://testserver"))
    assert response.status_code == 400


@pytest.mark.parametrize("who", ["resident", "grid"])
async def test_residents_and_grid_workers_get_no_link(world: World, who: str) -> None:
    async with world.factory() as session:
        person = await session.get(Person, world.people[who].id)
        assert person is not None
        with pytest.raises(NotAllowed):
            await web_auth.create_login_link(
                session=session, person=person, settings=world.settings
            )


async def test_a_person_demoted_to_resident_loses_the_session_at_once(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.login(client, "police")
    async with world.factory() as session:
        person = await session.get(Person, world.people["police"].id)
        assert person is not None
        person.role = Role.resident
        session.add(person)
        await session.commit()
    assert (await client.get("/queue")).status_code == 303


async def test_expired_session_is_sent_back_to_sign_in(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.login(client, "dispatcher")
    async with world.factory() as session:
        for row in (await session.exec(select(WebSession))).all():
            row.expires_at = datetime.now(UTC) - timedelta(minutes=1)
            session.add(row)
        await session.commit()
    assert (await client.get("/")).status_code == 303


async def test_logout_ends_the_session(client: httpx.AsyncClient, world: World) -> None:
    csrf = await world.login(client, "dispatcher")
    cookie = client.cookies.get("zzt_session")
    response = await client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 303
    client.cookies.set("zzt_session", cookie or "")
    assert (await client.get("/")).status_code == 303


async def test_unit_staff_cannot_open_center_or_admin_pages(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.login(client, "police")
    for path in CENTER_ONLY + ADMIN_ONLY:
        response = await client.get(path)
        if path == "/":
            assert response.status_code == 303 and response.headers["location"] == "/queue"
        else:
            assert response.status_code == 403, path


async def test_supervisor_cannot_open_admin_pages(client: httpx.AsyncClient, world: World) -> None:
    await world.login(client, "supervisor")
    for path in ADMIN_ONLY:
        assert (await client.get(path)).status_code == 403, path


async def test_admin_opens_every_page(client: httpx.AsyncClient, world: World) -> None:
    await world.login(client, "admin")
    for path in PAGES:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text[:300])


async def test_staff_of_another_unit_cannot_see_or_act_on_a_case(
    client: httpx.AsyncClient, world: World
) -> None:
    csrf = await world.login(client, "court")
    assert (await client.get("/cases/MD20261127-0001")).status_code == 403
    action = await client.post("/cases/MD20261127-0001/accept", data={"csrf_token": csrf})
    assert action.status_code == 403
    assert (await world.case("MD20261127-0001")).status == CaseStatus.dispatched
    queue = await client.get("/queue")
    assert "MD20261127-0002" in queue.text and "MD20261127-0001" not in queue.text
    other_unit = await client.get(f"/queue?unit={world.units['police'].id}")
    assert other_unit.status_code == 403
    search = await client.get("/search?q=柴草")
    assert "MD20261127-0002" in search.text and "MD20261127-0001" not in search.text
    by_code = await client.get("/search?q=MD20261127-0001")
    assert by_code.status_code == 200 and "找到 0 件" in by_code.text


async def test_unit_head_sees_only_the_own_unit(client: httpx.AsyncClient, world: World) -> None:
    await world.login(client, "police_head")
    assert (await client.get("/cases/MD20261127-0001")).status_code == 200
    assert (await client.get("/cases/MD20261127-0002")).status_code == 403


@pytest.mark.parametrize("token", [None, "", "wrong-token"])
async def test_forms_without_a_valid_csrf_token_change_nothing(
    client: httpx.AsyncClient, world: World, token: str | None
) -> None:
    await world.login(client, "police")
    data = {} if token is None else {"csrf_token": token}
    response = await client.post("/cases/MD20261127-0001/accept", data=data)
    assert response.status_code == 403
    assert "安全校验" in response.text
    assert (await world.case("MD20261127-0001")).status == CaseStatus.dispatched


async def test_csrf_token_of_another_session_is_refused(
    client: httpx.AsyncClient, world: World
) -> None:
    other_csrf = await world.login(client, "dispatcher")
    client.cookies.clear()
    await world.login(client, "police")
    response = await client.post("/cases/MD20261127-0001/accept", data={"csrf_token": other_csrf})
    assert response.status_code == 403


async def test_phone_numbers_are_masked_for_unit_staff_and_shown_to_the_center(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.login(client, "police")
    page = await client.get("/cases/MD20261127-0001")
    assert "138****5678" in page.text and "13812345678" not in page.text
    refused = await client.get("/search?q=13812345678")
    assert "仅限综治中心" in refused.text and "MD20261127-0001" not in refused.text
    client.cookies.clear()
    await world.login(client, "dispatcher")
    page = await client.get("/cases/MD20261127-0001")
    assert "13812345678" in page.text
    found = await client.get("/search?q=13900001111")
    assert "MD20261127-0002" in found.text and "MD20261127-0001" not in found.text


async def test_center_board_lists_triage_and_red_cases(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.login(client, "supervisor")
    board = await client.get("/")
    assert board.status_code == 200
    assert "待分拨" in board.text and "MD20261127-0003" in board.text
    assert "红色风险" in board.text


async def test_pages_send_security_headers(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    assert response.headers["Referrer-Policy"] == "no-referrer"  # login tokens stay private
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
