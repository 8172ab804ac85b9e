"""Read side: lookups, queues, search, who may view a case, phone masking (both DBs)."""

from __future__ import annotations

import pytest

from backend.models import Case
from backend.services import cases, intake, workflow
from backend.services.errors import NotFound
from backend.services.intake import ReportDraft

from .conftest import T0, World


async def report(world: World, text: str = "欠薪", who: str = "resident", **kw: object) -> Case:
    return await intake.submit_report(
        session=world.session,
        reporter=world[who],
        draft=ReportDraft(text=text, **kw),
        now=T0,  # type: ignore[arg-type]
    )


async def test_lookup_by_id_and_code(world: World) -> None:
    case = await report(world)
    assert (
        await cases.get_case_by_code(session=world.session, code=case.code.lower())
    ).id == case.id
    with pytest.raises(NotFound):
        await cases.get_case_by_code(session=world.session, code="MD20000101-0001")
    with pytest.raises(NotFound):
        await cases.get_case(session=world.session, case_id=12345)


async def test_case_detail_collects_everything(world: World) -> None:
    case = await report(world)
    await workflow.accept(session=world.session, actor=world["hrss_staff"], case_id=case.id)
    await workflow.approve_joint(
        session=world.session, actor=world["dispatcher"], case_id=case.id, unit_codes=["housing"]
    )
    await intake.follow_case(session=world.session, person=world["neighbour"], case_code=case.code)
    detail = await cases.case_detail(session=world.session, case_id=case.id)
    assert detail.lead_unit is not None and detail.lead_unit.code == "hrss"
    assert [u.code for _, u in detail.tasks] == ["housing"]
    assert [e.action for e in detail.events] == ["submit", "accept", "approve_joint", "follow"]
    assert [p.display_name for p in detail.followers] == ["neighbour"]


async def test_my_cases_include_reported_filed_and_followed(world: World) -> None:
    mine = await report(world, "欠薪一")
    other = await report(world, "欠薪二", who="neighbour")
    await intake.follow_case(session=world.session, person=world["resident"], case_code=other.code)
    filed = await report(world, "邻居吵架", who="grid", on_behalf=True, township="弥城镇")
    assert {
        c.id
        for c in await cases.list_cases_for_person(session=world.session, person=world["resident"])
    } == {
        mine.id,
        other.id,
    }
    assert [
        c.id
        for c in await cases.list_cases_for_person(session=world.session, person=world["grid"])
    ] == [filed.id]


async def test_unit_queue_has_lead_and_assisting_cases(world: World) -> None:
    lead = await report(world, "欠薪")
    await report(world, "有人拿刀")  # police
    await workflow.accept(session=world.session, actor=world["hrss_staff"], case_id=lead.id)
    await workflow.approve_joint(
        session=world.session, actor=world["dispatcher"], case_id=lead.id, unit_codes=["police"]
    )
    police_queue = await cases.list_unit_queue(
        session=world.session, unit_id=world.units["police"].id
    )
    assert len(police_queue) == 2
    red_only = await cases.list_unit_queue(
        session=world.session, unit_id=world.units["police"].id, risk="red"
    )
    assert [c.risk_level for c in red_only] == ["red"]


async def test_who_may_view_a_case(world: World) -> None:
    case = await report(world)
    s = world.session
    assert await cases.can_view(world["resident"], case, session=s)
    assert await cases.can_view(world["hrss_staff"], case, session=s)
    assert await cases.can_view(world["dispatcher"], case, session=s)
    assert await cases.can_view(world["supervisor"], case, session=s)
    assert not await cases.can_view(world["neighbour"], case, session=s)
    assert not await cases.can_view(world["police_staff"], case, session=s)
    await intake.follow_case(session=s, person=world["neighbour"], case_code=case.code)
    assert await cases.can_view(world["neighbour"], case, session=s)
