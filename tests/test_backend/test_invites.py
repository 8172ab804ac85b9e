"""Every invite is single-use whatever happens: /start, /bind, role changes, desk moves (both DBs).

The defects these prove fixed: a /bind by someone already in the unit left the code valid, so a
third person registered with it and a used code re-bound a desk to another group.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from backend.models import Invite, OutboxMessage, Person, Role, Unit
from backend.services import directory
from backend.services.errors import InviteError

from .conftest import T0, World


async def _invite(world: World, role: str = "staff", unit: str | None = "police") -> Invite:
    return await directory.create_invite(session=world.session, role=role, unit_code=unit, now=T0)


async def _fresh(world: World, invite: Invite) -> Invite:
    found = await world.session.get(Invite, invite.id, populate_existing=True)
    assert found is not None
    return found


async def _unit(world: World, code: str) -> Unit:
    unit = (
        await world.session.exec(
            select(Unit).where(Unit.code == code).execution_options(populate_existing=True)
        )
    ).one()
    return unit


async def _bind(world: World, who: str, invite: Invite, chat_id: int, title: str = "群"):  # type: ignore[no-untyped-def]
    return await directory.bind_group(
        session=world.session,
        person=world[who],
        code=invite.code,
        chat_id=chat_id,
        chat_title=title,
        now=T0,
    )


async def _desk_notices(world: World) -> list[OutboxMessage]:
    rows = await world.session.exec(
        select(OutboxMessage).where(OutboxMessage.kind == "desk_changed")
    )
    return list(rows.all())


# -- /bind ---------------------------------------------------------------------------------------
async def test_a_bind_by_a_unit_member_uses_the_code_up_so_nobody_registers_with_it(
    world: World,
) -> None:
    """The reported defect: the code posted in the group stayed valid after /bind."""
    invite = await _invite(world)
    binding = await _bind(world, "police_staff", invite, -100)
    assert binding.unit.code == "police" and binding.unit.chat_id == -100
    assert (await _fresh(world, invite)).used_at is not None
    with pytest.raises(InviteError) as err:
        await directory.redeem_invite(
            session=world.session, person=world["resident"], code=invite.code, now=T0
        )
    assert err.value.code == "invite_used"
    assert world["resident"].role == Role.resident


@pytest.mark.parametrize("second", ["police_staff", "resident", "dispatcher"])
async def test_a_used_code_never_binds_another_group(world: World, second: str) -> None:
    invite = await _invite(world)
    await _bind(world, "police_staff", invite, -100)
    with pytest.raises(InviteError) as err:
        await _bind(world, second, invite, -200)
    assert err.value.code == "invite_used"
    police = await _unit(world, "police")
    assert police.chat_id == -100


async def test_a_used_start_code_never_binds_a_group(world: World) -> None:
    invite = await _invite(world)
    await directory.redeem_invite(
        session=world.session, person=world["resident"], code=invite.code, now=T0
    )
    with pytest.raises(InviteError) as err:
        await _bind(world, "resident", invite, -100)
    assert err.value.code == "invite_used"
    assert (await _unit(world, "police")).chat_id is None


async def test_a_resident_binding_a_group_is_registered_with_the_invite(world: World) -> None:
    invite = await _invite(world)
    await _bind(world, "neighbour", invite, -100)
    assert (world["neighbour"].role, world["neighbour"].unit_id) == (
        Role.staff,
        world.units["police"].id,
    )


async def test_a_center_role_binds_without_changing_its_own_role(world: World) -> None:
    invite = await _invite(world, unit="court")
    binding = await _bind(world, "dispatcher", invite, -100)
    assert binding.unit.code == "court"
    assert world["dispatcher"].role == Role.dispatcher
    assert world["dispatcher"].unit_id == world.units["center"].id


@pytest.mark.parametrize("who", ["hrss_staff", "grid", "hrss_head"])
async def test_someone_of_another_unit_is_refused_and_the_code_stays_unused(
    world: World, who: str
) -> None:
    invite = await _invite(world)
    before = (world[who].role, world[who].unit_id)
    with pytest.raises(InviteError) as err:
        await _bind(world, who, invite, -100)
    assert err.value.code == "invite_other_role"
    assert (world[who].role, world[who].unit_id) == before
    assert (await _fresh(world, invite)).used_at is None
    assert (await _unit(world, "police")).chat_id is None
    # Still good for the person it was meant for.
    await _bind(world, "police_staff", invite, -100)
    assert (await _unit(world, "police")).chat_id == -100


async def test_moving_a_desk_needs_a_fresh_invite_and_tells_the_old_group(world: World) -> None:
    first = await _invite(world)
    await _bind(world, "police_staff", first, -100, "派出所老群")
    with pytest.raises(InviteError):
        await _bind(world, "police_staff", first, -200, "派出所新群")
    assert await _desk_notices(world) == []

    fresh = await _invite(world)
    binding = await _bind(world, "police_staff", fresh, -200, "派出所新群")
    assert binding.moved_from_chat == -100 and binding.displaced is None
    assert (await _unit(world, "police")).chat_id == -200
    assert await directory.get_unit_by_chat(session=world.session, chat_id=-100) is None
    [notice] = await _desk_notices(world)
    assert notice.chat_id == -100
    assert (notice.recipient_unit_id, notice.recipient_person_id) == (None, None)
    assert notice.payload["event"] == "moved"
    assert notice.payload["title"] == "派出所新群"


async def test_rebinding_the_same_group_uses_the_code_and_tells_nobody(world: World) -> None:
    await _bind(world, "police_staff", await _invite(world), -100)
    binding = await _bind(world, "police_staff", await _invite(world), -100)
    assert binding.moved_from_chat is None and binding.displaced is None
    assert await _desk_notices(world) == []


async def test_taking_over_another_units_group_unbinds_it_and_tells_the_center(
    world: World,
) -> None:
    await _bind(world, "dispatcher", await _invite(world, "dispatcher", "center"), -1)
    await _bind(world, "dispatcher", await _invite(world, unit="court"), -300, "法院群")
    binding = await _bind(world, "police_staff", await _invite(world), -300, "法院群")
    assert binding.displaced is not None and binding.displaced.code == "court"
    assert (await _unit(world, "court")).chat_id is None
    assert (await _unit(world, "police")).chat_id == -300
    [notice] = await _desk_notices(world)
    assert notice.chat_id == -1
    assert notice.payload["event"] == "taken"
    assert notice.payload["previous"] == (await _unit(world, "court")).name


async def test_two_binds_with_one_code_at_once_bind_one_group(world: World) -> None:
    invite = await _invite(world)
    ids = [world["police_staff"].id, world["resident"].id]

    async def bind(person_id: int | None, chat_id: int) -> str:
        async with world.factory() as session:
            person = await session.get(Person, person_id)
            assert person is not None
            try:
                await directory.bind_group(
                    session=session,
                    person=person,
                    code=invite.code,
                    chat_id=chat_id,
                    chat_title="群",
                    now=T0,
                )
            except InviteError:
                return "refused"
            return "bound"

    outcomes = await asyncio.gather(bind(ids[0], -100), bind(ids[1], -200))
    assert sorted(outcomes) == ["bound", "refused"]
    police = await _unit(world, "police")
    assert police.chat_id == (-100 if outcomes[0] == "bound" else -200)


# -- /start with another role: confirm or cancel ------------------------------------------------
async def test_an_invite_for_the_role_one_already_has_is_used_up(world: World) -> None:
    invite = await _invite(world)
    result = await directory.redeem_invite(
        session=world.session, person=world["police_staff"], code=invite.code, now=T0
    )
    assert not result.pending
    assert (await _fresh(world, invite)).used_by_id == world["police_staff"].id
    with pytest.raises(InviteError):
        await directory.redeem_invite(
            session=world.session, person=world["resident"], code=invite.code, now=T0
        )


@pytest.mark.parametrize(
    ("who", "role", "unit"),
    [
        ("grid", "staff", "police"),
        ("hrss_staff", "staff", "police"),
        ("hrss_staff", "unit_head", "hrss"),
        ("dispatcher", "staff", "police"),
        ("supervisor", "grid_worker", None),
    ],
)
async def test_a_role_change_waits_for_confirmation_and_holds_the_code(
    world: World, who: str, role: str, unit: str | None
) -> None:
    invite = await _invite(world, role, unit)
    person = world[who]
    before = (person.role, person.unit_id)
    result = await directory.redeem_invite(
        session=world.session, person=person, code=invite.code, now=T0
    )
    assert result.pending
    assert (person.role, person.unit_id) == before  # nothing changes before the confirmation
    held = await _fresh(world, invite)
    assert (held.used_at, held.reserved_by_id) == (None, person.id)
    for other in ("resident", "police_staff"):  # nobody else can use it meanwhile
        with pytest.raises(InviteError) as err:
            await directory.redeem_invite(
                session=world.session, person=world[other], code=invite.code, now=T0
            )
        assert err.value.code == "invite_reserved"
    with pytest.raises(InviteError):
        await _bind(world, "resident", invite, -100)

    await directory.confirm_invite(
        session=world.session, person=person, invite_id=held.id or 0, now=T0
    )
    expected_unit = world.units[unit].id if unit else None
    assert (person.role, person.unit_id) == (role, expected_unit)
    assert (await _fresh(world, invite)).used_by_id == person.id
    with pytest.raises(InviteError):  # confirming twice does nothing more
        await directory.confirm_invite(
            session=world.session, person=person, invite_id=held.id or 0, now=T0
        )


async def test_cancelling_a_role_change_leaves_the_code_unused(world: World) -> None:
    invite = await _invite(world)
    grid = world["grid"]
    await directory.redeem_invite(session=world.session, person=grid, code=invite.code, now=T0)
    await directory.cancel_invite(session=world.session, person=grid, invite_id=invite.id or 0)
    assert grid.role == Role.grid_worker
    released = await _fresh(world, invite)
    assert (released.used_at, released.reserved_by_id) == (None, None)
    result = await directory.redeem_invite(
        session=world.session, person=world["resident"], code=invite.code, now=T0
    )
    assert not result.pending and world["resident"].role == Role.staff


async def test_only_the_person_it_is_held_for_can_confirm_or_cancel(world: World) -> None:
    invite = await _invite(world)
    await directory.redeem_invite(
        session=world.session, person=world["grid"], code=invite.code, now=T0
    )
    for other in ("resident", "hrss_staff"):
        with pytest.raises(InviteError) as err:
            await directory.confirm_invite(
                session=world.session, person=world[other], invite_id=invite.id or 0, now=T0
            )
        assert err.value.code == "invite_not_reserved"
        with pytest.raises(InviteError):
            await directory.cancel_invite(
                session=world.session, person=world[other], invite_id=invite.id or 0
            )
    assert world["resident"].role == Role.resident
    assert (await _fresh(world, invite)).reserved_by_id == world["grid"].id


async def test_a_hold_that_was_never_answered_lapses(world: World) -> None:
    invite = await _invite(world)
    await directory.redeem_invite(
        session=world.session, person=world["grid"], code=invite.code, now=T0
    )
    later = T0 + directory.RESERVATION + timedelta(minutes=1)
    await directory.redeem_invite(
        session=world.session, person=world["resident"], code=invite.code, now=later
    )
    assert world["resident"].role == Role.staff
    with pytest.raises(InviteError):
        await directory.confirm_invite(
            session=world.session, person=world["grid"], invite_id=invite.id or 0, now=later
        )
    assert world["grid"].role == Role.grid_worker


async def test_a_code_revoked_while_held_cannot_be_confirmed(world: World) -> None:
    invite = await _invite(world)
    await directory.redeem_invite(
        session=world.session, person=world["grid"], code=invite.code, now=T0
    )
    await directory.revoke_invite(session=world.session, code=invite.code)
    with pytest.raises(InviteError) as err:
        await directory.confirm_invite(
            session=world.session, person=world["grid"], invite_id=invite.id or 0, now=T0
        )
    assert err.value.code == "invite_revoked"
    assert world["grid"].role == Role.grid_worker


async def test_two_registered_people_racing_for_one_code_hold_it_once(world: World) -> None:
    invite = await _invite(world)
    ids = [world["grid"].id, world["hrss_staff"].id]

    async def present(person_id: int | None) -> str:
        async with world.factory() as session:
            person = await session.get(Person, person_id)
            assert person is not None
            try:
                result = await directory.redeem_invite(
                    session=session, person=person, code=invite.code, now=T0
                )
            except InviteError:
                return "refused"
            return "pending" if result.pending else "registered"

    outcomes = await asyncio.gather(*(present(pid) for pid in ids))
    assert sorted(outcomes) == ["pending", "refused"]
