"""The center's daily digest (每日简报): new, overdue, due today, satisfaction.

Queued once per local day (outbox dedupe key ``digest:<date>``), so several notifier processes
and restarts never send it twice. Definitions reuse the dashboard's clauses so the digest and the
web board always agree.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Case, Rating, RatingScore, Unit
from backend.services import outbox
from backend.services.dashboard import due_between_clause, local_day_bounds, overdue_clause


async def digest_numbers(*, session: AsyncSession, now: datetime, tz: str) -> dict[str, object]:
    """Counts for the digest: cases received in the last 24 h, overdue now, due by local
    midnight, and the share of 满意/基本满意 among ratings given in the last 30 days."""
    _, day_end = local_day_bounds(now, tz)

    async def count(*clauses: object) -> int:
        query = select(func.count()).select_from(Case)
        for clause in clauses:
            query = query.where(clause)  # type: ignore[arg-type]
        return int((await session.exec(query)).one())

    new = await count(col(Case.created_at) >= now - timedelta(hours=24))
    overdue = await count(overdue_clause(now))
    due_today = await count(due_between_clause(now, day_end))
    since = now - timedelta(days=30)
    scores = (
        await session.exec(select(Rating.score).where(col(Rating.created_at) >= since))
    ).all()
    good = sum(1 for s in scores if s in (RatingScore.satisfied, RatingScore.basically_satisfied))
    satisfaction = round(good / len(scores), 4) if scores else None
    return {
        "day": now.astimezone(ZoneInfo(tz)).date().isoformat(),
        "new": new,
        "overdue": overdue,
        "due_today": due_today,
        "satisfaction": satisfaction,
        "rated": len(scores),
    }


async def enqueue_daily_digest(
    *, session: AsyncSession, tz: str, now: datetime | None = None
) -> bool:
    """Queue today's digest for the center (commits); False if there is no center unit."""
    now = now or datetime.now(UTC)
    center = (await session.exec(select(Unit).where(Unit.code == "center"))).first()
    if center is None:
        return False
    payload = await digest_numbers(session=session, now=now, tz=tz)
    await outbox.enqueue(
        session=session,
        kind=outbox.NoticeKind.digest,
        case_id=None,
        payload=payload,
        dedupe_key=f"digest:{payload['day']}",
        unit=center,
        now=now,
    )
    await session.commit()
    return True
