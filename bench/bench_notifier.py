"""Benchmark: the notifier's delivery throughput into the Bot API stand-in, limits on.

Scenarios (each on a fresh database, outbox pre-filled, clock started when the notifier starts):

- ``fanout``: N notices to N different private chats → bound by the bot-wide 30 msg/s;
- ``few_chats``: N notices spread over 10 chats → bound by 1 msg/s per chat;
- ``groups``: N case cards to 8 unit groups → 20/min per group, bursts coalesced into summaries;
- ``unlimited``: ``fanout`` with the limits off (what the pipeline itself can do).

Usage: ``python bench/bench_notifier.py [--rows 600] [--database-url URL]`` (default: a temp SQLite
file; pass a PostgreSQL URL to measure there; the database is wiped). Prints numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from sqlmodel import SQLModel, select

import backend.models  # noqa: F401
from backend.config import Settings
from backend.county import load_county
from backend.db import create_engine, create_session_factory
from backend.models import Case, OutboxMessage, OutboxState, Person, Unit
from backend.services import directory, outbox
from backend.services.outbox import NoticeKind
from bot.notifications.limits import Limits
from bot.notifications.worker import Notifier, NotifierConfig
from tests.telegram_stub import TelegramStub


async def prepare(url: str, scenario: str, rows: int) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.drop_all)
        await conn.run_sync(SQLModel.metadata.create_all)
    factory = create_session_factory(engine)
    async with factory() as session:
        await directory.sync_units(session=session, county=load_county())
        units = list((await session.exec(select(Unit).where(Unit.code != "center"))).all())[:8]
        for index, unit in enumerate(units):
            unit.chat_id = -1000 - index
            session.add(unit)
        await session.commit()
        if scenario == "groups":
            for index in range(rows):
                unit = units[index % len(units)]
                case = Case(
                    code=f"MD20261127-{index:04d}",
                    text="测试案件" * 10,
                    status="dispatched",
                    lead_unit_id=unit.id,
                    township="弥城镇",
                )
                session.add(case)
                await session.flush()
                await outbox.enqueue(
                    session=session,
                    kind=NoticeKind.case_card,
                    case_id=case.id,
                    payload={"reason": "new"},
                    dedupe_key=f"b-{index}",
                    unit=unit,
                )
        else:
            chats = 10 if scenario == "few_chats" else rows
            people = []
            for index in range(chats):
                person = Person(telegram_id=100_000 + index)
                session.add(person)
                people.append(person)
            await session.flush()
            for index in range(rows):
                await outbox.enqueue(
                    session=session,
                    kind=NoticeKind.digest,
                    case_id=None,
                    payload={"day": "2026-11-27", "new": index},
                    dedupe_key=f"b-{index}",
                    person=people[index % chats],
                )
        await session.commit()
    await engine.dispose()


async def run(url: str, scenario: str, rows: int) -> dict[str, float]:
    await prepare(url, scenario, rows)
    stub = TelegramStub()
    await stub.start()
    engine = create_engine(url)
    factory = create_session_factory(engine)
    session = AiohttpSession(api=TelegramAPIServer.from_base(stub.url))
    bot = Bot("777:BENCH", session=session, default=DefaultBotProperties(parse_mode="HTML"))
    limits = Limits.unlimited() if scenario == "unlimited" else Limits()
    notifier = Notifier(
        bot,
        factory,
        Settings(_env_file=None, database_url=url),  # type: ignore[call-arg]
        NotifierConfig(limits=limits, poll_interval=0.05),
    )
    started = time.perf_counter()
    task = asyncio.create_task(notifier.run())
    while True:
        await asyncio.sleep(0.2)
        async with factory() as s:
            left = (
                await s.exec(
                    select(OutboxMessage.id).where(OutboxMessage.state == OutboxState.pending)
                )
            ).all()
        if not left:
            break
    elapsed = time.perf_counter() - started
    notifier.stop()
    await task
    api_calls = len([c for c in stub.state.calls if c["method"] == "sendMessage"])
    await session.close()
    await stub.stop()
    await engine.dispose()
    return {
        "rows": rows,
        "seconds": elapsed,
        "rows_per_s": rows / elapsed,
        "messages": api_calls,
        "messages_per_s": api_calls / elapsed,
        "coalesced": notifier.stats.coalesced,
        "deferred": notifier.stats.deferred,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--scenarios", default="fanout,few_chats,groups,unlimited")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
        print(f"database: {url.split('@')[-1]}")
        for scenario in args.scenarios.split(","):
            rows = args.rows if scenario != "few_chats" else min(args.rows, 100)
            result = asyncio.run(run(url, scenario, rows))
            print(
                f"{scenario:10s} rows={result['rows']:5d} time={result['seconds']:7.2f}s "
                f"rows/s={result['rows_per_s']:7.1f} api messages={result['messages']:5d} "
                f"({result['messages_per_s']:.1f}/s) coalesced={result['coalesced']} "
                f"deferred={result['deferred']}"
            )


if __name__ == "__main__":
    main()
