"""Benchmark (not a test): 1,000 simulated residents filing reports at once through the dispatcher.

Each resident sends the updates of a complete report (``/start`` → 反映问题 → description →
下一步 → 跳过 (place) → 匿名反映 → 确认提交: 7 updates) through ``dp.feed_update`` with a
MockedBot (no network), all residents concurrently. Like ``python -m bot`` (aiogram's
``tasks_concurrency_limit``), at most ``concurrency_limit(settings)`` updates are inside the
dispatcher at once; the rest wait in line. We report, per update, the dispatcher's time (inside
the limit: handlers, database, FSM storage, per-user lock) and the latency a resident sees
(including the wait in line), median and p95, for two setups:

- ``embedded``: SQLite file + the database FSM storage (the no-Redis default);
- ``redis``: PostgreSQL + Redis FSM storage with RedisEventIsolation (the production setup).

Usage (the databases given are wiped)::

    python bench/bench_dispatcher.py                       # both setups, 1,000 residents
    python bench/bench_dispatcher.py --setup embedded --residents 200
    python bench/bench_dispatcher.py --redis redis://127.0.0.1:6379/14 \\
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiogram.types import Update  # noqa: E402
from sqlmodel import SQLModel, func, select  # noqa: E402

import backend.models  # noqa: E402,F401  (registers every table)
from backend.config import Settings  # noqa: E402
from backend.county import load_county  # noqa: E402
from backend.db import create_engine, create_session_factory  # noqa: E402
from backend.models import Case  # noqa: E402
from backend.services import directory  # noqa: E402
from bot.callbacks import Flow, MenuAction  # noqa: E402
from bot.factory import concurrency_limit, create_dispatcher  # noqa: E402
from bot.texts import t  # noqa: E402
from tests.mocked_bot import MockedBot  # noqa: E402
from tests.tg import make_callback_update, make_message_update  # noqa: E402

TEXTS = (
    "邻居家的排水沟一直往我家院子里流水，说了好几次都不改，第{n}次反映。",
    "包工头欠了我们三个月工钱不给，一共{n}个工人，年底了还拿不到钱。",
    "村里的路灯坏了{n}天了，晚上很黑，老人出门不方便。",
    "隔壁养猪场的臭味太大，已经影响到我们{n}户人家的生活。",
    "我家的承包地界桩被人挪了{n}米，找村里也没解决。",
)


@dataclass
class Timings:
    per_update: list[float] = field(default_factory=list)  # inside the dispatcher
    latency: list[float] = field(default_factory=list)  # including the wait in line
    by_step: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


def _updates(user_id: int, n: int) -> list[tuple[str, Update]]:
    text = TEXTS[n % len(TEXTS)].format(n=n)
    return [
        ("start", make_message_update(user_id, "/start")),
        ("menu", make_callback_update(user_id, MenuAction(action="report").pack())),
        ("text", make_message_update(user_id, text)),
        ("next", make_message_update(user_id, t("report.btn_next", "zh"))),
        ("place", make_message_update(user_id, t("report.btn_skip", "zh"))),
        ("contact", make_message_update(user_id, t("report.btn_anonymous", "zh"))),
        ("submit", make_callback_update(user_id, Flow(action="submit").pack())),
    ]


async def _resident(
    dp: object,
    bot: MockedBot,
    user_id: int,
    n: int,
    timings: Timings,
    limit: asyncio.Semaphore,
) -> None:
    for step, update in _updates(user_id, n):
        update = Update.model_validate(update.model_dump(), context={"bot": bot})
        arrived = time.perf_counter()
        async with limit:
            started = time.perf_counter()
            await dp.feed_update(bot, update)  # type: ignore[attr-defined]
            done = time.perf_counter()
        elapsed = (done - started) * 1000
        timings.per_update.append(elapsed)
        timings.latency.append((done - arrived) * 1000)
        timings.by_step[step].append(elapsed)


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run_setup(name: str, database_url: str, redis_url: str | None, residents: int) -> dict:
    engine = create_engine(database_url, **({} if "sqlite" in database_url else {"pool_size": 20}))
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.drop_all)
        await conn.run_sync(SQLModel.metadata.create_all)
    factory = create_session_factory(engine)
    async with factory() as session:
        await directory.sync_units(session=session, county=load_county())
    if redis_url:
        from redis.asyncio import Redis

        client = Redis.from_url(redis_url)
        await client.flushdb()
        await client.aclose()
    settings = Settings(_env_file=None, database_url=database_url, redis_url=redis_url)
    dp = create_dispatcher(settings, session_factory=factory)
    bot = MockedBot()
    limit = asyncio.Semaphore(concurrency_limit(settings))
    # Warm-up (classifier rules, first connections) outside the measurement.
    await _resident(dp, bot, 1, 0, Timings(), limit)
    timings = Timings()
    cpu_started = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(
        *(_resident(dp, bot, 100_000 + i, i, timings, limit) for i in range(residents))
    )
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    async with factory() as session:
        cases = (await session.exec(select(func.count()).select_from(Case))).one()
    await dp.storage.close()
    await engine.dispose()
    values = timings.per_update
    return {
        "setup": name,
        "residents": residents,
        "updates": len(values),
        "cases": int(cases) - 1,  # minus the warm-up resident's case
        "median_ms": statistics.median(values),
        "p95_ms": _p(values, 0.95),
        "max_ms": max(values),
        "latency_median_ms": statistics.median(timings.latency),
        "latency_p95_ms": _p(timings.latency, 0.95),
        "limit": concurrency_limit(settings),
        "wall_s": wall,
        "cpu_s": cpu,
        "updates_per_s": len(values) / wall,
        "steps": {k: (statistics.median(v), _p(v, 0.95)) for k, v in timings.by_step.items()},
    }


def _print(result: dict) -> None:
    print(
        f"{result['setup']:>9}: {result['residents']} residents, {result['updates']} updates, "
        f"{result['cases']} cases | per update: median {result['median_ms']:.1f} ms, "
        f"p95 {result['p95_ms']:.1f} ms, max {result['max_ms']:.0f} ms "
        f"(limit {result['limit']} at once; latency incl. waiting in line: median "
        f"{result['latency_median_ms']:.0f} ms, p95 {result['latency_p95_ms']:.0f} ms) | wall "
        f"{result['wall_s']:.1f} s ({result['updates_per_s']:.0f} updates/s, "
        f"this process used {result['cpu_s']:.1f} s CPU)"
    )
    steps = "  ".join(f"{k} {m:.0f}/{p:.0f}" for k, (m, p) in result["steps"].items())
    print(f"           median/p95 ms by step: {steps}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--setup", choices=["embedded", "redis", "both"], default="both")
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
    )
    args = parser.parse_args()
    results = []
    if args.setup in ("embedded", "both"):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            results.append(await run_setup("embedded", url, None, args.residents))
            _print(results[-1])
    if args.setup in ("redis", "both"):
        results.append(await run_setup("redis", args.postgres, args.redis, args.residents))
        _print(results[-1])


if __name__ == "__main__":
    asyncio.run(main())
