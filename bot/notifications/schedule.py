"""Periodic jobs of the notifier process: the deadline scanner and the daily digest.

Both are safe with several processes: ``scan_deadlines`` claims each warning with a conditional
UPDATE, and the digest is queued under a per-day dedupe key.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.services import deadlines

log = logging.getLogger(__name__)

SCAN_INTERVAL = 300.0  # seconds between deadline scans


async def scan_once(
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    now: datetime | None = None,
) -> deadlines.ScanResult:
    async with session_factory() as session:
        return await deadlines.scan_deadlines(session=session, now=now, tz=settings.tz)


async def scanner_loop(
    session_factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    interval: float = SCAN_INTERVAL,
) -> None:
    while True:
        try:
            result = await scan_once(session_factory, settings)
            if result.yellow or result.red or result.repeated:
                log.info(
                    "deadline scan: %s yellow, %s red, %s repeated",
                    result.yellow,
                    result.red,
                    result.repeated,
                )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("deadline scan failed")
        await asyncio.sleep(interval)


def next_digest_time(now: datetime, hour: int, tz: str) -> datetime:
    """The next local ``hour``:00 strictly after ``now`` (UTC-aware)."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    target = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if target <= local:
        target = (target + timedelta(days=1)).replace(hour=hour)
    return target.astimezone(UTC)


def digest_due_today(now: datetime, hour: int, tz: str) -> bool:
    """True once the local clock has passed today's digest hour."""
    return now.astimezone(ZoneInfo(tz)).hour >= hour


async def digest_loop(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    """Queue the digest at ``settings.digest_hour`` local time every day.

    On start, a digest already due today (process restarted after the hour) is queued at once;
    the per-day dedupe key makes that a no-op if it was already queued.
    """
    hour = settings.digest_hour
    now = datetime.now(UTC)
    if digest_due_today(now, hour, settings.tz):
        await _queue_digest(session_factory, settings)
    while True:
        now = datetime.now(UTC)
        wait = (next_digest_time(now, hour, settings.tz) - now).total_seconds()
        await asyncio.sleep(max(1.0, wait))
        await _queue_digest(session_factory, settings)


async def _queue_digest(
    session_factory: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    try:
        async with session_factory() as session:
            await deadlines.enqueue_daily_digest(session=session, tz=settings.tz)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("could not queue the daily digest")
