"""Benchmark: webhook throughput and latency with 1, 2 and 4 bot workers behind nginx.

The stack of ``bench/stack.py`` (PostgreSQL, Redis, nginx, N ``python -m bot webhook``
workers). The Bot API stand-in posts updates like Telegram: each resident's updates one at a
time, residents in parallel. Every resident sends ``--messages`` /help commands; we report
updates handled per second (first post to last answer) and the p50/p95 time Telegram waits for
a worker's answer (the update stored and handled).

Usage: ``python bench/bench_workers.py [--workers 1 2 4] [--residents 200] [--messages 5]``.
Not a test: it prints numbers. Mind the machine: on 2 cores, workers beyond 2 share them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stack import DEFAULT_DATABASE, DEFAULT_REDIS, stack

FIRST_RESIDENT = 800_000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(workers: int, residents: int, messages: int, args: argparse.Namespace) -> str:
    async with stack(
        workers=workers, notifiers=0, database_url=args.database_url, redis_url=args.redis_url
    ) as running:
        stub = running.stub
        total = residents * messages
        started = time.time()
        for _ in range(messages):
            for resident in range(FIRST_RESIDENT, FIRST_RESIDENT + residents):
                await stub.user_message(resident, "/help")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 600
        while loop.time() < deadline:
            answered = sum(1 for d in stub.state.webhook_deliveries if d["outcome"] == 200)
            if answered >= total:
                break
            await asyncio.sleep(0.2)
        finished = max(d["time"] for d in stub.state.webhook_deliveries)
        waits = [d["seconds"] for d in stub.state.webhook_deliveries if d["outcome"] == 200]
        retried = sum(1 for d in stub.state.webhook_deliveries if d["outcome"] != 200)
    rate = len(waits) / (finished - started)
    return (
        f"workers={workers} updates={len(waits)}/{total} updates/s={rate:.0f} "
        f"answer p50={statistics.median(waits) * 1000:.0f}ms "
        f"p95={percentile(waits, 0.95) * 1000:.0f}ms retried={retried}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    args = parser.parse_args()
    for workers in args.workers:
        print(await measure(workers, args.residents, args.messages, args), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
