"""The one policy: allowed_actions answers every screen, and the actions obey the same answer."""

from __future__ import annotations

from sqlmodel import col, select

from backend.models import CaseStatus, OutboxMessage, Person, Role
from backend.services import outbox, workflow
from backend.services.errors import DomainError, ErrorCode
from backend.services.outbox import NoticeKind
from backend.services.workflow import Action, allowed_actions

from .conftest import T0, World
from .test_workflow import accepted_case, new_case

A = Action


async def test_lead_staff_may_claim_or_return_a_new_case_and_nothing_of_the_center(
    world: World,
) -> None:
    case = await new_case(world)
    assert allowed_actions(case, world["hrss_staff"]) == {
        A.accept,
        A.return_,
        A.transfer,
        A.note,
        A.attachment,
    }
    assert allowed_actions(case, world["neighbour"]) == {A.follow}
    assert allowed_actions(case, world["resident"]) == {A.attachment}
    assert A.accept not in allowed_actions(case, world["police_staff"])
    assert allowed_actions(case, None) == frozenset()


async def test_after_claim_the_panel_offers_resolve_extension_joint_and_return(
    world: World,
) -> None:
    case = await accepted_case(world)
    actions = allowed_actions(case, world["hrss_staff"])
    assert {A.resolve, A.request_extension, A.request_joint, A.return_} <= actions
    assert A.accept not in actions


async def test_a_pending_extension_is_offered_for_decision_and_not_requested_again(
    world: World,
) -> None:
    case = await accepted_case(world)
    assert A.decide_extension not in allowed_actions(case, world["dispatcher"])
    case = await workflow.request_extension(
        session=world.session, actor=world["hrss_staff"], case_id=case.id, days=3, reason="等"
    )
    assert A.request_extension not in allowed_actions(case, world["hrss_staff"])
    assert A.decide_extension in allowed_actions(case, world["dispatcher"])
    assert A.decide_extension not in allowed_actions(case, world["supervisor"])


async def test_every_action_the_policy_refuses_the_workflow_refuses_too(world: World) -> None:
    """A screen never shows a button the workflow would refuse, and the reverse."""
    case = await new_case(world)
    for name in ("hrss_staff", "police_staff", "dispatcher", "supervisor", "resident"):
        person = world[name]
        allowed = allowed_actions(case, person)
        for action in (A.resolve, A.accept, A.dispatch, A.decide_extension, A.rate):
            try:
                workflow.authorise(action, case, person)
            except DomainError:
                assert action not in allowed, (name, action)
            else:
                assert action in allowed, (name, action)


async def test_refusals_say_why_with_a_code(world: World) -> None:
    case = await new_case(world)
    refusals = {}
    for name, action in (
        ("police_staff", A.accept),
        ("resident", A.accept),
        ("hrss_staff", A.dispatch),
        ("hrss_staff", A.resolve),
        ("hrss_staff", A.rate),
    ):
        try:
            workflow.authorise(action, case, world[name])
        except DomainError as exc:
            refusals[(name, action)] = exc.code
    assert refusals == {
        ("police_staff", A.accept): ErrorCode.other_unit,
        ("resident", A.accept): ErrorCode.not_staff,
        ("hrss_staff", A.dispatch): ErrorCode.not_dispatcher,
        ("hrss_staff", A.resolve): ErrorCode.case_not_accepted,
        ("hrss_staff", A.rate): ErrorCode.not_reporter,
    }


async def test_a_rating_tells_only_followers_and_refreshes_the_unit_card(world: World) -> None:
    case = await accepted_case(world)
    await workflow.follow(session=world.session, actor=world["neighbour"], case_id=case.id)
    card = await outbox.last_sent_card(session=world.session, case_id=case.id)
    assert card is None  # nothing delivered in this test: mark the unit's card as sent
    first_card = (
        await world.session.exec(
            select(OutboxMessage).where(
                OutboxMessage.case_id == case.id, OutboxMessage.kind == NoticeKind.case_card
            )
        )
    ).first()
    assert first_card is not None
    first_card.telegram_message_id = 77
    await world.session.commit()
    await workflow.resolve(
        session=world.session, actor=world["hrss_staff"], case_id=case.id, result_text="已结清"
    )
    before = await _last_id(world)
    rated = await workflow.rate(
        session=world.session, actor=world["resident"], case_id=case.id, score="satisfied", now=T0
    )
    assert rated.status == CaseStatus.closed
    rows = await _rows_after(world, before)
    updates = [r for r in rows if r.kind == NoticeKind.case_update]
    assert [r.recipient_person_id for r in updates] == [world["neighbour"].id]
    refresh = [r for r in rows if r.kind == NoticeKind.card_update]
    assert [r.payload["outbox_id_of_card"] for r in refresh] == [first_card.id]


async def test_a_status_change_from_the_web_also_refreshes_the_card(world: World) -> None:
    """The card refresh lives in the workflow, so every transport gets it."""
    case = await new_case(world)
    row = (
        await world.session.exec(select(OutboxMessage).where(OutboxMessage.case_id == case.id))
    ).first()
    assert row is not None
    row.telegram_message_id = 5
    await world.session.commit()
    before = await _last_id(world)
    await workflow.accept(session=world.session, actor=world["hrss_staff"], case_id=case.id)
    kinds = [r.kind for r in await _rows_after(world, before)]
    assert NoticeKind.card_update in kinds


async def test_a_unit_member_view_offers_claim_only_to_the_lead_unit(world: World) -> None:
    case = await new_case(world)
    lead = Person(role=Role.staff, unit_id=case.lead_unit_id)
    other = Person(role=Role.staff, unit_id=world.units["police"].id)
    assert A.accept in allowed_actions(case, lead)
    assert A.accept not in allowed_actions(case, other)


async def _last_id(world: World) -> int:
    rows = await world.session.exec(select(OutboxMessage.id).order_by(col(OutboxMessage.id)))
    ids = [i for i in rows.all() if i is not None]
    return ids[-1] if ids else 0


async def _rows_after(world: World, after: int) -> list[OutboxMessage]:
    rows = await world.session.exec(
        select(OutboxMessage).where(col(OutboxMessage.id) > after).order_by(col(OutboxMessage.id))
    )
    return list(rows.all())


def test_every_error_code_has_a_text_in_chinese_and_english() -> None:
    from bot.texts import keys

    for lang in ("zh", "en"):
        missing = [code for code in ErrorCode if f"error.{code}" not in keys(lang)]
        assert missing == [], (lang, missing)
