"""The update inbox: every Telegram update is written down before Telegram is told it arrived.

``receive`` stores a batch (one transaction) and answers which update ids are new: an id seen
before is a redelivery and is not handled again. The receiver leases what it takes for
``LEASE_SECONDS`` and renews the lease while its handler runs (``renew``); ``finish`` marks an
update handled. Updates still open when their lease runs out belong to a process that died
while handling them: ``claim_orphans`` hands them, oldest first, to whoever asks (the polling
process at start-up, any webhook worker's sweeper), and ``take_over`` gives one to the webhook
worker that Telegram re-posted it to.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, delete, select, update

from backend.models import InboxUpdate
from backend.models.base import utcnow

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

LEASE_SECONDS = 15
KEEP_DONE_FOR = timedelta(days=2)


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind is not None else "sqlite"


async def receive(
    *,
    session: AsyncSession,
    updates: list[tuple[int, dict[str, Any]]],
    now: datetime | None = None,
) -> set[int]:
    """Store updates not seen before, leased to the caller (commits); returns their ids."""
    if not updates:
        return set()
    now = now or utcnow()
    insert = pg_insert if _dialect(session) == "postgresql" else sqlite_insert
    rows = [
        {
            "update_id": update_id,
            "payload": payload,
            "done": False,
            "lease_until": now + timedelta(seconds=LEASE_SECONDS),
            "received_at": now,
        }
        for update_id, payload in updates
    ]
    statement = (
        insert(InboxUpdate)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(col(InboxUpdate.update_id))
    )
    result = await session.exec(statement)
    new = {int(row[0]) for row in result.all()}
    await session.commit()
    return new


def finish_statement(update_id: int) -> Any:
    """The statement marking an update handled (for a caller's own transaction)."""
    return (
        update(InboxUpdate)
        .where(col(InboxUpdate.update_id) == update_id)
        .values(done=True)
        .execution_options(synchronize_session=False)
    )


async def finish(*, session: AsyncSession, update_id: int) -> None:
    await session.exec(finish_statement(update_id))
    await session.commit()


async def renew(*, session: AsyncSession, update_id: int, now: datetime | None = None) -> None:
    await session.exec(
        update(InboxUpdate)
        .where(col(InboxUpdate.update_id) == update_id, col(InboxUpdate.done).is_(False))
        .values(lease_until=(now or utcnow()) + timedelta(seconds=LEASE_SECONDS))
        .execution_options(synchronize_session=False)
    )
    await session.commit()


async def take_over(
    *, session: AsyncSession, update_id: int, now: datetime | None = None
) -> Literal["done", "busy", "taken"]:
    """A re-posted update: handled already, still being handled elsewhere, or now ours."""
    now = now or utcnow()
    result = await session.exec(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.update_id) == update_id,
            col(InboxUpdate.done).is_(False),
            col(InboxUpdate.lease_until) <= now,
        )
        .values(lease_until=now + timedelta(seconds=LEASE_SECONDS))
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    if result.rowcount == 1:
        return "taken"
    row = await session.get(InboxUpdate, update_id)
    return "busy" if row is not None and not row.done else "done"


async def claim_orphans(
    *, session: AsyncSession, limit: int = 100, now: datetime | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """Open updates whose lease ran out, oldest first, leased anew to the caller (commits)."""
    now = now or utcnow()
    query = (
        select(InboxUpdate)
        .where(col(InboxUpdate.done).is_(False), col(InboxUpdate.lease_until) <= now)
        .order_by(col(InboxUpdate.update_id))
        .limit(limit)
    )
    if _dialect(session) == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list((await session.exec(query)).all())
    claimed: list[tuple[int, dict[str, Any]]] = []
    for row in rows:
        result = await session.exec(
            update(InboxUpdate)
            .where(
                col(InboxUpdate.update_id) == row.update_id,
                col(InboxUpdate.lease_until) == row.lease_until,
            )
            .values(lease_until=now + timedelta(seconds=LEASE_SECONDS))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            claimed.append((row.update_id, dict(row.payload)))
    await session.commit()
    return claimed


async def release_all(*, session: AsyncSession) -> int:
    """Make every open update claimable now (the single polling process starting up: whatever
    is still open was cut short by its previous run)."""
    result = await session.exec(
        update(InboxUpdate)
        .where(col(InboxUpdate.done).is_(False))
        .values(lease_until=utcnow() - timedelta(seconds=1))
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return int(result.rowcount or 0)


async def prune(*, session: AsyncSession, now: datetime | None = None) -> None:
    """Forget handled updates after ``KEEP_DONE_FOR`` (redeliveries come within minutes)."""
    cutoff = (now or utcnow()) - KEEP_DONE_FOR
    await session.exec(
        delete(InboxUpdate).where(
            col(InboxUpdate.done).is_(True), col(InboxUpdate.received_at) < cutoff
        )
    )
    await session.commit()
