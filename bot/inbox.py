"""Receiving updates without losing one in a crash (``backend.services.inbox``).

aiogram's own polling moves the ``getUpdates`` offset (which tells Telegram an update arrived)
before the update's handler has finished, and its webhook handler drops a redelivered update as
a duplicate even when the first delivery died half-way. Here every update is written to the
inbox first; only then does polling move the offset or the webhook answer 200. An update is
marked done when its handler returns; one whose process died is handled again: by the polling
process when it starts, by any webhook worker's sweeper once its lease has run out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.services import inbox
from bot.storage import ride_along

log = logging.getLogger(__name__)

SessionFactory = async_sessionmaker[AsyncSession]
POLLING_TIMEOUT = 30  # seconds a getUpdates call may wait for news
SWEEP_EVERY = 5.0  # seconds between a webhook worker's looks for orphaned updates
BACKOFF_MAX = 30.0


def _payload(update: Update) -> dict[str, Any]:
    return update.model_dump(mode="json", exclude_none=True, by_alias=True)


class InboxFeeder:
    """Hands stored updates to the dispatcher and marks them done."""

    def __init__(
        self, dp: Dispatcher, bot: Bot, session_factory: SessionFactory, concurrency: int
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.session_factory = session_factory
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    async def handle(self, update: Update, *, replay: bool = False) -> None:
        """Run the update's handlers, keeping its lease; done even when a handler failed (it is
        logged, and an update that always fails must not come back forever)."""
        keeper = asyncio.create_task(self._keep_lease(update.update_id))
        finish = [inbox.finish_statement(update.update_id)]
        try:
            # The embedded FSM storage commits the "handled" mark with the update's state.
            with ride_along(finish):
                response = await self.dp.feed_update(
                    self.bot, update, inbox_replay=replay, inbox_claimed=True
                )
            if isinstance(response, TelegramMethod):
                await self.dp.silent_call_request(self.bot, response)
        except Exception:
            log.exception("update %s failed", update.update_id)
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        if finish:
            async with self.session_factory() as session:
                await inbox.finish(session=session, update_id=update.update_id)

    async def _keep_lease(self, update_id: int) -> None:
        while True:
            await asyncio.sleep(inbox.LEASE_SECONDS / 3)
            with contextlib.suppress(Exception):
                async with self.session_factory() as session:
                    await inbox.renew(session=session, update_id=update_id)

    async def spawn(self, update: Update, *, replay: bool = False) -> None:
        """Handle in the background, at most ``concurrency`` at once (waits for a slot)."""
        await self._slots.acquire()

        async def run() -> None:
            try:
                await self.handle(update, replay=replay)
            finally:
                self._slots.release()

        task = asyncio.create_task(run(), name=f"update-{update.update_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def handle_in_turn(self, update: Update, *, replay: bool = False) -> None:
        """Handle now, waiting for a slot: at most ``concurrency`` at once, as ``spawn``."""
        async with self._slots:
            await self.handle(update, replay=replay)

    async def replay_orphans(self) -> int:
        """Handle, oldest first and one by one (a resident's order), updates left open."""
        handled = 0
        while True:
            async with self.session_factory() as session:
                orphans = await inbox.claim_orphans(session=session)
            if not orphans:
                return handled
            for update_id, payload in orphans:
                log.info("handling update %s again: its first handling was cut short", update_id)
                update = Update.model_validate(payload, context={"bot": self.bot})
                await self.handle(update, replay=True)
                handled += 1

    async def drain(self) -> None:
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def poll(
    dp: Dispatcher,
    bot: Bot,
    session_factory: SessionFactory,
    *,
    concurrency: int,
    allowed_updates: list[str] | None = None,
    polling_timeout: int = POLLING_TIMEOUT,
) -> None:
    """Long polling with the inbox, until cancelled (startup/shutdown hooks run around it)."""
    feeder = InboxFeeder(dp, bot, session_factory, concurrency)
    hook_data = {**dp.workflow_data, "dispatcher": dp, "bots": [bot]}
    hook_data.pop("bot", None)
    await dp.emit_startup(bot=bot, **hook_data)
    try:
        async with session_factory() as session:
            await inbox.release_all(session=session)  # polling has one consumer: this process
            await inbox.prune(session=session)
        replayed = await feeder.replay_orphans()
        if replayed:
            log.info("%s updates cut short by the last stop were handled", replayed)
        offset: int | None = None
        delay = 1.0
        while True:
            try:
                updates = await bot.get_updates(
                    offset=offset,
                    timeout=polling_timeout,
                    allowed_updates=allowed_updates,
                    request_timeout=polling_timeout + 10,
                )
                async with session_factory() as session:
                    new = await inbox.receive(
                        session=session, updates=[(u.update_id, _payload(u)) for u in updates]
                    )
            except (TelegramNetworkError, TelegramAPIError, OSError) as exc:
                log.warning("cannot fetch or store updates (%s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = 1.0
            if updates:
                offset = updates[-1].update_id + 1  # the next call acknowledges these
            for update in updates:
                if update.update_id in new:
                    await feeder.spawn(update)
                else:
                    log.info("duplicate update %s dropped", update.update_id)
    finally:
        with contextlib.suppress(Exception):
            await feeder.drain()
        await dp.emit_shutdown(bot=bot, **hook_data)


class InboxRequestHandler(SimpleRequestHandler):
    """Webhook: store the update, handle it, then answer 200.

    Answering after the handlers keeps one resident's updates in order (Telegram posts a chat's
    next update once the previous one is answered). If this worker dies half-way, the proxy
    answers Telegram with an error and Telegram posts the update again, usually to another
    worker: that one takes the update over once the dead worker's lease has run out (until
    then it answers 503, so Telegram tries again), and a re-post of a handled update is
    answered 200 without handling it twice. Each worker also sweeps for updates whose lease ran
    out, in case Telegram gave up re-posting.
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        bot: Bot,
        session_factory: SessionFactory,
        *,
        concurrency: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(dispatcher, bot, handle_in_background=False, **kwargs)
        self.feeder = InboxFeeder(dispatcher, bot, session_factory, concurrency)
        self.session_factory = session_factory
        self._sweeper: asyncio.Task[None] | None = None

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        update = Update.model_validate(
            await request.json(loads=bot.session.json_loads), context={"bot": bot}
        )
        async with self.session_factory() as session:
            new = await inbox.receive(
                session=session, updates=[(update.update_id, _payload(update))]
            )
            replay = update.update_id not in new
            if replay:
                outcome = await inbox.take_over(session=session, update_id=update.update_id)
                if outcome == "busy":
                    return web.json_response({}, status=503)
                if outcome == "done":
                    log.info("duplicate update %s dropped", update.update_id)
                    return web.json_response({})
        await self.feeder.handle_in_turn(update, replay=replay)
        return web.json_response({})

    def start_sweeper(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep(), name="inbox-sweeper")

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_EVERY)
            try:
                await self.feeder.replay_orphans()
            except Exception:
                log.warning("inbox sweep failed; trying again", exc_info=True)

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        await self.feeder.drain()
        await super().close()
