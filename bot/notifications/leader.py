"""One delivering process at a time, with fail-over.

Telegram's limits (≈30 messages/s per bot, 20/min per group) hold for the bot as a whole, so the
token buckets of :mod:`bot.notifications.limits` are only right when one process sends. Every
notifier (``python -m bot notifier``, or the in-process one of each bot worker) asks for the
PostgreSQL session-level advisory lock ``LOCK_KEY`` on a connection of its own; the holder
delivers (and runs the deadline scanner and digest), the others stand by and ask again every
``retry_interval`` seconds. When the holder dies its connection closes, PostgreSQL releases the
lock, and a standby takes over within about a second; the rows the dead one had leased come due
again when their short lease runs out (``outbox.LEASE_SECONDS``).

SQLite is the single-process embedded setup: there the one process is always the leader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

LOCK_KEY = 0x5A5A_7454  # "ZZtT": the notifier's advisory lock, one per database


class Leadership:
    """``acquire()`` waits until this process may deliver; ``lost()`` returns when it may not."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        key: int = LOCK_KEY,
        retry_interval: float = 1.0,
        check_interval: float = 2.0,
    ) -> None:
        self.engine = engine
        self.key = key
        self.retry_interval = retry_interval
        self.check_interval = check_interval
        self._conn: AsyncConnection | None = None

    @property
    def exclusive(self) -> bool:
        """Whether leadership needs a lock at all (not on the single-process SQLite setup)."""
        return self.engine.dialect.name == "postgresql"

    async def try_acquire(self) -> bool:
        if not self.exclusive:
            return True
        conn = await self.engine.connect()
        try:
            got = (
                await conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key})
            ).scalar()
            await conn.commit()
        except Exception:
            await conn.close()
            raise
        if got:
            self._conn = conn
            return True
        await conn.close()
        return False

    async def acquire(self) -> None:
        """Wait (standing by) until this process holds the lock."""
        announced = False
        while True:
            try:
                if await self.try_acquire():
                    return
            except Exception:
                log.warning("cannot ask for the notifier lock; retrying", exc_info=True)
            if not announced:
                log.info("another process delivers notifications; standing by")
                announced = True
            await asyncio.sleep(self.retry_interval)

    async def lost(self) -> None:
        """Return when the lock's connection is gone (the database restarted or dropped us)."""
        if self._conn is None:
            await asyncio.Event().wait()  # SQLite: never lost
            return
        while True:
            await asyncio.sleep(self.check_interval)
            try:
                await self._conn.execute(text("SELECT 1"))
                await self._conn.commit()
            except Exception:
                log.warning("lost the notifier lock's connection; standing by again")
                await self.release()
                return

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
            await conn.commit()
        with contextlib.suppress(Exception):
            await conn.close()
