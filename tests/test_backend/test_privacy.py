"""One masking function, one rule for who sees numbers, followers' view, anonymous reporters."""

from __future__ import annotations

import pytest
from sqlmodel import select

from backend.models import Case, CaseStatus, OutboxMessage
from backend.services import cases, intake, privacy, workflow
from backend.services.errors import NotAllowed
from backend.services.intake import ReportDraft
from backend.services.outbox import NoticeKind

from .conftest import T0, World


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话13812345678找我", "电话138****5678找我"),
        ("138 1234 5678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("1381 234 5678", "138****5678"),
        ("+86 138 1234 5678", "138****5678"),
        ("+8613812345678", "138****5678"),
        ("0086-13812345678", "138****5678"),
        ("１３８１２３４５６７８", "138****5678"),
        ("＋８６ １３８ １２３４ ５６７８", "138****5678"),
        ("座机0872-1234567", "座机0872-****567"),
        ("（0872）1234567", "0872-****567"),
        ("0872 123 4567", "0872-****567"),
        ("010-12345678", "010-****678"),
        ("身份证532925199001011234号", "身份证532***********1234号"),
        ("53292519900101123X", "532***********123X"),
        ("５３２９２５１９９００１０１１２３ｘ", "532***********123X"),
        ("两个号：13812345678、13987654321", "两个号：138****5678、139****4321"),
    ],
)
def test_every_kind_of_number_is_masked_inside_text(text: str, masked: str) -> None:
    assert privacy.mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "欠了我12000元，2026年11月27日说好还",
        "MD20261127-0042 还没人管",
        "12345678901234567890123 是快递单号",
        "3组12户，每户300斤",
        "2026-11-27 10:30",
        "12月3日 14:00",
    ],
)
def test_money_dates_codes_and_counts_are_left_alone(text: str) -> None:
    assert privacy.mask_text(text) == text


def test_mask_phone_for_a_contact_field() -> None:
    assert privacy.mask_phone("13812345678") == "138****5678"
    assert privacy.mask_phone("+86 138-1234-5678") == "138****5678"
    assert privacy.mask_phone("12345") == "****"
    assert privacy.mask_phone("") == "" and privacy.mask_phone(None) == ""


async def report(world: World, who: str = "resident", **kw: object) -> Case:
    kw.setdefault("text", "工地老板欠薪，我叫王秀英，电话13987654321，身份证532925199001011234")
    return await intake.submit_report(
        session=world.session,
        reporter=world[who],
        draft=ReportDraft(**kw),  # type: ignore[arg-type]
        now=T0,
    )


async def test_who_sees_numbers_unmasked(world: World) -> None:
    case = await report(world, contact_name="王秀英", contact_phone="13812345678")
    see = privacy.may_see_contact
    assert see(world["resident"], case, private=True)  # the reporter: it is their case
    assert see(world["dispatcher"], case, private=True)
    assert see(world["supervisor"], case, private=True)
    assert not see(world["dispatcher"], case, private=False)  # not in a group chat
    assert not see(world["hrss_staff"], case, private=True)  # unit staff before 签收
    assert not see(world["neighbour"], case, private=True)
    assert not see(None, case, private=True)
    await workflow.accept(session=world.session, actor=world["hrss_staff"], case_id=case.id)
    await world.session.refresh(case)
    assert see(world["hrss_staff"], case, private=True)  # the claimer, in private
    assert not see(world["hrss_staff"], case, private=False)  # never in the group
    assert not see(world["hrss_staff2"], case, private=True)  # a colleague who did not claim


async def test_an_anonymous_report_reveals_nobody_to_any_staff_role(world: World) -> None:
    case = await report(world, anonymous=True, contact_phone="13812345678")
    assert case.contact_phone is None and case.contact_name is None
    await workflow.accept(session=world.session, actor=world["hrss_staff"], case_id=case.id)
    await world.session.refresh(case)
    for who in ("dispatcher", "supervisor", "hrss_staff", "hrss_head"):
        assert not privacy.may_see_contact(world[who], case, private=True), who
    events = (await cases.case_detail(session=world.session, case_id=case.id)).events
    submit = next(e for e in events if e.action == "submit")
    assert privacy.actor_hidden(case, actor_id=submit.actor_id, actor_role=submit.actor_role)
    accept = next(e for e in events if e.action == "accept")
    assert not privacy.actor_hidden(case, actor_id=accept.actor_id, actor_role=accept.actor_role)


async def test_a_grid_worker_filing_anonymously_is_hidden_too(world: World) -> None:
    case = await report(world, who="grid", anonymous=True)
    assert privacy.actor_hidden(case, actor_id=world["grid"].id, actor_role="grid_worker")
    named = await report(world, who="grid", text="路灯坏了")
    assert not privacy.actor_hidden(named, actor_id=world["grid"].id, actor_role="grid_worker")


async def test_the_case_view_of_a_follower_has_no_text_place_or_result(world: World) -> None:
    case = await report(world, township="弥城镇", village="西山村", contact_phone="13812345678")
    await workflow.follow(session=world.session, actor=world["neighbour"], case_id=case.id)
    await workflow.accept(session=world.session, actor=world["hrss_staff"], case_id=case.id)
    await workflow.resolve(
        session=world.session,
        actor=world["hrss_staff"],
        case_id=case.id,
        result_text="已联系王秀英（13987654321），工资已结清",
    )
    await world.session.refresh(case)

    follower = await cases.case_view(session=world.session, person=world["neighbour"], case=case)
    assert follower.restricted and follower.code == case.code
    assert follower.status == CaseStatus.resolved and follower.unit is not None
    assert (follower.text, follower.result_text, follower.created_at) == ("", "", None)
    assert not follower.may_rate and follower.handle_deadline is None

    own = await cases.case_view(session=world.session, person=world["resident"], case=case)
    assert not own.restricted and "13987654321" in own.text and own.may_rate
    assert "王秀英（13987654321）" in own.result_text

    colleague = await cases.case_view(
        session=world.session, person=world["hrss_staff2"], case=case
    )
    assert "139****4321" in colleague.text and "13987654321" not in colleague.text
    assert "532***********1234" in colleague.text
    assert not colleague.may_rate

    with pytest.raises(NotAllowed):
        await cases.case_view(session=world.session, person=world["police_staff"], case=case)
    assert not await cases.can_view_as_staff(world["neighbour"], case, session=world.session)


async def test_followers_are_notified_without_the_result_text(world: World) -> None:
    case = await report(world)
    await workflow.follow(session=world.session, actor=world["neighbour"], case_id=case.id)
    await workflow.accept(session=world.session, actor=world["hrss_staff"], case_id=case.id)
    await workflow.resolve(
        session=world.session, actor=world["hrss_staff"], case_id=case.id, result_text="已结清"
    )
    rows = (
        await world.session.exec(
            select(OutboxMessage).where(OutboxMessage.kind == NoticeKind.case_update)
        )
    ).all()
    by_person = {(row.recipient_person_id, row.payload.get("event")): row.payload for row in rows}
    assert by_person[(world["resident"].id, "resolved")]["result_text"] == "已结清"
    follower_payload = by_person[(world["neighbour"].id, "resolved")]
    assert "result_text" not in follower_payload and "unit_name" not in follower_payload
    assert "unit_name" not in by_person[(world["neighbour"].id, "accepted")]
