"""People, units and one-time invites (both DBs)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.models import Role
from backend.services import directory
from backend.services.errors import InviteError, NotFound, ValidationFailed

from .conftest import T0, World


async def test_invite_is_single_use(world: World) -> None:
    invite = await directory.create_invite(
        session=world.session, role=Role.staff, unit_code="police", now=T0
    )
    person = await directory.get_or_create_person(
        session=world.session, telegram_id=555, display_name="小李"
    )
    person = (
        await directory.redeem_invite(
            session=world.session, person=person, code=invite.code, now=T0
        )
    ).person
    assert (person.role, person.unit_id) == (Role.staff, world.units["police"].id)
    other = await directory.get_or_create_person(session=world.session, telegram_id=556)
    with pytest.raises(InviteError) as err:
        await directory.redeem_invite(
            session=world.session, person=other, code=invite.code, now=T0
        )
    assert err.value.code == "invite_used"
    assert other.role == Role.resident


async def test_revoked_and_expired_invites_do_not_work(world: World) -> None:
    person = await directory.get_or_create_person(session=world.session, telegram_id=557)
    revoked = await directory.create_invite(
        session=world.session, role="unit_head", unit_code="justice", now=T0
    )
    await directory.revoke_invite(session=world.session, code=revoked.code)
    with pytest.raises(InviteError) as err:
        await directory.redeem_invite(
            session=world.session, person=person, code=revoked.code, now=T0
        )
    assert err.value.code == "invite_revoked"
    expiring = await directory.create_invite(
        session=world.session, role="grid_worker", unit_code=None, ttl_days=1, now=T0
    )
    with pytest.raises(InviteError) as err:
        await directory.redeem_invite(
            session=world.session, person=person, code=expiring.code, now=T0 + timedelta(days=2)
        )
    assert err.value.code == "invite_expired"
    with pytest.raises(InviteError):
        await directory.redeem_invite(
            session=world.session, person=person, code="NOSUCHCODE", now=T0
        )


async def test_used_invite_cannot_be_revoked(world: World) -> None:
    invite = await directory.create_invite(session=world.session, role="staff", unit_code="police")
    person = await directory.get_or_create_person(session=world.session, telegram_id=558)
    await directory.redeem_invite(session=world.session, person=person, code=invite.code)
    with pytest.raises(InviteError):
        await directory.revoke_invite(session=world.session, code=invite.code)


async def test_invite_needs_a_known_unit_for_staff(world: World) -> None:
    with pytest.raises(ValidationFailed):
        await directory.create_invite(session=world.session, role="staff", unit_code=None)
    with pytest.raises(NotFound):
        await directory.create_invite(session=world.session, role="staff", unit_code="nowhere")
    with pytest.raises(ValidationFailed):
        await directory.create_invite(session=world.session, role="emperor", unit_code="police")
    dispatcher = await directory.create_invite(
        session=world.session, role="dispatcher", unit_code=None
    )
    assert dispatcher.unit_id == world.units["center"].id


async def test_township_staff_invite_gives_the_township(world: World) -> None:
    invite = await directory.create_invite(
        session=world.session, role="staff", unit_code="township:密祉镇"
    )
    person = await directory.get_or_create_person(session=world.session, telegram_id=559)
    person = (
        await directory.redeem_invite(
            session=world.session, person=person, code=invite.code.lower()
        )
    ).person
    assert person.township == "密祉镇"


async def test_bind_group_makes_the_chat_the_units_desk(world: World) -> None:
    invite = await directory.create_invite(session=world.session, role="staff", unit_code="police")
    person = await directory.get_or_create_person(session=world.session, telegram_id=560)
    binding = await directory.bind_group(
        session=world.session,
        person=person,
        code=invite.code,
        chat_id=-100123,
        chat_title="公安局工作群",
    )
    unit = binding.unit
    assert (unit.code, unit.chat_id) == ("police", -100123)
    found = await directory.get_unit_by_chat(session=world.session, chat_id=-100123)
    assert found is not None and found.code == "police"
    grid = await directory.create_invite(session=world.session, role="grid_worker", unit_code=None)
    with pytest.raises(InviteError):
        await directory.bind_group(
            session=world.session, person=person, code=grid.code, chat_id=-1, chat_title="x"
        )


async def test_get_or_create_person_is_stable_and_language_is_checked(world: World) -> None:
    a = await directory.get_or_create_person(session=world.session, telegram_id=561, language="en")
    b = await directory.get_or_create_person(session=world.session, telegram_id=561)
    assert a.id == b.id and b.language == "en"
    with pytest.raises(ValidationFailed):
        await directory.set_language(session=world.session, person=a, language="fr")
    assert (
        await directory.set_language(session=world.session, person=a, language="zh")
    ).language == "zh"


async def test_unit_heads_and_sync_is_idempotent(world: World) -> None:
    from backend.county import load_county

    heads = await directory.unit_heads(session=world.session, unit_id=world.units["hrss"].id)
    assert [h.display_name for h in heads] == ["hrss_head"]
    assert await directory.sync_units(session=world.session, county=load_county()) == (0, 0)
