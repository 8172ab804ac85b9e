"""Benchmark: what kill -9 costs, over many rounds, on PostgreSQL (lost and duplicated counts).

Two phases, real processes against the Bot API stand-in (every call takes ``--latency``, 0.2 s by
default, like Telegram from far away):

- bot: one ``python -m bot`` (long polling). Each round, ``--residents`` residents send /help
  (one reply each), and the bot is killed with SIGKILL at a random moment in the next
  ``--window`` seconds, then started again. At the end every resident should have exactly as
  many replies as messages: fewer is a lost update, more a duplicate.
- notifier: two ``python -m bot notifier``. Each round queues ``--notices`` notices to as many
  chats; the delivering one is killed at a random moment and started again. Every chat should
  get exactly one message.

Usage: ``python bench/bench_crash.py [--rounds 30] [--phase bot notifier]``. Not a test: it
prints numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backend.db import create_engine, create_session_factory
from backend.models import Person
from backend.services import outbox
from backend.services.outbox import NoticeKind
from tests.telegram_stub import TelegramStub
from tests.test_staff.processes import REPO, cli, empty_postgres, environment

DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
BOT_RESIDENT = 600_000
NOTICE_CHAT = 700_000


async def start(command: list[str], env: dict[str, str], logs: Path) -> asyncio.subprocess.Process:
    log = (logs / f"{command[-1]}-{time.monotonic_ns()}.log").open("wb")
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *command,
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,
    )


def kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        os.killpg(process.pid, signal.SIGKILL)


async def bot_phase(args: argparse.Namespace, stub: TelegramStub, logs: Path) -> str:
    env = environment(args.database_url, stub.url)
    await empty_postgres(args.database_url)
    cli(["init"], env, REPO)
    sent: Counter[int] = Counter()
    bot = await start(["bot"], env, logs)
    try:
        for round_ in range(args.rounds):
            for index in range(args.residents):
                resident = BOT_RESIDENT + round_ * args.residents + index
                await stub.user_message(resident, "/help")
                sent[resident] += 1
            await asyncio.sleep(random.uniform(0.05, args.window))
            kill(bot)
            await bot.wait()
            bot = await start(["bot"], env, logs)
        deadline = time.monotonic() + args.drain
        while time.monotonic() < deadline:
            if all(len(stub.sent(r)) >= n for r, n in sent.items()):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)  # late duplicates
    finally:
        kill(bot)
    got = {r: len(stub.sent(r)) for r in sent}
    lost = sum(max(0, n - got[r]) for r, n in sent.items())
    duplicated = sum(max(0, got[r] - n) for r, n in sent.items())
    updates = sum(sent.values())
    return f"bot: rounds={args.rounds} updates={updates} lost={lost} duplicated={duplicated}"


async def queue_notices(database_url: str, first: int, count: int) -> None:
    engine = create_engine(database_url)
    async with create_session_factory(engine)() as session:
        for chat in range(first, first + count):
            person = Person(telegram_id=chat)
            session.add(person)
            await session.flush()
            await outbox.enqueue(
                session=session,
                kind=NoticeKind.digest,
                case_id=None,
                payload={"day": "2026-12-04", "new": 1, "overdue": 0, "due_today": 0},
                dedupe_key=f"crash-bench-{chat}",
                person=person,
            )
        await session.commit()
    await engine.dispose()


async def notifier_phase(args: argparse.Namespace, stub: TelegramStub, logs: Path) -> str:
    env = environment(args.database_url, stub.url)
    await empty_postgres(args.database_url)
    cli(["init"], env, REPO)
    notifiers = [await start(["bot", "notifier"], env, logs) for _ in range(2)]
    total = 0
    try:
        for _ in range(args.rounds):
            await queue_notices(args.database_url, NOTICE_CHAT + total, args.notices)
            total += args.notices
            await asyncio.sleep(random.uniform(0.3, args.window))
            victim = random.randrange(2)  # often the leader, sometimes the standby
            kill(notifiers[victim])
            await notifiers[victim].wait()
            notifiers[victim] = await start(["bot", "notifier"], env, logs)
        chats = range(NOTICE_CHAT, NOTICE_CHAT + total)
        deadline = time.monotonic() + args.drain
        while time.monotonic() < deadline:
            if all(stub.sent(chat) for chat in chats):
                break
            await asyncio.sleep(0.5)
        await asyncio.sleep(2)
    finally:
        for process in notifiers:
            kill(process)
    got = Counter({chat: len(stub.sent(chat)) for chat in chats})
    lost = sum(1 for chat in chats if got[chat] == 0)
    duplicated = sum(max(0, n - 1) for n in got.values())
    return f"notifier: rounds={args.rounds} notices={total} lost={lost} duplicated={duplicated}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--phase", nargs="+", default=["bot", "notifier"])
    parser.add_argument("--residents", type=int, default=8)
    parser.add_argument("--notices", type=int, default=10)
    parser.add_argument("--window", type=float, default=2.0)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--drain", type=float, default=180.0)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="zzt-crash-"))
    for phase in args.phase:
        stub = TelegramStub()
        stub.latency = args.latency
        await stub.start()
        try:
            run = bot_phase if phase == "bot" else notifier_phase
            print(await run(args, stub, logs), flush=True)
        finally:
            await stub.stop()
    print(f"logs: {logs}")


if __name__ == "__main__":
    asyncio.run(main())
