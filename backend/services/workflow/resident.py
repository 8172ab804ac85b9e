"""Resident actions: rating the result (满意 closes, 不满意 reopens as 重办) and 关注此案."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import col, select

from backend.models import (
    Case,
    CaseFollower,
    Person,
    Rating,
    RatingScore,
)
from backend.services.errors import ErrorCode, ValidationFailed
from backend.services.outbox import NoticeKind
from backend.services.workflow.core import (
    Change,
    Notice,
    _apply,
    _authorised,
    _center,
    _clock_reset,
    _load,
    _now,
    _resident_update,
    _unit,
)
from backend.services.workflow.transitions import Action, S, next_status

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession


async def rate(
    *,
    session: AsyncSession,
    actor: Person,
    case_id: int,
    score: RatingScore | str,
    reason: str | None = None,
    now: datetime | None = None,
) -> Case:
    """The reporter rates: 满意/基本满意 close the case, 不满意 reopens it (重办) at the unit."""
    now = _now(now)
    case, _ = await _authorised(session, Action.rate, case_id, actor)
    try:
        score = RatingScore(score)
    except ValueError as exc:
        raise ValidationFailed(
            "请选择满意、基本满意或不满意。", code=ErrorCode.score_unknown
        ) from exc
    unsatisfied = score == RatingScore.unsatisfied
    to = next_status(case.status, Action.rate, target=S.reopened if unsatisfied else S.closed)
    assert case.id is not None
    rating = Rating(
        case_id=case.id, person_id=actor.id, score=score, reason=reason, created_at=now
    )
    if not unsatisfied:
        notices = await _resident_update(session, case, "closed", skip=actor)
        return await _apply(
            session,
            case,
            actor,
            Change(
                Action.rate,
                to,
                {"closed_at": now},
                reason=reason,
                payload={"score": str(score)},
                notices=notices,
                extra_rows=[rating],
            ),
            now,
        )
    unit = await _unit(session, case.lead_unit_id)
    center = await _center(session)
    notices = [Notice(NoticeKind.unsatisfied, {"reason": reason}, unit=center)]
    if unit is not None:
        notices.append(Notice(NoticeKind.case_card, {"reason": "reopen"}, unit=unit))
    notices += await _resident_update(session, case, "reopened", skip=actor)
    values = {
        "reopen_count": col(Case.reopen_count) + 1,
        "resolved_at": None,
        **_clock_reset(case, now),
    }
    return await _apply(
        session,
        case,
        actor,
        Change(
            Action.rate,
            to,
            values,
            reason=reason,
            payload={"score": str(score)},
            notices=notices,
            extra_rows=[rating],
        ),
        now,
    )


async def follow(
    *, session: AsyncSession, actor: Person, case_id: int, now: datetime | None = None
) -> Case:
    """关注此案: a resident with the same problem follows the case instead of a duplicate."""
    now = _now(now)
    case = await _load(session, case_id)
    to = next_status(case.status, Action.follow)
    if actor.id == case.reporter_id:
        return case
    assert case.id is not None and actor.id is not None
    existing = (
        await session.exec(
            select(CaseFollower).where(
                CaseFollower.case_id == case.id, CaseFollower.person_id == actor.id
            )
        )
    ).first()
    if existing is not None:
        return case
    row = CaseFollower(case_id=case.id, person_id=actor.id, created_at=now)
    return await _apply(
        session,
        case,
        actor,
        Change(
            Action.follow, to, {"reporter_count": col(Case.reporter_count) + 1}, extra_rows=[row]
        ),
        now,
    )
