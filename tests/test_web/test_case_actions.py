"""The case page acts through the workflow service, on SQLite and on PostgreSQL."""

from __future__ import annotations

import httpx
from sqlmodel import select

from backend.models import CaseEvent, CaseStatus
from tests.test_web.conftest import World


async def _events(world: World, code: str) -> list[str]:
    case = await world.case(code)
    async with world.factory() as session:
        rows = (
            await session.exec(
                select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)  # type: ignore[arg-type]
            )
        ).all()
        return [row.action for row in rows]


async def test_staff_accepts_notes_and_resolves_and_the_timeline_shows_it(
    client_any: httpx.AsyncClient, world_any: World
) -> None:
    world, client = world_any, client_any
    code = "MD20261127-0001"
    csrf = await world.login(client, "police")
    page = await client.get(f"/cases/{code}")
    assert page.status_code == 200
    assert "命中“柴草”“通道”" in page.text  # the classifier's reasons
    assert ">签收</button>" in page.text

    accepted = await client.post(f"/cases/{code}/accept", data={"csrf_token": csrf})
    assert accepted.status_code == 303
    assert (await world.case(code)).status == CaseStatus.accepted
    page = await client.get(f"/cases/{code}")
    assert "已签收。" in page.text  # the flash message
    assert "派出所民警" in page.text and "<strong>签收</strong>" in page.text

    await client.post(f"/cases/{code}/note", data={"csrf_token": csrf, "text": "已电话联系双方"})
    resolved = await client.post(
        f"/cases/{code}/resolve", data={"csrf_token": csrf, "text": "双方达成调解协议，柴草已清理"}
    )
    assert resolved.status_code == 303
    case = await world.case(code)
    assert case.status == CaseStatus.resolved
    assert case.result_text == "双方达成调解协议，柴草已清理"
    assert await _events(world, code) == ["accept", "note", "resolve"]
    page = await client.get(f"/cases/{code}")
    assert "已电话联系双方" in page.text and "双方达成调解协议" in page.text


async def test_refused_action_shows_the_reason_and_changes_nothing(
    client_any: httpx.AsyncClient, world_any: World
) -> None:
    world, client = world_any, client_any
    csrf = await world.login(client, "police")
    response = await client.post(
        "/cases/MD20261127-0001/resolve", data={"csrf_token": csrf, "text": "办完了"}
    )
    assert response.status_code == 303
    page = await client.get("/cases/MD20261127-0001")
    assert 'class="flash error"' in page.text
    assert (await world.case("MD20261127-0001")).status == CaseStatus.dispatched
    assert await _events(world, "MD20261127-0001") == []


async def test_return_needs_a_reason(client: httpx.AsyncClient, world: World) -> None:
    csrf = await world.login(client, "police")
    await client.post(
        "/cases/MD20261127-0001/return", data={"csrf_token": csrf, "reason_code": "属地不符"}
    )
    assert (await world.case("MD20261127-0001")).status == CaseStatus.dispatched
    await client.post(
        "/cases/MD20261127-0001/return",
        data={"csrf_token": csrf, "reason_code": "属地不符", "text": "事发地属红岩镇"},
    )
    assert (await world.case("MD20261127-0001")).status == CaseStatus.returned


async def test_dispatcher_dispatches_a_triage_case_and_supervises(
    client_any: httpx.AsyncClient, world_any: World
) -> None:
    world, client = world_any, client_any
    code = "MD20261127-0003"
    csrf = await world.login(client, "dispatcher")
    page = await client.get(f"/cases/{code}")
    assert ">派单</button>" in page.text
    await client.post(f"/cases/{code}/dispatch", data={"csrf_token": csrf, "unit_code": "police"})
    case = await world.case(code)
    assert case.status == CaseStatus.dispatched
    assert case.lead_unit_id == world.units["police"].id
    await client.post(
        f"/cases/{code}/supervise", data={"csrf_token": csrf, "text": "请今天内签收"}
    )
    assert await _events(world, code) == ["dispatch", "supervise"]


async def test_unit_staff_cannot_dispatch(client: httpx.AsyncClient, world: World) -> None:
    csrf = await world.login(client, "police")
    # the triage case belongs to no unit: staff may not even open it
    response = await client.post(
        "/cases/MD20261127-0003/dispatch", data={"csrf_token": csrf, "unit_code": "police"}
    )
    assert response.status_code == 403
    assert (await world.case("MD20261127-0003")).status == CaseStatus.triage


async def test_extension_request_and_approval(client: httpx.AsyncClient, world: World) -> None:
    code = "MD20261127-0001"
    csrf = await world.login(client, "police")
    await client.post(f"/cases/{code}/accept", data={"csrf_token": csrf})
    before = (await world.case(code)).handle_deadline
    await client.post(
        f"/cases/{code}/extension", data={"csrf_token": csrf, "days": "5", "text": "需要现场测量"}
    )
    assert (await world.case(code)).extension_requested_until is not None
    client.cookies.clear()
    csrf = await world.login(client, "dispatcher")
    board = await client.get("/")
    assert "延期待批" in board.text and code in board.text
    await client.post(
        f"/cases/{code}/decide_extension", data={"csrf_token": csrf, "decision": "approve"}
    )
    case = await world.case(code)
    assert case.extension_requested_until is None
    assert case.handle_deadline is not None and before is not None
    assert case.handle_deadline > before
    assert await _events(world, code) == ["accept", "request_extension", "decide_extension"]


async def test_dispatcher_reassigns_an_accepted_case_from_its_page(
    client_any: httpx.AsyncClient, world_any: World
) -> None:
    world, client = world_any, client_any
    code = "MD20261127-0001"
    staff_csrf = await world.login(client, "police")
    await client.post(f"/cases/{code}/accept", data={"csrf_token": staff_csrf})
    assert (await world.case(code)).status == CaseStatus.accepted
    csrf = await world.login(client, "dispatcher")
    page = await client.get(f"/cases/{code}")
    assert ">改派</button>" in page.text and ">签收</button>" not in page.text

    moved = await client.post(
        f"/cases/{code}/transfer",
        data={"csrf_token": csrf, "unit_code": "justice", "text": "属司法调解范围"},
    )

    assert moved.status_code == 303
    case = await world.case(code)
    assert case.status == CaseStatus.dispatched
    assert case.lead_unit_id == world.units["justice"].id
    assert await _events(world, code) == ["accept", "transfer"]


async def test_the_page_offers_only_what_the_policy_allows(
    client: httpx.AsyncClient, world: World
) -> None:
    """A dispatcher sees no 签收 or 办结; a unit's staff see no 派单, 改派 of others or 督办."""
    code = "MD20261127-0001"
    await world.login(client, "dispatcher")
    page = (await client.get(f"/cases/{code}")).text
    assert ">签收</button>" not in page and ">办结</button>" not in page
    assert ">督办</button>" in page
    await world.login(client, "police")
    page = (await client.get(f"/cases/{code}")).text
    assert (
        ">签收</button>" in page and ">派单</button>" not in page and ">督办</button>" not in page
    )
