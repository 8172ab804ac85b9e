"""Atomic decisions: of many presses at the same moment exactly one wins (both DBs).

签收, extension requests and decisions, 吹哨 approvals: the losers get a clear refusal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.db import create_engine, create_session_factory
from backend.models import Case, CaseEvent, CaseTask, OutboxMessage, Person, Role
from backend.services import intake, workflow
from backend.services.errors import DomainError, InvalidTransition
from backend.services.intake import ReportDraft
from backend.services.outbox import NoticeKind

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


async def _accepted_case(world: World) -> Case:
    case = await intake.submit_report(
        session=world.session, reporter=world["resident"], draft=ReportDraft(text="欠薪"), now=T0
    )
    case = await workflow.accept(
        session=world.session, actor=world["hrss_staff"], case_id=case.id, now=T0
    )
    assert case.id is not None
    return case


async def _race(
    world: World, calls: list[Callable[[AsyncSession], Awaitable[object]]]
) -> list[str]:
    """Run each call in its own session (connection) at the same moment: won / refused."""
    assert world.session.bind is not None
    url = world.session.bind.url.render_as_string(hide_password=False)
    engine = create_engine(url, pool_size=len(calls) + 2, max_overflow=0)
    factory = create_session_factory(engine)
    start = asyncio.Event()

    async def run(call: Callable[[AsyncSession], Awaitable[object]]) -> str:
        async with factory() as session:
            await start.wait()
            try:
                await call(session)
            except DomainError as exc:
                return f"refused:{exc.code}"
            return "won"

    tasks = [asyncio.create_task(run(call)) for call in calls]
    await asyncio.sleep(0.05)
    start.set()
    outcomes = await asyncio.gather(*tasks)
    await engine.dispose()
    return list(outcomes)


async def _events(world: World, case_id: int | None, action: str) -> list[CaseEvent]:
    async with world.factory() as check:
        rows = await check.exec(
            select(CaseEvent).where(CaseEvent.case_id == case_id, col(CaseEvent.action) == action)
        )
        return list(rows.all())


async def test_approve_and_deny_of_one_extension_at_once_decide_it_once(world: World) -> None:
    case = await _accepted_case(world)
    await workflow.request_extension(
        session=world.session, actor=world["hrss_staff"], case_id=case.id, days=5, reason="等鉴定"
    )
    dispatchers = [world["dispatcher"].id]
    dispatchers.append((await world.person("dispatcher2", Role.dispatcher, "center")).id)

    def decide(
        person_id: int | None, approve: bool
    ) -> Callable[[AsyncSession], Awaitable[object]]:
        async def call(session: AsyncSession) -> object:
            actor = await session.get(Person, person_id)
            assert actor is not None
            return await workflow.decide_extension(
                session=session, actor=actor, case_id=case.id, approve=approve
            )

        return call

    outcomes = await _race(world, [decide(dispatchers[0], True), decide(dispatchers[1], False)])

    assert outcomes.count("won") == 1
    assert next(o for o in outcomes if o != "won") in (
        "refused:conflict",
        "refused:no_extension_request",
    )
    decisions = await _events(world, case.id, "decide_extension")
    assert len(decisions) == 1
    async with world.factory() as check:
        notices = (
            await check.exec(
                select(OutboxMessage).where(
                    OutboxMessage.case_id == case.id,
                    col(OutboxMessage.kind) == NoticeKind.staff_notice,
                )
            )
        ).all()
        assert len(notices) == 1  # the claimer is told one decision


async def test_fifty_concurrent_extension_requests_make_one_request(world: World) -> None:
    case = await _accepted_case(world)
    staff_id = world["hrss_staff"].id

    async def request(session: AsyncSession) -> object:
        actor = await session.get(Person, staff_id)
        assert actor is not None
        return await workflow.request_extension(
            session=session, actor=actor, case_id=case.id, days=3, reason="等鉴定"
        )

    outcomes = await _race(world, [request] * 50)

    assert outcomes.count("won") == 1
    assert set(outcomes) - {"won"} <= {"refused:conflict", "refused:extension_pending"}
    assert len(await _events(world, case.id, "request_extension")) == 1


async def test_two_concurrent_joint_approvals_give_one_clear_refusal(world: World) -> None:
    case = await _accepted_case(world)
    await workflow.request_joint(
        session=world.session,
        actor=world["hrss_staff"],
        case_id=case.id,
        unit_codes=["police", "justice"],
        reason="需要公安协助",
    )
    dispatchers = [world["dispatcher"].id]
    dispatchers.append((await world.person("dispatcher2", Role.dispatcher, "center")).id)

    def approve(person_id: int | None) -> Callable[[AsyncSession], Awaitable[object]]:
        async def call(session: AsyncSession) -> object:
            actor = await session.get(Person, person_id)
            assert actor is not None
            return await workflow.approve_joint(
                session=session, actor=actor, case_id=case.id, unit_codes=["police", "justice"]
            )

        return call

    outcomes = await _race(world, [approve(pid) for pid in dispatchers])

    assert outcomes.count("won") == 1
    assert next(o for o in outcomes if o != "won") in ("refused:conflict", "refused:already_joint")
    assert len(await _events(world, case.id, "approve_joint")) == 1
    async with world.factory() as check:
        tasks = (await check.exec(select(CaseTask).where(CaseTask.case_id == case.id))).all()
        assert len(tasks) == 2
