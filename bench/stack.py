"""Bring the county stack up locally for the measurements in ``bench/``.

PostgreSQL and Redis are the machine's services (127.0.0.1); the Bot API stand-in plays Telegram
(it posts webhook updates like Telegram does); nginx runs the repo's site file
(``deploy/nginx/zongzhitong.conf``) in front of N ``python -m bot webhook`` workers; M
``python -m bot notifier`` processes deliver. The database given is wiped.

Run alone to try it: ``python bench/stack.py --workers 3 --notifiers 2`` (Ctrl-C stops it); the
stand-in's side door (``/_test/…``, see tests/telegram_stub.py) is printed so you can act as a
resident with curl.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.telegram_stub import TelegramStub
from tests.test_staff.processes import (
    REPO,
    cli,
    empty_postgres,
    environment,
    free_port,
    nginx,
    running,
)

DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
SECRET = "bench-webhook-secret"


@dataclass
class Stack:
    stub: TelegramStub
    url: str  # the webhook URL (nginx)
    workers: list[asyncio.subprocess.Process]
    notifiers: list[asyncio.subprocess.Process]
    env: dict[str, str]
    logs: Path


@contextlib.asynccontextmanager
async def stack(
    *,
    workers: int,
    notifiers: int = 1,
    database_url: str = DEFAULT_DATABASE,
    redis_url: str = DEFAULT_REDIS,
    logs: Path | None = None,
) -> AsyncIterator[Stack]:
    from redis.asyncio import Redis

    logs = logs or Path(tempfile.mkdtemp(prefix="zzt-stack-"))
    await empty_postgres(database_url)
    async with Redis.from_url(redis_url) as redis:
        await redis.flushdb()
    stub = TelegramStub()
    await stub.start()
    env = environment(database_url, stub.url, REDIS_URL=redis_url, BOT_WEBHOOK_SECRET=SECRET)
    cli(["init"], env, REPO)
    port, worker_ports = free_port(), [free_port() for _ in range(workers)]
    url = f"http://127.0.0.1:{port}/tg"
    commands = [
        ["bot", "webhook", "--url", url, "--port", str(p), "--secret", SECRET]
        for p in worker_ports
    ] + [["bot", "notifier"] for _ in range(notifiers)]
    try:
        with nginx(logs / "nginx", port, worker_ports):
            async with running(commands, env, logs, REPO) as processes:
                loop = asyncio.get_running_loop()
                deadline = loop.time() + 60
                while stub.state.webhook_url != url and loop.time() < deadline:  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
                await asyncio.sleep(2.0)  # every worker listening
                yield Stack(stub, url, processes[:workers], processes[workers:], env, logs)
    finally:
        await stub.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--notifiers", type=int, default=2)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    args = parser.parse_args()
    async with stack(
        workers=args.workers,
        notifiers=args.notifiers,
        database_url=args.database_url,
        redis_url=args.redis_url,
    ) as running_stack:
        print(f"webhook (nginx): {running_stack.url}")
        print(f"Bot API stand-in: {running_stack.stub.url} (side door /_test/…)")
        print(f"logs: {running_stack.logs}")
        await asyncio.Event().wait()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
