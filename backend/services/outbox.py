"""Transactional outbox: notifications written in the same transaction as the change that causes
them, delivered later by the bot's notifier (rate-limited, retried).

Services call ``enqueue`` and never commit it themselves; the bot claims due rows with
``claim_batch`` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several notifiers never take the
same row) and reports back with ``mark_sent`` / ``mark_retry`` / ``mark_blocked`` /
``mark_failed``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import case as sql_case
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select, update

from backend.models import OutboxMessage, OutboxState, Person, Role, Unit
from backend.models.base import utcnow

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

# A claimed row is leased for this long; the notifier renews the lease while it is still working
# on the row (``renew_leases``), so a row of a notifier that died is due again within seconds.
LEASE_SECONDS = 10
MAX_ATTEMPTS = 8


class NoticeKind(StrEnum):
    case_card = "case_card"
    triage = "triage"
    red_alert = "red_alert"
    return_request = "return_request"
    extension_request = "extension_request"
    joint_request = "joint_request"
    joint_task = "joint_task"
    unsatisfied = "unsatisfied"
    case_update = "case_update"
    rating_request = "rating_request"
    deadline_warning = "deadline_warning"
    supervision = "supervision"
    staff_notice = "staff_notice"
    digest = "digest"
    card_update = "card_update"
    desk_changed = "desk_changed"  # a unit's group desk moved or was taken over (no case)


async def enqueue(
    *,
    session: AsyncSession,
    kind: NoticeKind | str,
    case_id: int | None,
    payload: dict[str, Any],
    dedupe_key: str,
    person: Person | None = None,
    unit: Unit | None = None,
    chat_id: int | None = None,
    now: datetime | None = None,
) -> None:
    """Add a notice to the caller's transaction (no commit); a repeated dedupe key is ignored.

    The recipient is a person, a unit (its group at delivery time) or a fixed ``chat_id`` (a
    group that is no longer any unit's desk). A resident of the web page has no chat: they
    read every update on their tracking page, so nothing is queued for them.
    """
    row = notice_row(
        kind=kind,
        case_id=case_id,
        payload=payload,
        dedupe_key=dedupe_key,
        person=person,
        unit=unit,
        chat_id=chat_id,
        now=now,
    )
    await enqueue_rows(session=session, rows=[row] if row is not None else [])


def notice_row(
    *,
    kind: NoticeKind | str,
    case_id: int | None,
    payload: dict[str, Any],
    dedupe_key: str,
    person: Person | None = None,
    unit: Unit | None = None,
    chat_id: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any] | None:
    """The outbox row of one notice (``enqueue``'s rules); None when nobody is to be told."""
    if person is None and unit is None and chat_id is None:
        raise ValueError("an outbox message needs a person, a unit or a chat as recipient")
    if person is not None and person.telegram_id is None and person.role == Role.resident:
        return None
    if person is not None:
        chat_id = person.telegram_id
    elif unit is not None:
        chat_id = unit.chat_id
    body = dict(payload)
    if case_id is not None:
        body.setdefault("case_id", case_id)
    return {
        "kind": str(kind),
        "recipient_person_id": person.id if person is not None else None,
        "recipient_unit_id": unit.id if unit is not None and person is None else None,
        "chat_id": chat_id,
        "case_id": case_id,
        "payload": body,
        "dedupe_key": dedupe_key[:160],
        "state": OutboxState.pending,
        "attempts": 0,
        "next_attempt_at": now or utcnow(),
        "created_at": now or utcnow(),
    }


async def enqueue_rows(*, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Add notice rows (``notice_row``) to the caller's transaction in one statement."""
    if not rows:
        return
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(OutboxMessage).values(rows)
    else:
        stmt = sqlite.insert(OutboxMessage).values(rows)
    await session.exec(stmt.on_conflict_do_nothing(index_elements=["dedupe_key"]))


async def claim_batch(
    *, session: AsyncSession, limit: int = 50, now: datetime | None = None
) -> list[OutboxMessage]:
    """Take up to ``limit`` due pending messages and lease them (commits); red alerts first.

    A leased row gets ``next_attempt_at`` pushed ``LEASE_SECONDS`` ahead, so if the notifier dies
    before reporting back, the row becomes due again and is retried.
    """
    now = now or utcnow()
    lease = now + timedelta(seconds=LEASE_SECONDS)
    urgent_first = sql_case((col(OutboxMessage.kind) == NoticeKind.red_alert.value, 0), else_=1)
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.state == OutboxState.pending)
        .where(col(OutboxMessage.next_attempt_at) <= now)
        .order_by(urgent_first, col(OutboxMessage.id))
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        rows = list((await session.exec(query.with_for_update(skip_locked=True))).all())
        for row in rows:
            row.next_attempt_at = lease
            row.attempts += 1
            session.add(row)
        await session.commit()
        return rows
    # SQLite has no SKIP LOCKED: take each row with a conditional UPDATE; a row another
    # notifier leased a moment earlier no longer matches and is skipped.
    candidates = [row.id for row in (await session.exec(query)).all()]
    taken: list[int] = []
    for message_id in candidates:
        result = await session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == message_id,
                col(OutboxMessage.state) == OutboxState.pending,
                col(OutboxMessage.next_attempt_at) <= now,
            )
            .values(next_attempt_at=lease, attempts=col(OutboxMessage.attempts) + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1 and message_id is not None:
            taken.append(message_id)
    await session.commit()
    if not taken:
        return []
    leased = await session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.id).in_(taken))
        .order_by(urgent_first, col(OutboxMessage.id))
        .execution_options(populate_existing=True)
    )
    return list(leased.all())


async def renew_leases(
    *, session: AsyncSession, message_ids: list[int], now: datetime | None = None
) -> int:
    """Push the lease of rows this notifier still works on ``LEASE_SECONDS`` ahead (commits)."""
    if not message_ids:
        return 0
    now = now or utcnow()
    result = await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.id).in_(message_ids),
            col(OutboxMessage.state) == OutboxState.pending,
        )
        .values(next_attempt_at=now + timedelta(seconds=LEASE_SECONDS))
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return int(result.rowcount or 0)


async def _get(session: AsyncSession, message_id: int) -> OutboxMessage:
    message = await session.get(OutboxMessage, message_id)
    if message is None:
        raise LookupError(f"outbox message {message_id} not found")
    return message


async def mark_sent(
    *, session: AsyncSession, message_id: int, telegram_message_id: int | None = None
) -> None:
    # One statement, no read first: the gap between Telegram's answer and this commit is the
    # window in which a crash makes the row go out twice, so it is kept as short as it can be.
    await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(
            state=OutboxState.sent,
            sent_at=utcnow(),
            telegram_message_id=telegram_message_id,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    await session.commit()


async def mark_retry(
    *,
    session: AsyncSession,
    message_id: int,
    error: str,
    retry_after: float | None = None,
    now: datetime | None = None,
) -> None:
    """Schedule another attempt (Telegram's ``retry_after`` or exponential backoff); after
    ``MAX_ATTEMPTS`` the message is marked failed."""
    message = await _get(session, message_id)
    now = now or utcnow()
    message.last_error = error[:500]
    if message.attempts >= MAX_ATTEMPTS:
        message.state = OutboxState.failed
    else:
        delay = retry_after if retry_after is not None else min(2**message.attempts * 5, 3600)
        message.next_attempt_at = now + timedelta(seconds=delay)
    session.add(message)
    await session.commit()


async def mark_blocked(*, session: AsyncSession, message_id: int) -> None:
    """403: the person blocked the bot. Stop, and remember it on the person."""
    message = await _get(session, message_id)
    message.state = OutboxState.blocked
    session.add(message)
    if message.recipient_person_id is not None:
        await session.exec(
            update(Person)
            .where(col(Person.id) == message.recipient_person_id)
            .values(bot_blocked=True)
        )
    await session.commit()


async def mark_failed(*, session: AsyncSession, message_id: int, error: str = "") -> None:
    message = await _get(session, message_id)
    message.state = OutboxState.failed
    message.last_error = error[:500] or message.last_error
    session.add(message)
    await session.commit()


async def pending_for_case(*, session: AsyncSession, case_id: int) -> list[OutboxMessage]:
    rows = await session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.case_id == case_id)
        .order_by(col(OutboxMessage.id))
    )
    return list(rows.all())


async def last_sent_card(*, session: AsyncSession, case_id: int) -> OutboxMessage | None:
    """The most recent case card delivered to a group for this case (to edit it in place)."""
    rows = await session.exec(
        select(OutboxMessage)
        .where(
            OutboxMessage.case_id == case_id,
            OutboxMessage.kind == NoticeKind.case_card,
            col(OutboxMessage.telegram_message_id).is_not(None),
        )
        .order_by(col(OutboxMessage.id).desc())
    )
    return rows.first()
