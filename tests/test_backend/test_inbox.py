"""The update inbox: stored before acknowledged, each id once, orphans handed out again (both
DBs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.services import inbox

T0 = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)


def update(update_id: int) -> tuple[int, dict[str, object]]:
    return update_id, {"update_id": update_id, "message": {"text": f"第{update_id}条"}}


async def test_an_update_is_new_once_whatever_the_redeliveries(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        assert await inbox.receive(session=session, updates=[update(1), update(2)], now=T0) == {
            1,
            2,
        }
        assert await inbox.receive(session=session, updates=[update(2), update(3)], now=T0) == {3}
        await inbox.finish(session=session, update_id=1)
        assert await inbox.receive(session=session, updates=[update(1)], now=T0) == set()


async def test_an_update_left_open_is_handed_out_again_after_its_lease(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await inbox.receive(session=session, updates=[update(5), update(4), update(6)], now=T0)
        await inbox.finish(session=session, update_id=6)
        within = T0 + timedelta(seconds=inbox.LEASE_SECONDS - 1)
        assert await inbox.claim_orphans(session=session, now=within) == []
        after = T0 + timedelta(seconds=inbox.LEASE_SECONDS + 1)
        orphans = await inbox.claim_orphans(session=session, now=after)
        assert [update_id for update_id, _ in orphans] == [4, 5]  # oldest first
        assert orphans[0][1]["message"] == {"text": "第4条"}
        # now leased to the one that claimed them: nobody else gets them meanwhile
        assert await inbox.claim_orphans(session=session, now=after) == []


async def test_a_restarted_poller_takes_back_everything_left_open(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await inbox.receive(session=session, updates=[update(7), update(8)])
        await inbox.finish(session=session, update_id=8)
        assert await inbox.release_all(session=session) == 1
        assert [i for i, _ in await inbox.claim_orphans(session=session)] == [7]


async def test_handled_updates_are_forgotten_after_two_days(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with session_factory() as session:
        await inbox.receive(session=session, updates=[update(9)], now=T0)
        await inbox.finish(session=session, update_id=9)
        await inbox.prune(session=session, now=T0 + inbox.KEEP_DONE_FOR + timedelta(minutes=1))
        assert await inbox.receive(session=session, updates=[update(9)], now=T0) == {9}
