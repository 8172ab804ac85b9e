"""Atomic claims: of many staff pressing 签收 at the same moment, exactly one wins (both DBs)."""

from __future__ import annotations

import asyncio

from sqlmodel import col, select

from backend.db import create_engine, create_session_factory
from backend.models import Case, CaseEvent, Person, Role
from backend.services import intake, workflow
from backend.services.errors import InvalidTransition
from backend.services.intake import ReportDraft

from .conftest import T0, World

CLAIMERS = 20


async def test_exactly_one_of_twenty_concurrent_claims_wins(world: World) -> None:
    case = await intake.submit_report(
        session=world.session, reporter=world["resident"], draft=ReportDraft(text="欠薪"), now=T0
    )
    staff_ids = []
    for n in range(CLAIMERS):
        person = await world.person(f"claimer{n}", Role.staff, "hrss")
        staff_ids.append(person.id)
    start = asyncio.Event()
    # Enough pooled connections that all claimers really hold one at the same moment.
    assert world.session.bind is not None
    url = world.session.bind.url.render_as_string(hide_password=False)
    engine = create_engine(url, pool_size=CLAIMERS + 2, max_overflow=0)
    factory = create_session_factory(engine)

    async def claim(person_id: int) -> str:
        async with factory() as session:  # one session (connection) per staff member
            actor = await session.get(Person, person_id)
            assert actor is not None
            await start.wait()
            try:
                await workflow.accept(session=session, actor=actor, case_id=case.id)
            except InvalidTransition:
                return "lost"
            return "won"

    tasks = [asyncio.create_task(claim(pid)) for pid in staff_ids]
    await asyncio.sleep(0.05)
    start.set()
    outcomes = await asyncio.gather(*tasks)
    await engine.dispose()

    assert outcomes.count("won") == 1
    assert outcomes.count("lost") == CLAIMERS - 1
    winner = staff_ids[outcomes.index("won")]
    async with world.factory() as check:
        row = await check.get(Case, case.id)
        assert row is not None and row.accepted_by_id == winner
        accepts = (
            await check.exec(
                select(CaseEvent).where(
                    CaseEvent.case_id == case.id, col(CaseEvent.action) == "accept"
                )
            )
        ).all()
        assert [e.actor_id for e in accepts] == [winner]


async def test_concurrent_reports_get_unique_consecutive_codes(world: World) -> None:
    assert world.session.bind is not None
    url = world.session.bind.url.render_as_string(hide_password=False)
    engine = create_engine(url, pool_size=12, max_overflow=0)
    factory = create_session_factory(engine)
    resident_id = world["resident"].id

    async def report(n: int) -> str:
        async with factory() as session:
            reporter = await session.get(Person, resident_id)
            assert reporter is not None
            case = await intake.submit_report(
                session=session, reporter=reporter, draft=ReportDraft(text=f"欠薪 {n}"), now=T0
            )
            return case.code

    codes = await asyncio.gather(*(report(n) for n in range(10)))
    await engine.dispose()
    assert sorted(codes) == [f"MD20261125-{n:04d}" for n in range(1, 11)]


async def test_an_invite_redeemed_by_two_people_at_once_works_for_one(world: World) -> None:
    from backend.services import directory
    from backend.services.errors import InviteError

    invite = await directory.create_invite(session=world.session, role="staff", unit_code="police")
    ids = [world["resident"].id, world["neighbour"].id]

    async def redeem(person_id: int | None) -> str:
        async with world.factory() as session:
            person = await session.get(Person, person_id)
            assert person is not None
            try:
                await directory.redeem_invite(session=session, person=person, code=invite.code)
            except InviteError:
                return "refused"
            return "registered"

    outcomes = await asyncio.gather(*(redeem(pid) for pid in ids))
    assert sorted(outcomes) == ["refused", "registered"]
    async with world.factory() as check:
        roles = [(await check.get(Person, pid)).role for pid in ids]  # type: ignore[union-attr]
        assert sorted(roles) == ["resident", "staff"]
