"""The notifier: delivers outbox rows to Telegram within its limits, retrying what can be retried.

One loop claims a batch of due rows (``outbox.claim_batch``: ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL plus a lease, so several notifiers never take the same row), renders each from the
database as it is *now*, and sends the batch concurrently across chats while each chat's messages
go out in order, gated by token buckets (:mod:`bot.notifications.limits`).

Outcomes, recorded right after each call (one short transaction per row):
- success → ``mark_sent`` (with the Telegram message id, so a later ``card_update`` can edit it);
- 429 → ``mark_retry`` after Telegram's ``retry_after`` (and the chat's buckets are emptied);
- 5xx, network errors, timeouts → ``mark_retry`` with exponential backoff and jitter (the
  outbox gives up after ``outbox.MAX_ATTEMPTS`` claims);
- 403 → ``mark_blocked`` (the person is flagged ``bot_blocked``; nothing more is sent to them);
- other 400s → ``mark_failed`` (except edits of a message that is gone or unchanged: done).

Exactly-once, and the crash window. Telegram has no idempotency key, so a send and the database
commit that records it cannot be one atomic step. We commit ``sent`` immediately after Telegram
answers; if that commit fails (database hiccup) the notifier keeps the result in memory and
records it before claiming anything else, and never re-sends a row it has already delivered in
this process. What remains is the few milliseconds between Telegram's answer and the commit if
the *process* dies there: the lease expires and the row is sent again. We chose this
at-least-once behaviour on purpose: a duplicated card is a nuisance, a lost red-risk alert or
claim is a failure of the service (DESIGN: "no report is lost"). Outbox ``dedupe_key`` (unique)
keeps the same notice from being queued twice in the first place.

Bursts: case cards for one group are coalesced into one summary (codes listed, a button to open
each) when more than ``coalesce_threshold`` are due at once, or when the group cannot take them
all now (its 20/min bucket is low). A card that would wait more than ``group_hold`` for the
group's bucket is handed back until then, so cards arriving meanwhile join the same summary.

Processes. ``python -m bot`` delivers in-process by default; with ``NOTIFIER_IN_PROCESS=false``
it leaves delivery to ``python -m bot notifier``. However many run, one delivers at a time
(:mod:`bot.notifications.leader`: a PostgreSQL advisory lock, with fail-over within about a
second), so the token buckets hold for the whole bot; the others stand by. Rows are leased for
``outbox.LEASE_SECONDS`` and the lease is renewed while a row is still being worked on, so the
rows of a notifier that died come due again within seconds (red alerts are claimed first).
Telegram's 429 ``retry_after`` is honoured whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup, Message
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.models import OutboxMessage
from backend.services import outbox
from bot.notifications.leader import Leadership
from bot.notifications.limits import Limits, SendLimiter, is_group_chat
from bot.notifications.render import (
    NoticeKind,
    Rendered,
    render_notice,
    render_summary,
    resolve_chat,
)

log = logging.getLogger(__name__)

SessionFactory = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class NotifierConfig:
    batch_size: int = 50
    poll_interval: float = 0.25  # seconds between polls when idle
    request_timeout: float = 15.0  # per Bot API call
    max_hold: float = 10.0  # wait at most this long for a chat's bucket, else defer the row
    backoff_base: float = 2.0  # seconds; doubles per attempt
    backoff_cap: float = 600.0
    coalesce_threshold: int = 5  # more cards than this for one group in one batch → one summary
    group_hold: float = 1.5  # a card waiting longer for its group is deferred (to coalesce)
    summary_max_items: int = 30
    unbound_retry: float = 300.0  # a unit (and the center) without a bound group: retry later
    # Sends whose outcome is not yet recorded, at most: a crash re-sends at most this many rows.
    # 8 calls at once still reach Telegram's 30/s at 250 ms per call.
    max_in_flight: int = 8
    limits: Limits = field(default_factory=Limits)


@dataclass
class Job:
    """One row (or a coalesced group of rows) ready to send to one chat."""

    rows: list[OutboxMessage]
    chat_id: int
    rendered: Rendered

    @property
    def ids(self) -> list[int]:
        return [row.id for row in self.rows if row.id is not None]


@dataclass
class Stats:
    sent: int = 0
    retried: int = 0
    blocked: int = 0
    failed: int = 0
    coalesced: int = 0
    deferred: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


class Notifier:
    """Delivers outbox rows; ``run()`` loops until ``stop()``; ``run_once()`` does one batch."""

    def __init__(
        self,
        bot: Bot,
        session_factory: SessionFactory,
        settings: Settings | None = None,
        config: NotifierConfig | None = None,
        *,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.bot = bot
        self.session_factory = session_factory
        self.settings = settings or Settings()
        self.config = config or NotifierConfig()
        self.limiter = SendLimiter(self.config.limits)
        self.stats = Stats()
        self._sleep = sleep
        self._stopping = asyncio.Event()
        # Sent but not yet recorded (database failed right after the send): id → message id.
        self._unrecorded: dict[int, int | None] = {}
        # Recently delivered ids: a row re-claimed after a lost commit is never sent twice here.
        self._delivered: OrderedDict[int, None] = OrderedDict()
        # Group chat → wall-clock time when its held-back cards come due (they leave together).
        self._held: dict[int, float] = {}
        # Rows claimed and not yet reported back: their leases are renewed while we work.
        self._inflight: set[int] = set()
        self._in_flight_sends = asyncio.Semaphore(self.config.max_in_flight)

    # -- loop ----------------------------------------------------------------------------------
    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        log.info("notifier started")
        while not self._stopping.is_set():
            try:
                handled = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notifier batch failed; retrying shortly")
                handled = 0
            if handled == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._idle_wait())
        log.info("notifier stopped: %s", self.stats.as_dict())

    def _idle_wait(self) -> float:
        """Poll interval, shortened to wake just after held-back group cards come due."""
        now = time.time()
        for chat_id, until in list(self._held.items()):
            if until + 5 < now:
                del self._held[chat_id]
        upcoming = [until - now + 0.05 for until in self._held.values() if until + 0.05 > now]
        return max(0.01, min([self.config.poll_interval, *upcoming]))

    async def run_once(self, *, now: datetime | None = None) -> int:
        """Claim one batch and deliver it; returns the number of rows handled."""
        await self._record_unrecorded()
        async with self.session_factory() as session:
            rows = list(
                await outbox.claim_batch(session=session, limit=self.config.batch_size, now=now)
            )
            if not rows:
                return 0
            self._inflight = {row.id for row in rows if row.id is not None}
            keeper = asyncio.create_task(self._keep_leases(), name="outbox-leases")
            try:
                jobs = await self._prepare(session, rows)
                await self._deliver(jobs)
            finally:
                keeper.cancel()
                await asyncio.gather(keeper, return_exceptions=True)
                self._inflight.clear()
        self.limiter.forget_idle()
        return len(rows)

    async def _keep_leases(self) -> None:
        """Renew the leases of the rows still in flight, well before they run out."""
        while True:
            await asyncio.sleep(outbox.LEASE_SECONDS / 3)
            try:
                async with self.session_factory() as session:
                    await outbox.renew_leases(session=session, message_ids=sorted(self._inflight))
            except Exception:
                log.warning("could not renew outbox leases", exc_info=True)

    # -- preparing -----------------------------------------------------------------------------
    async def _prepare(self, session: AsyncSession, rows: Sequence[OutboxMessage]) -> list[Job]:
        jobs: list[Job] = []
        cards: dict[int, list[Job]] = defaultdict(list)
        for row in rows:
            assert row.id is not None
            if row.id in self._delivered:
                await self._mark(outbox.mark_sent, row.id, telegram_message_id=None)
                continue
            try:
                chat_id, language = await resolve_chat(row, session=session)
                if chat_id is None:
                    await self._mark(
                        outbox.mark_retry,
                        row.id,
                        error="no chat bound for the recipient",
                        retry_after=self.config.unbound_retry,
                    )
                    self.stats.deferred += 1
                    continue
                rendered = await render_notice(
                    row, session=session, language=language, tz=self.settings.tz
                )
            except Exception as exc:
                log.exception("cannot render outbox row %s (%s)", row.id, row.kind)
                await self._mark(outbox.mark_failed, row.id, error=f"render: {type(exc).__name__}")
                self.stats.failed += 1
                continue
            if rendered.skip:
                await self._mark(outbox.mark_sent, row.id, telegram_message_id=None)
                continue
            target = rendered.chat_id if rendered.chat_id is not None else chat_id
            job = Job([row], target, rendered)
            if row.kind == NoticeKind.case_card and is_group_chat(target):
                cards[target].append(job)
            else:
                jobs.append(job)
        for chat_id, group_jobs in cards.items():
            count = len(group_jobs)
            room = max(1, self.limiter.room(chat_id, 2 * self.config.group_hold))
            if count == 1 or (count <= self.config.coalesce_threshold and count <= room):
                jobs.extend(group_jobs)
                continue
            size = self.config.summary_max_items
            for start in range(0, len(group_jobs), size):
                chunk = group_jobs[start : start + size]
                rows_in_chunk = [job.rows[0] for job in chunk]
                summary = await render_summary(rows_in_chunk, session=session, language="zh")
                jobs.append(Job(rows_in_chunk, chat_id, summary))
        jobs.sort(key=lambda job: min(job.ids))
        return jobs

    # -- delivering ----------------------------------------------------------------------------
    async def _deliver(self, jobs: list[Job]) -> None:
        per_chat: dict[int, list[Job]] = defaultdict(list)
        for job in jobs:
            per_chat[job.chat_id].append(job)
        await asyncio.gather(*(self._deliver_chat(chat_jobs) for chat_jobs in per_chat.values()))

    async def _deliver_chat(self, jobs: list[Job]) -> None:
        for index, job in enumerate(jobs):
            chat_id = job.chat_id
            wait = self.limiter.chat_delay(chat_id)
            # Cards already held back for this group: a new card joins them rather than taking
            # the group's next token for itself.
            held = self._held.get(chat_id, 0.0) - time.time()
            saturated = wait > self.config.max_hold or (
                self._coalescible(job) and (wait > self.config.group_hold or held > 0)
            )
            # Hand the chat's remaining rows back until it has room again, unless a row is on
            # its last attempts (a deferral would count as one): then it waits here instead.
            if saturated and all(_deferrable(later) for later in jobs[index:]):
                until = self._held[chat_id] if held > 0 else time.time() + _aligned(wait)
                self._held[chat_id] = until
                for later in jobs[index:]:
                    await self._defer(later, until)
                return
            self._held.pop(chat_id, None)
            await self._acquire(job.chat_id)
            await self._send(job)

    @staticmethod
    def _coalescible(job: Job) -> bool:
        """Group cards that may be handed back to join a later summary (never near the budget)."""
        return (
            is_group_chat(job.chat_id)
            and all(row.kind == NoticeKind.case_card for row in job.rows)
            and max(row.attempts for row in job.rows) < outbox.MAX_ATTEMPTS - 3
        )

    async def _acquire(self, chat_id: int) -> None:
        while True:
            wait = self.limiter.delay(chat_id)
            if wait <= 0:
                self.limiter.take(chat_id)
                return
            await self._sleep(wait)

    async def _send(self, job: Job) -> None:
        async with self._in_flight_sends:  # held until the outcome is recorded
            await self._send_and_record(job)

    async def _send_and_record(self, job: Job) -> None:
        rendered = job.rendered
        try:
            result = await self._call(job.chat_id, rendered)
        except TelegramRetryAfter as exc:
            self.limiter.penalise(job.chat_id, float(exc.retry_after))
            log.warning("429 for chat kind=%s, retry in %ss", job.rows[0].kind, exc.retry_after)
            await self._retry(job, "429 Too Many Requests", float(exc.retry_after))
        except TelegramForbiddenError:
            for message_id in job.ids:
                await self._mark(outbox.mark_blocked, message_id)
            self.stats.blocked += len(job.ids)
            log.info("recipient blocked the bot (outbox %s)", job.ids)
        except TelegramBadRequest as exc:
            if rendered.edit_message_id is not None and _edit_is_moot(exc):
                await self._sent(job, rendered.edit_message_id)
                return
            await self._fail(job, f"400 {exc.message[:200]}")
        except TelegramNotFound as exc:
            await self._fail(job, f"404 {exc.message[:200]}")
        except (TelegramServerError, TelegramNetworkError, TimeoutError) as exc:
            await self._retry(job, f"{type(exc).__name__}", None)
        except TelegramAPIError as exc:  # decode errors, conflicts, unknown answers
            await self._retry(job, f"{type(exc).__name__}", None)
        else:
            await self._sent(job, result.message_id if isinstance(result, Message) else None)

    async def _call(self, chat_id: int, rendered: Rendered) -> Any:
        timeout = int(self.config.request_timeout)
        markup = rendered.reply_markup
        if rendered.edit_message_id is not None:
            return await asyncio.wait_for(
                self.bot.edit_message_text(
                    text=rendered.text,
                    chat_id=chat_id,
                    message_id=rendered.edit_message_id,
                    reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
                    request_timeout=timeout,
                ),
                self.config.request_timeout + 1,
            )
        return await asyncio.wait_for(
            self.bot.send_message(
                chat_id=chat_id,
                text=rendered.text,
                reply_markup=markup,
                disable_web_page_preview=True,
                request_timeout=timeout,
            ),
            self.config.request_timeout + 1,
        )

    # -- recording outcomes ----------------------------------------------------------------------
    async def _sent(self, job: Job, telegram_message_id: int | None) -> None:
        # A coalesced summary is not "the card": later card_update edits must not overwrite it.
        recorded_id = telegram_message_id if len(job.rows) == 1 else None
        for message_id in job.ids:
            self._inflight.discard(message_id)
            self._remember_delivered(message_id)
            try:
                async with self.session_factory() as session:
                    await outbox.mark_sent(
                        session=session, message_id=message_id, telegram_message_id=recorded_id
                    )
            except Exception:
                log.exception(
                    "sent outbox %s but could not record it; will record later", message_id
                )
                self._unrecorded[message_id] = recorded_id
        self.stats.sent += len(job.ids)
        if len(job.rows) > 1:
            self.stats.coalesced += len(job.ids)

    async def _retry(self, job: Job, error: str, retry_after: float | None) -> None:
        """Back to pending; ``outbox.mark_retry`` gives up after ``outbox.MAX_ATTEMPTS`` claims."""
        attempts = max(row.attempts for row in job.rows)
        delay = retry_after if retry_after is not None else self._backoff(attempts)
        for message_id in job.ids:
            await self._mark(outbox.mark_retry, message_id, error=error[:500], retry_after=delay)
        self.stats.retried += len(job.ids)

    async def _defer(self, job: Job, until: float) -> None:
        """Hand the rows back until the wall-clock time ``until`` (the same instant for every
        card held for a group, however long the database takes to record each)."""
        for message_id in job.ids:
            await self._mark(
                outbox.mark_retry,
                message_id,
                error="held back by rate limit",
                retry_after=0.0,
                now=datetime.fromtimestamp(until, UTC),
            )
        self.stats.deferred += len(job.ids)

    async def _fail(self, job: Job, error: str) -> None:
        log.warning("outbox %s failed: %s", job.ids, error)
        for message_id in job.ids:
            await self._mark(outbox.mark_failed, message_id, error=error[:500])
        self.stats.failed += len(job.ids)

    def _backoff(self, attempts: int) -> float:
        base = min(self.config.backoff_cap, self.config.backoff_base * 2 ** max(0, attempts - 1))
        return base * random.uniform(0.8, 1.2)

    async def _mark(
        self, func: Callable[..., Awaitable[Any]], message_id: int, **kwargs: Any
    ) -> None:
        self._inflight.discard(message_id)  # reported back: its lease is no longer ours to renew
        try:
            async with self.session_factory() as session:
                await func(session=session, message_id=message_id, **kwargs)
        except Exception:
            # The lease expires and the row is claimed again: nothing is lost.
            log.exception("could not record outcome for outbox %s", message_id)

    def _remember_delivered(self, message_id: int) -> None:
        self._delivered[message_id] = None
        while len(self._delivered) > 50_000:
            self._delivered.popitem(last=False)

    async def _record_unrecorded(self) -> None:
        for message_id, telegram_message_id in list(self._unrecorded.items()):
            try:
                async with self.session_factory() as session:
                    await outbox.mark_sent(
                        session=session,
                        message_id=message_id,
                        telegram_message_id=telegram_message_id,
                    )
            except Exception:
                log.warning("still cannot record outbox %s as sent", message_id)
                return
            del self._unrecorded[message_id]


DEFER_GRID = 0.5  # seconds


def _aligned(wait: float) -> float:
    """``wait`` stretched to the next point of a shared time grid (wall clock).

    Cards deferred for the same group token at different moments then come due at the same
    instant, are claimed in one batch and leave as one summary instead of one card per token.
    """
    now = time.time()
    target = math.ceil((now + wait + 0.05) / DEFER_GRID) * DEFER_GRID
    return target - now


def _deferrable(job: Job) -> bool:
    return max(row.attempts for row in job.rows) < outbox.MAX_ATTEMPTS - 1


def _edit_is_moot(exc: TelegramBadRequest) -> bool:
    text = exc.message.lower()
    return "not modified" in text or "message to edit not found" in text


async def run_loops(
    bot: Bot,
    session_factory: SessionFactory,
    settings: Settings,
    *,
    config: NotifierConfig | None = None,
    scanners: bool = True,
) -> None:
    """The notifier plus (optionally) the deadline scanner and digest loops, until cancelled.

    They run only while this process is the leader (one delivering process per database); a
    standby takes over when the leader dies.
    """
    from backend.services import runtime
    from bot.notifications.schedule import digest_loop, scanner_loop

    runtime.configure(settings)  # county file and time zone, as the bot process does
    leadership = Leadership(session_factory.kw["bind"])
    try:
        while True:
            await leadership.acquire()
            log.info("this process delivers notifications")
            notifier = Notifier(bot, session_factory, settings, config)
            tasks = [asyncio.create_task(notifier.run(), name="notifier")]
            if scanners:
                tasks.append(
                    asyncio.create_task(scanner_loop(session_factory, settings), name="scanner")
                )
                tasks.append(
                    asyncio.create_task(digest_loop(session_factory, settings), name="digest")
                )
            watch = asyncio.create_task(leadership.lost(), name="notifier-leadership")
            try:
                await asyncio.wait([watch, *tasks], return_when=asyncio.FIRST_COMPLETED)
            finally:
                notifier.stop()
                for task in [watch, *tasks]:
                    task.cancel()
                await asyncio.gather(watch, *tasks, return_exceptions=True)
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
    finally:
        await leadership.release()


async def _idle() -> None:
    await asyncio.Event().wait()


def start_notifier(
    bot: Bot,
    session_factory: SessionFactory,
    settings: Settings,
    *,
    config: NotifierConfig | None = None,
    scanners: bool = True,
) -> asyncio.Task[None]:
    """Start delivery (and the scanner/digest loops) in this process; cancel the task to stop.

    With ``settings.notifier_in_process`` False (a separate ``python -m bot notifier`` runs) the
    task only idles, so exactly one notifier holds the bot's rate limits.
    """
    if not settings.notifier_in_process:
        log.info("notifications are delivered by a separate notifier process")
        return asyncio.create_task(_idle(), name="notifier-elsewhere")
    return asyncio.create_task(
        run_loops(bot, session_factory, settings, config=config, scanners=scanners),
        name="notifier-loops",
    )


__all__ = ["Notifier", "NotifierConfig", "Stats", "run_loops", "start_notifier"]
