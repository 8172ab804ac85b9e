"""``python -m bot notifier``: notifier, deadline scanner and daily digest as their own process.

Runs until SIGINT/SIGTERM; several such processes may run against PostgreSQL (rows are claimed
with SKIP LOCKED). Settings come from the environment like every entry point.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Sequence

from backend.config import Settings
from backend.db import create_session_factory, engine_from_settings
from backend.services import runtime
from bot.notifications.limits import Limits
from bot.notifications.worker import NotifierConfig, run_loops

log = logging.getLogger(__name__)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot notifier", description=__doc__)
    parser.add_argument(
        "--no-scanners", action="store_true", help="deliver only (no deadline scan, no digest)"
    )
    parser.add_argument(
        "--share",
        type=float,
        default=1.0,
        help="this process's share of the bot-wide 30 msg/s (e.g. 0.5 with two notifiers)",
    )
    parser.add_argument("--poll", type=float, default=0.25, help="seconds between polls when idle")
    return parser.parse_args(list(argv) if argv is not None else None)


async def serve(settings: Settings, args: argparse.Namespace) -> None:
    from bot.factory import create_bot

    runtime.configure(settings)
    engine = engine_from_settings(settings)
    factory = create_session_factory(engine)
    bot = create_bot(settings)
    config = NotifierConfig(
        poll_interval=args.poll, limits=Limits(bot_rate=30.0 * max(0.01, min(1.0, args.share)))
    )
    task = asyncio.create_task(
        run_loops(bot, factory, settings, config=config, scanners=not args.no_scanners)
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, task.cancel)
    try:
        await task
    except asyncio.CancelledError:
        log.info("notifier process stopping")
    finally:
        await bot.session.close()
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = parse_args(argv)
    asyncio.run(serve(Settings(), args))
