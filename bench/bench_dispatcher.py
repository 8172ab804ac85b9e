"""Benchmark (not a test): N simulated residents filing reports at once through the dispatcher.

Each resident walks a complete report by pressing the buttons it is shown, by their labels
(``/start`` → 反映问题 → description → 下一步 → 跳过 (place) → 匿名反映 → 确认提交: 7
updates), so the bench does not depend on how the dialogs pack their callback data. All
residents run concurrently; like ``python -m bot``, at most ``concurrency_limit(settings)``
updates are handled at once and the rest wait in line. Two ways in:

- ``--path inbox`` (default): what ``python -m bot`` does with every update: stored in the
  inbox (``bot.inbox``), handled, marked done;
- ``--path dispatcher``: ``dp.feed_update`` alone (the figures of issue 13's first profile).

Two setups:

- ``embedded``: SQLite file + the database FSM storage (the no-Redis default);
- ``redis``: PostgreSQL + Redis FSM storage with RedisEventIsolation (the production setup).

Reported per setup: CPU per update (this process's CPU time over the measured run divided by the
updates: the figure least disturbed by other work on a shared machine), updates/s, handling time
(inside the concurrency limit) and latency (including the wait in line) median/p95/max, the
longest garbage-collection pause (``gc.callbacks``) and event-loop stall, database statements and
transactions per update, Redis round trips per update, and the same by step.

Usage (the databases given are wiped)::

    python bench/bench_dispatcher.py                       # both setups, 1,000 residents
    python bench/bench_dispatcher.py --setup embedded --residents 200
    python bench/bench_dispatcher.py --setup redis --profile /tmp/redis.prof   # + cProfile top
    python bench/bench_dispatcher.py --redis redis://127.0.0.1:6379/14 \\
        --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiogram.types import Update  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import SQLModel, func, select  # noqa: E402

import backend.models  # noqa: E402,F401  (registers every table)
from backend.config import Settings  # noqa: E402
from backend.county import load_county  # noqa: E402
from backend.db import create_engine, create_session_factory  # noqa: E402
from backend.models import Case  # noqa: E402
from backend.services import directory, inbox  # noqa: E402
from bot import tuning  # noqa: E402
from bot.factory import concurrency_limit, create_dispatcher, warmed_up  # noqa: E402
from bot.inbox import InboxFeeder  # noqa: E402
from bot.texts import t  # noqa: E402
from tests.mocked_bot import MockedBot  # noqa: E402
from tests.tg import TgUser  # noqa: E402

TEXTS = (
    "邻居家的排水沟一直往我家院子里流水，说了好几次都不改，第{n}次反映。",
    "包工头欠了我们三个月工钱不给，一共{n}个工人，年底了还拿不到钱。",
    "村里的路灯坏了{n}天了，晚上很黑，老人出门不方便。",
    "隔壁养猪场的臭味太大，已经影响到我们{n}户人家的生活。",
    "我家的承包地界桩被人挪了{n}米，找村里也没解决。",
)
REDIS_LOCK = "zzt:test-run-lock:{}"  # the test conftest's lock: never wipe a db a test run uses


# -- counting what an update costs ---------------------------------------------------------------
@dataclass
class Counters:
    statements: int = 0
    transactions: int = 0
    redis_round_trips: int = 0
    sqlite_hops: int = 0  # calls handed to aiosqlite's thread (each a thread switch)
    gc_pauses: list[float] = field(default_factory=list)  # ms, every collection
    gc_gen2: int = 0
    loop_stall_max: float = 0.0  # ms


COUNT = Counters()


def _install_counters() -> None:
    """Count SQL statements and commits (every engine), Redis writes to a socket, GC pauses."""

    @event.listens_for(Engine, "before_cursor_execute")
    def _statement(*_: Any) -> None:
        COUNT.statements += 1

    @event.listens_for(Engine, "commit")
    def _commit(*_: Any) -> None:
        COUNT.transactions += 1

    from redis.asyncio.connection import AbstractConnection

    send = AbstractConnection.send_packed_command

    async def counted(self: Any, command: Any, check_health: bool = True) -> None:
        COUNT.redis_round_trips += 1
        await send(self, command, check_health)

    AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]

    import aiosqlite.core

    execute = aiosqlite.core.Connection._execute

    async def hop(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        COUNT.sqlite_hops += 1
        return await execute(self, fn, *args, **kwargs)

    aiosqlite.core.Connection._execute = hop  # type: ignore[method-assign]

    started: list[float] = []

    def _gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            COUNT.gc_pauses.append((time.perf_counter() - started.pop()) * 1000)
            if info.get("generation") == 2:
                COUNT.gc_gen2 += 1

    gc.callbacks.append(_gc)


async def _watch_loop(stop: asyncio.Event, tick: float = 0.005) -> None:
    """The longest time the event loop could not run a ready callback (any cause)."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(tick)
        COUNT.loop_stall_max = max(COUNT.loop_stall_max, (loop.time() - before - tick) * 1000)


@contextmanager
def _redis_db(url: str) -> Iterator[str]:
    """Take the test conftest's lock on the Redis db (or a free one) for the run."""
    from redis import Redis

    root, _, number = url.rpartition("/")
    with Redis.from_url(root + "/0") as client:
        for candidate in [int(number or 14), *range(14, 0, -1)]:
            key = REDIS_LOCK.format(candidate)
            if client.set(key, os.getpid(), nx=True, ex=3600):
                try:
                    yield f"{root}/{candidate}"
                finally:
                    client.delete(key)
                return
    raise RuntimeError("every Redis db is locked by a test run")


async def _ensure_postgres_database(url: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host, port=parsed.port or 5432, user=parsed.username, database="postgres"
    )
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname=$1", parsed.database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await conn.close()


# -- one resident --------------------------------------------------------------------------------
@dataclass
class Timings:
    per_update: list[float] = field(default_factory=list)  # inside the concurrency limit
    latency: list[float] = field(default_factory=list)  # including the wait in line
    by_step: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)


class BenchUser(TgUser):
    """A resident whose every update goes through the concurrency limit (and the inbox)."""

    def __init__(self, dp: Any, user_id: int, run: Run, timings: Timings) -> None:
        super().__init__(dp, MockedBot(), user_id)  # own bot: button lookups stay O(own chat)
        self.run = run
        self.timings = timings
        self.step = ""

    async def feed(self, update: Update) -> Any:
        update = Update.model_validate(update.model_dump(), context={"bot": self.bot})
        arrived = time.perf_counter()
        async with self.run.limit:
            started = time.perf_counter()
            if self.run.feeder is not None:
                async with self.run.session_factory() as session:
                    payload = update.model_dump(mode="json", exclude_none=True, by_alias=True)
                    await inbox.receive(session=session, updates=[(update.update_id, payload)])
                await self.run.feeder.handle(update)
            else:
                await self.dp.feed_update(self.bot, update)
            done = time.perf_counter()
        elapsed = (done - started) * 1000
        self.timings.per_update.append(elapsed)
        self.timings.latency.append((done - arrived) * 1000)
        self.timings.by_step[self.step].append(elapsed)


@dataclass
class Run:
    limit: asyncio.Semaphore
    session_factory: Any
    feeder: InboxFeeder | None


async def _resident(dp: Any, user_id: int, n: int, run: Run, timings: Timings) -> None:
    user = BenchUser(dp, user_id, run, timings)
    steps: list[tuple[str, Any]] = [
        ("start", lambda: user.send("/start")),
        ("menu", lambda: user.press(t("common.menu_report", "zh"))),
        ("text", lambda: user.send(TEXTS[n % len(TEXTS)].format(n=n))),
        ("next", lambda: user.press(t("report.btn_next", "zh"))),
        ("place", lambda: user.press(t("report.btn_skip", "zh"))),
        ("contact", lambda: user.press(t("report.btn_anonymous", "zh"))),
        ("submit", lambda: user.press(t("report.btn_submit", "zh"))),
    ]
    for name, step in steps:
        user.step = name
        try:
            await step()
        except AssertionError as exc:  # the dialog changed: say where, keep measuring the rest
            timings.failures.append(f"{name}: {exc}")
            return


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


async def run_setup(
    name: str,
    database_url: str,
    redis_url: str | None,
    residents: int,
    *,
    path: str,
    profile: str | None,
) -> dict[str, Any]:
    engine = create_engine(database_url)
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
    limit = concurrency_limit(settings)
    bot = MockedBot()
    feeder = InboxFeeder(dp, bot, factory, limit) if path == "inbox" else None
    run = Run(asyncio.Semaphore(limit), factory, feeder)
    await dp.emit_startup(bot=bot, **{**dp.workflow_data, "dispatcher": dp, "bots": [bot]})
    await warmed_up()  # classifier and FAQ loaded, heap frozen: as python -m bot after start-up
    # Warm-up (classifier rules, first connections) outside the measurement.
    warm = Timings()
    await asyncio.gather(*(_resident(dp, 1 + i, i, run, warm) for i in range(20)))
    if warm.failures:
        print(f"{name}: warm-up failed: {warm.failures[0]}", file=sys.stderr)
    timings = Timings()
    before = Counters(
        statements=COUNT.statements,
        transactions=COUNT.transactions,
        redis_round_trips=COUNT.redis_round_trips,
        sqlite_hops=COUNT.sqlite_hops,
        gc_gen2=COUNT.gc_gen2,
    )
    COUNT.gc_pauses.clear()
    COUNT.loop_stall_max = 0.0
    stop = asyncio.Event()
    watcher = asyncio.create_task(_watch_loop(stop))
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    cpu_started = time.process_time()
    started = time.perf_counter()
    await asyncio.gather(*(_resident(dp, 100_000 + i, i, run, timings) for i in range(residents)))
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    stop.set()
    await watcher
    updates = len(timings.per_update)
    async with factory() as session:
        cases = (await session.exec(select(func.count()).select_from(Case))).one()
    await dp.emit_shutdown(bot=bot, **{**dp.workflow_data, "dispatcher": dp, "bots": [bot]})
    await dp.storage.close()
    await engine.dispose()
    return {
        "setup": name,
        "path": path,
        "residents": residents,
        "updates": updates,
        "cases": int(cases) - 20,  # minus the warm-up residents' cases
        "failures": timings.failures,
        "cpu_ms_per_update": cpu * 1000 / max(1, updates),
        "updates_per_s": updates / wall,
        "median_ms": statistics.median(timings.per_update),
        "p95_ms": _p(timings.per_update, 0.95),
        "max_ms": max(timings.per_update),
        "latency_median_ms": statistics.median(timings.latency),
        "latency_p95_ms": _p(timings.latency, 0.95),
        "gc_max_ms": max(COUNT.gc_pauses, default=0.0),
        "gc_gen2": COUNT.gc_gen2 - before.gc_gen2,
        "loop_stall_max_ms": COUNT.loop_stall_max,
        "statements": (COUNT.statements - before.statements) / max(1, updates),
        "transactions": (COUNT.transactions - before.transactions) / max(1, updates),
        "redis": (COUNT.redis_round_trips - before.redis_round_trips) / max(1, updates),
        "hops": (COUNT.sqlite_hops - before.sqlite_hops) / max(1, updates),
        "limit": limit,
        "wall_s": wall,
        "cpu_s": cpu,
        "steps": {k: (statistics.median(v), _p(v, 0.95)) for k, v in timings.by_step.items()},
        "load": os.getloadavg(),
    }


def _print(r: dict[str, Any]) -> None:
    print(
        f"{r['setup']:>9} ({r['path']}): {r['residents']} residents, {r['updates']} updates, "
        f"{r['cases']} cases, load {r['load'][0]:.1f}\n"
        f"           CPU {r['cpu_ms_per_update']:.2f} ms/update ({r['cpu_s']:.1f} s) | "
        f"{r['updates_per_s']:.0f} updates/s (wall {r['wall_s']:.1f} s) | handling median "
        f"{r['median_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, max {r['max_ms']:.0f} ms "
        f"(limit {r['limit']}) | latency incl. line median {r['latency_median_ms']:.0f} ms, "
        f"p95 {r['latency_p95_ms']:.0f} ms\n"
        f"           longest GC pause {r['gc_max_ms']:.1f} ms ({r['gc_gen2']} full collections), "
        f"longest loop stall {r['loop_stall_max_ms']:.1f} ms | per update: "
        f"{r['statements']:.1f} SQL statements, {r['transactions']:.2f} commits, "
        f"{r['redis']:.1f} Redis round trips, {r['hops']:.1f} aiosqlite thread hops"
    )
    steps = "  ".join(f"{k} {m:.0f}/{p:.0f}" for k, (m, p) in r["steps"].items())
    print(f"           handling median/p95 ms by step: {steps}")
    if r["failures"]:
        print(f"           {len(r['failures'])} residents stopped early: {r['failures'][0]}")


def _print_profile(path: str, top: int = 25) -> None:
    out = io.StringIO()
    stats = pstats.Stats(path, stream=out)
    stats.strip_dirs().sort_stats("tottime").print_stats(top)
    print(out.getvalue())


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--setup", choices=["embedded", "redis", "both"], default="both")
    parser.add_argument("--path", choices=["inbox", "dispatcher"], default="inbox")
    parser.add_argument("--residents", type=int, default=1000)
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/bench"
        ),
    )
    parser.add_argument(
        "--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    )
    parser.add_argument("--profile", help="cProfile the measured run into this file (+ top)")
    args = parser.parse_args()
    _install_counters()
    tuning.tune_gc()  # as python -m bot does
    if args.setup in ("embedded", "both"):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            profile = f"{args.profile}.embedded" if args.profile else None
            _print(
                await run_setup(
                    "embedded", url, None, args.residents, path=args.path, profile=profile
                )
            )
            if profile:
                _print_profile(profile)
    if args.setup in ("redis", "both"):
        await _ensure_postgres_database(args.postgres)
        profile = f"{args.profile}.redis" if args.profile else None
        with _redis_db(args.redis) as redis_url:
            _print(
                await run_setup(
                    "redis",
                    args.postgres,
                    redis_url,
                    args.residents,
                    path=args.path,
                    profile=profile,
                )
            )
        if profile:
            _print_profile(profile)


if __name__ == "__main__":
    asyncio.run(main())
