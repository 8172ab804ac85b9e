"""Every workflow transition and every refusal, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from sqlmodel import col, func, select

from backend.models import (
    Case,
    CaseEvent,
    CaseStatus,
    CaseTask,
    OutboxMessage,
    Rating,
    RatingScore,
    TaskStatus,
)
from backend.services import intake, outbox, workflow
from backend.services.errors import InvalidTransition, NotAllowed, ValidationFailed
from backend.services.intake import AttachmentIn, ReportDraft
from backend.services.workflow import Action, next_status

from .conftest import T0, World

S = CaseStatus


async def new_case(world: World, text: str = "老板欠薪三个月") -> Case:
    return await intake.submit_report(
        session=world.session, reporter=world["resident"], draft=ReportDraft(text=text), now=T0
    )


async def accepted_case(world: World) -> Case:
    case = await new_case(world)
    return await workflow.accept(
        session=world.session, actor=world["hrss_staff"], case_id=case.id, now=T0
    )


async def events(world: World, case: Case) -> list[tuple[str, str | None, str | None]]:
    rows = await world.session.exec(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(col(CaseEvent.id))
    )
    return [(e.action, e.from_status, e.to_status) for e in rows.all()]


async def notices(world: World, case: Case, after: int = 0) -> list[tuple[str, str]]:
    """(kind, recipient) of the outbox rows for the case, recipient as unit code or person name."""
    rows = await world.session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.case_id == case.id, col(OutboxMessage.id) > after)
        .order_by(col(OutboxMessage.id))
    )
    units = {u.id: code for code, u in world.units.items()}
    people = {p.id: name for name, p in world.people.items()}
    return [
        (
            m.kind,
            units[m.recipient_unit_id] if m.recipient_unit_id else people[m.recipient_person_id],
        )
        for m in rows.all()
    ]


async def last_outbox_id(world: World) -> int:
    return (await world.session.exec(select(func.max(OutboxMessage.id)))).one() or 0


async def fresh(world: World, case: Case) -> Case:
    async with world.factory() as other:
        row = await other.get(Case, case.id)
        assert row is not None
        return row


# --------------------------------------------------------------------------- accept (签收)


async def test_staff_of_the_lead_unit_accepts_and_the_handling_clock_starts(world: World) -> None:
    case = await new_case(world)
    mark = await last_outbox_id(world)
    case = await workflow.accept(
        session=world.session,
        actor=world["hrss_staff"],
        case_id=case.id,
        now=T0 + timedelta(hours=1),
    )
    assert case.status == S.accepted
    assert case.accepted_by_id == world["hrss_staff"].id
    assert case.handle_deadline is not None and case.handle_deadline > case.accept_deadline
    assert (await events(world, case))[-1] == ("accept", "dispatched", "accepted")
    assert await notices(world, case, mark) == [("case_update", "resident")]


async def test_second_accept_is_refused_as_already_claimed(world: World) -> None:
    case = await accepted_case(world)
    with pytest.raises(InvalidTransition):
        await workflow.accept(session=world.session, actor=world["hrss_staff2"], case_id=case.id)
    assert (await fresh(world, case)).accepted_by_id == world["hrss_staff"].id


async def test_staff_of_another_unit_cannot_accept(world: World) -> None:
    case = await new_case(world)
    with pytest.raises(NotAllowed) as err:
        await workflow.accept(session=world.session, actor=world["police_staff"], case_id=case.id)
    assert err.value.code == "other_unit"
    assert (await fresh(world, case)).status == S.dispatched


@pytest.mark.parametrize("who", ["resident", "grid", "supervisor"])
async def test_people_without_a_staff_role_cannot_press_staff_buttons(
    world: World, who: str
) -> None:
    case = await new_case(world)
    actor = world[who]
    for action in (
        partial(workflow.accept, session=world.session, actor=actor, case_id=case.id),
        partial(
            workflow.return_case,
            session=world.session,
            actor=actor,
            case_id=case.id,
            reason_code="其他",
            text="x",
        ),
        partial(
            workflow.resolve,
            session=world.session,
            actor=actor,
            case_id=case.id,
            result_text="好了",
        ),
        partial(
            workflow.request_extension,
            session=world.session,
            actor=actor,
            case_id=case.id,
            days=3,
            reason="x",
        ),
        partial(
            workflow.dispatch,
            session=world.session,
            actor=actor,
            case_id=case.id,
            unit_code="police",
        ),
        partial(
            workflow.approve_joint,
            session=world.session,
            actor=actor,
            case_id=case.id,
            unit_codes=["police"],
        ),
    ):
        with pytest.raises(NotAllowed):
            await action()
    assert await events(world, case) == [("submit", None, "dispatched")]


async def test_unknown_case_is_not_found(world: World) -> None:
    from backend.services.errors import NotFound

    with pytest.raises(NotFound):
        await workflow.accept(session=world.session, actor=world["hrss_staff"], case_id=9999)


# --------------------------------------------------------------------------- dispatch / triage


async def test_dispatcher_dispatches_a_triaged_case_and_the_accept_clock_starts(
    world: World,
) -> None:
    case = await new_case(world, "想问个事")
    assert case.status == S.triage
    case = await workflow.dispatch(
        session=world.session,
        actor=world["dispatcher"],
        case_id=case.id,
        unit_code="justice",
        now=T0,
    )
    assert (case.status, case.lead_unit_id) == (S.dispatched, world.units["justice"].id)
    assert case.accept_deadline is not None
    assert ("case_card", "justice") in await notices(world, case)


async def test_dispatch_of_a_case_already_at_a_unit_is_refused(world: World) -> None:
    case = await new_case(world)
    with pytest.raises(InvalidTransition):
        await workflow.dispatch(
            session=world.session, actor=world["dispatcher"], case_id=case.id, unit_code="police"
        )


# --------------------------------------------------------------------------- return (退单)


async def test_return_needs_a_known_reason_and_a_text(world: World) -> None:
    case = await new_case(world)
    with pytest.raises(ValidationFailed):
        await workflow.return_case(
            session=world.session,
            actor=world["hrss_staff"],
            case_id=case.id,
            reason_code="不想办",
            text="x",
        )
    with pytest.raises(ValidationFailed):
        await workflow.return_case(
            session=world.session,
            actor=world["hrss_staff"],
            case_id=case.id,
            reason_code="职能交叉",
            text=" ",
        )
    assert (await fresh(world, case)).status == S.dispatched


async def test_return_goes_to_the_center_and_approval_sends_it_elsewhere(world: World) -> None:
    case = await new_case(world)
    mark = await last_outbox_id(world)
    case = await workflow.return_case(
        session=world.session,
        actor=world["hrss_staff"],
        case_id=case.id,
        reason_code="职能交叉",
        text="属于工程款纠纷",
        now=T0,
    )
    assert (case.status, case.return_count, case.accept_deadline) == (S.returned, 1, None)
    assert await notices(world, case, mark) == [("return_request", "center")]
    mark = await last_outbox_id(world)
    case = await workflow.approve_return(
        session=world.session,
        actor=world["dispatcher"],
        case_id=case.id,
        unit_code="justice",
        now=T0,
    )
    assert (case.status, case.lead_unit_id) == (S.dispatched, world.units["justice"].id)
    assert await notices(world, case, mark) == [
        ("case_card", "justice"),
        ("staff_notice", "hrss_staff"),
    ]


async def test_approved_return_without_a_unit_goes_back_to_triage(world: World) -> None:
    case = await new_case(world)
    await workflow.return_case(
        session=world.session,
        actor=world["hrss_staff"],
        case_id=case.id,
        reason_code="其他",
        text="不清楚",
    )
    case = await workflow.approve_return(
        session=world.session, actor=world["dispatcher"], case_id=case.id, unit_code=None
    )
    assert (case.status, case.lead_unit_id) == (S.triage, world.units["center"].id)


async def test_overruled_return_goes_back_to_the_same_unit_with_a_new_clock(world: World) -> None:
    case = await new_case(world)
    await workflow.return_case(
        session=world.session,
        actor=world["hrss_staff"],
        case_id=case.id,
        reason_code="其他",
        text="不归我们",
    )
    mark = await last_outbox_id(world)
    case = await workflow.overrule_return(
        session=world.session,
        actor=world["dispatcher"],
        case_id=case.id,
        note="欠薪归人社",
        now=T0 + timedelta(days=1),
    )
    assert (case.status, case.lead_unit_id) == (S.dispatched, world.units["hrss"].id)
    assert case.dispatched_at == T0 + timedelta(days=1)
    assert await notices(world, case, mark) == [
        ("case_card", "hrss"),
        ("staff_notice", "hrss_staff"),
    ]


async def test_staff_cannot_approve_their_own_return(world: World) -> None:
    case = await new_case(world)
    await workflow.return_case(
        session=world.session,
        actor=world["hrss_staff"],
        case_id=case.id,
        reason_code="其他",
        text="x",
    )
    with pytest.raises(NotAllowed):
        await workflow.approve_return(
            session=world.session, actor=world["hrss_staff"], case_id=case.id, unit_code="police"
        )
    with pytest.raises(NotAllowed):
        await workflow.overrule_return(
            session=world.session, actor=world["hrss_head"], case_id=case.id, note="x"
        )


async def test_approve_return_of_a_case_not_returned_is_refused(world: World) -> None:
    case = await new_case(world)
    with pytest.raises(InvalidTransition):
        await workflow.approve_return(
            session=world.session, actor=world["dispatcher"], case_id=case.id, unit_code="police"
        )
    with pytest.raises(InvalidTransition):
        await workflow.overrule_return(
            session=world.session, actor=world["dispatcher"], case_id=case.id, note="x"
        )


# --------------------------------------------------------------------------- transfer


async def test_transfer_moves_the_case_and_tells_the_resident(world: World) -> None:
    case = await accepted_case(world)
    mark = await last_outbox_id(world)
    case = await workflow.transfer(
        session=world.session,
        actor=world["hrss_staff"],
        case_id=case.id,
        unit_code="housing",
        reason="工程项目欠薪",
        now=T0,
    )
    assert (case.status, case.lead_unit_id, case.accepted_by_id) == (
        S.dispatched,
        world.units["housing"].id,
        None,
    )
    assert await notices(world, case, mark) == [
        ("case_card", "housing"),
        ("case_update", "resident"),
    ]


async def test_transfer_refusals(world: World) -> None:
    case = await new_case(world)
    with pytest.raises(NotAllowed):
        await workflow.transfer(
            session=world.session,
            actor=world["police_staff"],
            case_id=case.id,
            unit_code="housing",
            reason="x",
        )
    with pytest.raises(ValidationFailed):
        await workflow.transfer(
            session=world.session,
            actor=world["dispatcher"],
            case_id=case.id,
            unit_code="hrss",
            reason="x",
        )
    with pytest.raises(ValidationFailed):
        await workflow.transfer(
            session=world.session,
            actor=world["dispatcher"],
            case_id=case.id,
            unit_code="housing",
            reason="",
        )


# --------------------------------------------------------------------------- joint handling (联办)


async def test_joint_case_resolves_only_when_every_assisting_task_is_done(world: World) -> None:
    case = await accepted_case(world)
    mark = await last_outbox_id(world)
    await workflow.request_joint(
        session=world.session,
        actor=world["hrss_staff"],
        case_id=case.id,
        unit_codes=["housing", "justice", "hrss"],
        reason="工程欠薪需住建配合",
    )
    assert await notices(world, case, mark) == [("joint_request", "center")]
    mark = await last_outbox_id(world)
    await workflow.approve_joint(
        session=world.session,
        actor=world["dispatcher"],
        case_id=case.id,
        unit_codes=["housing", "justice"],
    )
    assert await notices(world, case, mark) == [
        ("joint_task", "housing"),
        ("joint_task", "justice"),
        ("staff_notice", "hrss_staff"),
    ]
    tasks = (await world.session.exec(select(CaseTask).where(CaseTask.case_id == case.id))).all()
    assert {t.status for t in tasks} == {TaskStatus.pending}

    with pytest.raises(InvalidTransition) as err:
        await workflow.resolve(
            session=world.session, actor=world["hrss_staff"], case_id=case.id, result_text="已结清"
        )
    assert err.value.code == "tasks_pending"
    with pytest.raises(InvalidTransition):  # must 签收 the task first
        await workflow.complete_task(
            session=world.session, actor=world["housing_staff"], case_id=case.id, result_text="x"
        )

    for who in ("housing_staff", "justice_staff"):
        await workflow.accept(session=world.session, actor=world[who], case_id=case.id)
    await workflow.complete_task(
        session=world.session,
        actor=world["housing_staff"],
        case_id=case.id,
        result_text="已督促总包",
    )
    with pytest.raises(InvalidTransition):
        await workflow.resolve(
            session=world.session, actor=world["hrss_staff"], case_id=case.id, result_text="已结清"
        )
    await workflow.complete_task(
        session=world.session,
        actor=world["justice_staff"],
        case_id=case.id,
        result_text="已法律援助",
    )
    case = await workflow.resolve(
        session=world.session, actor=world["hrss_staff"], case_id=case.id, result_text="已结清"
    )
    assert case.status == S.resolved
    actions = [a for a, _, _ in await events(world, case)]
    assert actions.count("accept_task") == 2 and actions.count("complete_task") == 2


async def test_unit_without_a_task_cannot_complete_one(world: World) -> None:
    case = await accepted_case(world)
    with pytest.raises(NotAllowed):
        await workflow.complete_task(
            session=world.session, actor=world["police_staff"], case_id=case.id, result_text="x"
        )


async def test_joint_request_refusals(world: World) -> None:
    case = await new_case(world)
    with pytest.raises(InvalidTransition):  # not yet accepted
        await workflow.request_joint(
            session=world.session,
            actor=world["hrss_staff"],
            case_id=case.id,
            unit_codes=["housing"],
            reason="x",
        )
    case = await accepted_case(world)
    with pytest.raises(ValidationFailed):  # only the lead unit named
        await workflow.approve_joint(
            session=world.session, actor=world["dispatcher"], case_id=case.id, unit_codes=["hrss"]
        )


# --------------------------------------------------------------------------- extension (延期)


async def test_approved_extension_moves_the_deadline_and_tells_the_resident(world: World) -> None:
    case = await accepted_case(world)
    old = case.handle_deadline
    await workflow.request_extension(
        session=world.session,
        actor=world["hrss_staff"],
        case_id=case.id,
        days=5,
        reason="等待鉴定",
    )
    with pytest.raises(InvalidTransition):  # one request at a time
        await workflow.request_extension(
            session=world.session, actor=world["hrss_staff"], case_id=case.id, days=2, reason="x"
        )
    mark = await last_outbox_id(world)
    case = await workflow.decide_extension(
        session=world.session, actor=world["dispatcher"], case_id=case.id, approve=True
    )
    assert case.handle_deadline is not None and old is not None and case.handle_deadline > old
    assert (case.extension_count, case.extension_requested_until) == (1, None)
    assert await notices(world, case, mark) == [
        ("case_update", "resident"),
        ("staff_notice", "hrss_staff"),
    ]


async def test_denied_extension_keeps_the_deadline(world: World) -> None:
    case = await accepted_case(world)
    old = case.handle_deadline
    await workflow.request_extension(
        session=world.session,
        actor=world["hrss_staff"],
        case_id=case.id,
        days=5,
        reason="等待鉴定",
    )
    case = await workflow.decide_extension(
        session=world.session,
        actor=world["dispatcher"],
        case_id=case.id,
        approve=False,
        note="请抓紧",
    )
    assert (case.handle_deadline, case.extension_count) == (old, 0)
    with pytest.raises(InvalidTransition):  # nothing left to decide
        await workflow.decide_extension(
            session=world.session, actor=world["dispatcher"], case_id=case.id, approve=True
        )


async def test_extension_days_are_bounded(world: World) -> None:
    case = await accepted_case(world)
    with pytest.raises(ValidationFailed):
        await workflow.request_extension(
            session=world.session, actor=world["hrss_staff"], case_id=case.id, days=0, reason="x"
        )


# ------------------------------------------------------------------- notes, attachments, 督办


async def test_notes_and_attachments_by_involved_people_only(world: World) -> None:
    case = await new_case(world)
    await workflow.add_note(
        session=world.session, actor=world["hrss_staff"], case_id=case.id, text="已电话联系"
    )
    await workflow.add_note(
        session=world.session, actor=world["dispatcher"], case_id=case.id, text="关注"
    )
    await workflow.add_attachment(
        session=world.session, actor=world["resident"], case_id=case.id, kind="photo", file_id="f2"
    )
    with pytest.raises(NotAllowed):
        await workflow.add_note(
            session=world.session, actor=world["police_staff"], case_id=case.id, text="x"
        )
    with pytest.raises(NotAllowed):
        await workflow.add_attachment(
            session=world.session,
            actor=world["neighbour"],
            case_id=case.id,
            kind="photo",
            file_id="f3",
        )
    assert [a for a, _, _ in await events(world, case)] == ["submit", "note", "note", "attachment"]


async def test_supervision_reaches_the_unit_and_its_heads(world: World) -> None:
    case = await new_case(world)
    mark = await last_outbox_id(world)
    await workflow.supervise(
        session=world.session, actor=world["supervisor"], case_id=case.id, note="请今天签收"
    )
    assert await notices(world, case, mark) == [
        ("supervision", "hrss"),
        ("supervision", "hrss_head"),
    ]
    with pytest.raises(NotAllowed):
        await workflow.supervise(
            session=world.session, actor=world["hrss_head"], case_id=case.id, note="x"
        )


# --------------------------------------------------------------------------- resolve, rate, close


async def test_resolve_asks_the_resident_to_rate_and_satisfied_closes(world: World) -> None:
    case = await accepted_case(world)
    mark = await last_outbox_id(world)
    case = await workflow.resolve(
        session=world.session,
        actor=world["hrss_staff"],
        case_id=case.id,
        result_text="工资已结清",
        evidence=[AttachmentIn("photo", "receipt")],
    )
    assert (case.status, case.result_text) == (S.resolved, "工资已结清")
    assert await notices(world, case, mark) == [
        ("case_update", "resident"),
        ("rating_request", "resident"),
    ]
    with pytest.raises(NotAllowed):
        await workflow.rate(
            session=world.session, actor=world["neighbour"], case_id=case.id, score="satisfied"
        )
    case = await workflow.rate(
        session=world.session,
        actor=world["resident"],
        case_id=case.id,
        score=RatingScore.basically_satisfied,
    )
    assert case.status == S.closed and case.closed_at is not None
    assert len((await world.session.exec(select(Rating))).all()) == 1


async def test_unsatisfied_reopens_at_the_same_unit_and_counts(world: World) -> None:
    case = await accepted_case(world)
    for round_ in (1, 2):
        await workflow.resolve(
            session=world.session, actor=world["hrss_staff"], case_id=case.id, result_text="已处理"
        )
        mark = await last_outbox_id(world)
        case = await workflow.rate(
            session=world.session,
            actor=world["resident"],
            case_id=case.id,
            score="unsatisfied",
            reason="钱没拿到",
        )
        assert (case.status, case.reopen_count, case.lead_unit_id) == (
            S.reopened,
            round_,
            world.units["hrss"].id,
        )
        assert case.accepted_by_id is None and case.accept_deadline is not None
        # The rater is answered by the rating dialog itself, so no case_update to them.
        assert await notices(world, case, mark) == [
            ("unsatisfied", "center"),
            ("case_card", "hrss"),
        ]
        case = await workflow.accept(
            session=world.session, actor=world["hrss_staff2"], case_id=case.id
        )


async def test_resolve_refusals(world: World) -> None:
    case = await new_case(world)
    with pytest.raises(InvalidTransition):  # not accepted yet
        await workflow.resolve(
            session=world.session, actor=world["hrss_staff"], case_id=case.id, result_text="x"
        )
    case = await workflow.accept(session=world.session, actor=world["hrss_staff"], case_id=case.id)
    with pytest.raises(ValidationFailed):
        await workflow.resolve(
            session=world.session, actor=world["hrss_staff"], case_id=case.id, result_text=""
        )
    with pytest.raises(NotAllowed):
        await workflow.resolve(
            session=world.session, actor=world["police_staff"], case_id=case.id, result_text="x"
        )
    with pytest.raises(InvalidTransition):  # not resolved yet
        await workflow.rate(
            session=world.session, actor=world["resident"], case_id=case.id, score="satisfied"
        )


async def test_closed_case_refuses_every_action(world: World) -> None:
    case = await new_case(world)
    case = await workflow.close(
        session=world.session, actor=world["supervisor"], case_id=case.id, reason="群众撤回"
    )
    assert case.status == S.closed
    staff, disp = world["hrss_staff"], world["dispatcher"]
    attempts = [
        partial(workflow.accept, session=world.session, actor=staff, case_id=case.id),
        partial(
            workflow.return_case,
            session=world.session,
            actor=staff,
            case_id=case.id,
            reason_code="其他",
            text="x",
        ),
        partial(
            workflow.transfer,
            session=world.session,
            actor=disp,
            case_id=case.id,
            unit_code="police",
            reason="x",
        ),
        partial(workflow.add_note, session=world.session, actor=staff, case_id=case.id, text="x"),
        partial(
            workflow.resolve, session=world.session, actor=staff, case_id=case.id, result_text="x"
        ),
        partial(workflow.close, session=world.session, actor=disp, case_id=case.id, reason="x"),
        partial(workflow.supervise, session=world.session, actor=disp, case_id=case.id, note="x"),
        partial(
            workflow.dispatch,
            session=world.session,
            actor=disp,
            case_id=case.id,
            unit_code="police",
        ),
        partial(
            workflow.rate,
            session=world.session,
            actor=world["resident"],
            case_id=case.id,
            score="satisfied",
        ),
    ]
    for attempt in attempts:
        with pytest.raises(InvalidTransition):
            await attempt()
    assert [a for a, _, _ in await events(world, case)] == ["submit", "close"]


async def test_only_center_roles_close(world: World) -> None:
    case = await new_case(world)
    with pytest.raises(NotAllowed):
        await workflow.close(
            session=world.session, actor=world["hrss_head"], case_id=case.id, reason="x"
        )


# --------------------------------------------------------------------------- the table itself


def test_transition_table_covers_the_lifecycle() -> None:
    assert next_status(S.triage, Action.dispatch) == S.dispatched
    assert next_status(S.reopened, Action.accept) == S.accepted
    assert next_status(S.returned, Action.approve_return, target=S.triage) == S.triage
    assert next_status(S.resolved, Action.rate, target=S.reopened) == S.reopened
    for status in (S.closed, S.grid_resolved):
        for action in Action:
            with pytest.raises(InvalidTransition):
                next_status(status, action, target=S.dispatched)


# --------------------------------------------------------------------------- transactional outbox


async def test_failure_after_the_outbox_write_rolls_back_the_change_too(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    case = await new_case(world)
    case_id = case.id
    before_outbox = await last_outbox_id(world)
    real_enqueue = outbox.enqueue_rows  # every workflow notice is written through it

    async def enqueue_then_crash(**kwargs: object) -> None:
        await real_enqueue(**kwargs)  # type: ignore[arg-type]
        raise RuntimeError("process died after writing the outbox row")

    monkeypatch.setattr(outbox, "enqueue_rows", enqueue_then_crash)
    with pytest.raises(RuntimeError):
        await workflow.accept(session=world.session, actor=world["hrss_staff"], case_id=case_id)
    monkeypatch.setattr(outbox, "enqueue_rows", real_enqueue)

    async with world.factory() as other:
        row = await other.get(Case, case_id)
        assert row is not None and (row.status, row.accepted_by_id) == (S.dispatched, None)
        rows = (
            await other.exec(select(OutboxMessage).where(col(OutboxMessage.id) > before_outbox))
        ).all()
        assert rows == []
        actions = (
            await other.exec(select(CaseEvent.action).where(CaseEvent.case_id == case_id))
        ).all()
        assert list(actions) == ["submit"]
    # The caller's objects were reloaded: the same session and actor work afterwards.
    assert world["hrss_staff"].role == "staff"
    case = await workflow.accept(session=world.session, actor=world["hrss_staff"], case_id=case_id)
    assert case.status == S.accepted
