"""Web pages and exports follow backend/services/privacy.py (SQLite and PostgreSQL)."""

from __future__ import annotations

import httpx

from backend.models import Case, CaseEvent
from backend.services import stats
from tests.test_web.conftest import World, make_case

TEXT = "老板欠薪，我叫王秀英，手机 139-8765-4321，座机0872-1234567，身份证532925199001011234"
PLAIN = ("13987654321", "139-8765-4321", "0872-1234567", "532925199001011234")


async def add(world: World, case: Case, *events: CaseEvent) -> Case:
    async with world.factory() as session:
        session.add(case)
        await session.commit()
        await session.refresh(case)
        for event in events:
            event.case_id = case.id  # type: ignore[assignment]
            session.add(event)
        await session.commit()
    return case


def submitted_by(world: World, who: str) -> CaseEvent:
    person = world.people[who]
    return CaseEvent(case_id=0, actor_id=person.id, actor_role=str(person.role), action="submit")


async def test_unit_staff_see_numbers_in_the_text_masked_the_claimer_and_center_unmasked(
    client_any: httpx.AsyncClient, world_any: World
) -> None:
    world, client = world_any, client_any
    case = await add(
        world,
        make_case("MD20261128-0101", world.units["police"], text=TEXT),
        submitted_by(world, "resident"),
    )
    csrf = await world.login(client, "police")
    page = (await client.get(f"/cases/{case.code}")).text
    assert "139****4321" in page and "0872-****567" in page and "532***********1234" in page
    for plain in PLAIN:
        assert plain not in page
    assert "村民" not in page  # the resident's Telegram name is never shown to staff
    accepted = await client.post(f"/cases/{case.code}/accept", data={"csrf_token": csrf})
    assert accepted.status_code == 303
    claimer_page = (await client.get(f"/cases/{case.code}")).text
    assert "139-8765-4321" in claimer_page and "13812345678" in claimer_page

    client.cookies.clear()
    await world.login(client, "police_head")  # same unit, did not claim
    assert "139-8765-4321" not in (await client.get(f"/cases/{case.code}")).text
    client.cookies.clear()
    await world.login(client, "dispatcher")
    assert "139-8765-4321" in (await client.get(f"/cases/{case.code}")).text
    listing = (await client.get("/search?q=欠薪")).text
    assert case.code in listing and "139-8765-4321" not in listing  # lists always masked


async def test_an_anonymous_report_shows_no_reporter_to_anyone_on_the_web(
    client_any: httpx.AsyncClient, world_any: World
) -> None:
    world, client = world_any, client_any
    case = await add(
        world,
        make_case(
            "MD20261128-0102",
            world.units["police"],
            text=TEXT,
            anonymous=True,
            phone=None,
        ),
        submitted_by(world, "grid"),
    )
    async with world.factory() as session:
        stored = await session.get(Case, case.id)
        assert stored is not None
        stored.reporter_id = world.people["grid"].id
        stored.contact_name = None  # what intake stores for an anonymous report
        session.add(stored)
        await session.commit()
    for who in ("police", "dispatcher"):
        client.cookies.clear()
        await world.login(client, who)
        page = (await client.get(f"/cases/{case.code}")).text
        assert "匿名群众" in page and "网格员（" not in page, who
        for plain in PLAIN:
            assert plain not in page, (who, plain)
    probe = (await client.get("/search?q=8765")).text  # digits cannot confirm a masked number
    assert case.code not in probe
    assert case.code not in (await client.get("/search?q=13987654321")).text


async def test_unit_staff_cannot_probe_masked_numbers_by_searching_digits(
    client_any: httpx.AsyncClient, world_any: World
) -> None:
    world, client = world_any, client_any
    case = await add(world, make_case("MD20261128-0103", world.units["police"], text=TEXT))
    await world.login(client, "police")
    assert case.code in (await client.get("/search?q=王秀英")).text
    assert case.code not in (await client.get("/search?q=4321")).text
    assert case.code in (await client.get("/search?q=0103")).text  # the code still matches


def test_exports_mask_numbers_in_every_text_cell() -> None:
    table = stats.Table(
        "hotspots", "热点", ("村", "件数"), (("西山村 13812345678", 3), ("0872-1234567", 1))
    )
    rows = [stats.export_row(row) for row in table.rows]
    assert rows == [["西山村 138****5678", 3], ["0872-****567", 1]]
