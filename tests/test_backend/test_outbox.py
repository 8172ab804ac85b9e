"""Transactional outbox: dedupe, leased claims, retry, blocked users (both DBs)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import col, select

from backend.models import OutboxMessage, OutboxState, Person
from backend.services import outbox
from backend.services.outbox import NoticeKind

from .conftest import T0, World


async def add(
    world: World, key: str, person: Person | None = None, kind: NoticeKind = NoticeKind.digest
) -> None:
    await outbox.enqueue(
        session=world.session,
        kind=kind,
        case_id=None,
        payload={"new": 1},
        dedupe_key=key,
        person=person,
        unit=None if person else world.units["center"],
        now=T0,
    )
    await world.session.commit()


async def all_rows(world: World) -> list[OutboxMessage]:
    async with world.factory() as s:
        return list((await s.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())


async def test_a_repeated_dedupe_key_is_written_once(world: World) -> None:
    await add(world, "digest:2026-11-25")
    await add(world, "digest:2026-11-25")
    rows = await all_rows(world)
    assert [r.dedupe_key for r in rows] == ["digest:2026-11-25"]
    assert rows[0].recipient_unit_id == world.units["center"].id


async def test_person_recipient_gets_the_chat_id_resolved(world: World) -> None:
    await add(world, "p", person=world["resident"])
    (row,) = await all_rows(world)
    assert row.chat_id == world["resident"].telegram_id


async def test_claim_batch_leases_due_rows_and_they_come_back_if_not_reported(
    world: World,
) -> None:
    await add(world, "a")
    await add(world, "b")
    claimed = await outbox.claim_batch(session=world.session, limit=10, now=T0)
    assert [m.dedupe_key for m in claimed] == ["a", "b"]
    inside_lease = T0 + timedelta(seconds=outbox.LEASE_SECONDS - 1)
    assert await outbox.claim_batch(session=world.session, now=inside_lease) == []
    again = await outbox.claim_batch(
        session=world.session, now=T0 + timedelta(seconds=outbox.LEASE_SECONDS + 1)
    )
    assert [m.attempts for m in again] == [2, 2]


async def test_a_renewed_lease_keeps_the_row_from_other_notifiers(world: World) -> None:
    await add(world, "slow")
    await add(world, "done")
    slow, done = await outbox.claim_batch(session=world.session, limit=10, now=T0)
    await outbox.mark_sent(session=world.session, message_id=done.id)
    renewed_at = T0 + timedelta(seconds=outbox.LEASE_SECONDS - 1)
    renewed = await outbox.renew_leases(
        session=world.session, message_ids=[slow.id, done.id], now=renewed_at
    )
    assert renewed == 1  # a row already reported back is not leased again
    after_first_lease = T0 + timedelta(seconds=outbox.LEASE_SECONDS + 1)
    assert await outbox.claim_batch(session=world.session, now=after_first_lease) == []
    after_renewal = renewed_at + timedelta(seconds=outbox.LEASE_SECONDS + 1)
    claimed = await outbox.claim_batch(session=world.session, now=after_renewal)
    assert [m.dedupe_key for m in claimed] == ["slow"]


async def test_red_alerts_are_claimed_before_older_rows(world: World) -> None:
    for n in range(5):
        await add(world, f"card{n}")
    await add(world, "red", kind=NoticeKind.red_alert)
    claimed = await outbox.claim_batch(session=world.session, limit=3, now=T0)
    assert [m.dedupe_key for m in claimed] == ["red", "card0", "card1"]


async def test_sent_retry_blocked_and_failed(world: World) -> None:
    for key in ("sent", "retry", "blocked", "failed"):
        await add(world, key, person=world["resident"])
    rows = {m.dedupe_key: m for m in await outbox.claim_batch(session=world.session, now=T0)}
    await outbox.mark_sent(
        session=world.session, message_id=rows["sent"].id, telegram_message_id=77
    )
    await outbox.mark_retry(
        session=world.session, message_id=rows["retry"].id, error="429", retry_after=30, now=T0
    )
    await outbox.mark_blocked(session=world.session, message_id=rows["blocked"].id)
    await outbox.mark_failed(
        session=world.session, message_id=rows["failed"].id, error="400 bad request"
    )
    state = {m.dedupe_key: m for m in await all_rows(world)}
    assert (state["sent"].state, state["sent"].telegram_message_id) == (OutboxState.sent, 77)
    assert state["retry"].state == OutboxState.pending
    assert state["retry"].next_attempt_at == T0 + timedelta(seconds=30)
    assert state["blocked"].state == OutboxState.blocked
    assert state["failed"].state == OutboxState.failed
    async with world.factory() as s:
        person = await s.get(Person, world["resident"].id)
        assert person is not None and person.bot_blocked is True


async def test_two_notifiers_never_take_the_same_row(world: World) -> None:
    for n in range(30):
        await add(world, f"m{n}")

    async def notifier() -> list[int]:
        async with world.factory() as s:
            return [m.id for m in await outbox.claim_batch(session=s, limit=20, now=T0)]

    first, second = await asyncio.gather(notifier(), notifier())
    assert not set(first) & set(second)
    assert len(first) + len(second) <= 30
