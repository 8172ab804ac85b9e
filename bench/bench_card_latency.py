"""Benchmark: time from a resident's 提交 to the case card in the unit group (median, p95).

Real processes: ``python -m bot`` and ``python -m bot notifier`` against the Bot API stand-in
(run in this process). N residents (default 200) go through the report conversation and press
确认提交 spread over one minute; for each case we take the time the 提交 press was injected and
the time the bot's sendMessage carrying the case code reached the unit's group (a card, or a
coalesced summary that lists the code). Every unit has a bound group.

Usage: ``python bench/bench_card_latency.py [--residents 200] [--spread 60]
[--database-url URL] [--notifiers 2] [--redis-url URL]`` (default: a temp SQLite file; a
PostgreSQL URL is wiped and used). With several notifiers (PostgreSQL: they elect one
delivering leader) the output also says how many cards were coalesced into group summaries.
Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import SQLModel, select

import backend.models  # noqa: F401
from backend.db import create_engine, create_session_factory
from backend.models import Case, Unit
from tests.telegram_stub import TelegramStub
from tests.test_staff.processes import REPO, cli, environment, running, tail

TEXTS = [
    "老板拖欠我工资三个月不给，多次讨要无果",
    "邻居家的排水沟一直往我家院子里流水，说了好几次都不改",
    "有人在河里电鱼，鱼都死了",
    "村里的路灯坏了好几天，晚上走路很危险",
    "小区物业乱收费，还不给发票",
    "楼下餐馆油烟很大，呛得受不了",
    "承包地的边界和隔壁家一直说不清楚",
    "学校门口的路坑坑洼洼，孩子上学不安全",
]
WAIT = 60.0


async def press_when_shown(stub: TelegramStub, user: int, label: str) -> None:
    for _ in range(int(WAIT * 20)):
        try:
            await stub.press(user, label)
            return
        except LookupError:
            await asyncio.sleep(0.05)
    raise LookupError(f"{label!r} never shown to {user}")


async def resident(stub: TelegramStub, user: int, text: str, start_at: float) -> float:
    """Walk one resident to the summary, press 确认提交 at ``start_at``; returns the press time."""
    await stub.user_message(user, "/start")
    await press_when_shown(stub, user, "反映问题")
    await stub.wait_for_message(user, "发生了什么", timeout=WAIT)
    await stub.user_message(user, text)
    await asyncio.sleep(0.3)
    await press_when_shown(stub, user, "下一步")
    await stub.wait_for_message(user, "发生在哪里", timeout=WAIT)
    await press_when_shown(stub, user, "选择乡镇和村")
    await press_when_shown(stub, user, "弥城镇")
    await press_when_shown(stub, user, "西山村")
    await stub.wait_for_message(user, "联系方式", timeout=WAIT)
    await press_when_shown(stub, user, "匿名反映")
    await stub.wait_for_message(user, "请核对", timeout=WAIT)
    await asyncio.sleep(max(0.0, start_at - time.time()))
    pressed = time.time()
    await press_when_shown(stub, user, "确认提交")
    return pressed


async def bind_all_groups(database_url: str) -> dict[int, int]:
    """Give every unit a group (chat id = -10000 - unit id); returns chat id → unit id."""
    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    groups = {}
    async with factory() as session:
        for unit in (await session.exec(select(Unit))).all():
            assert unit.id is not None
            unit.chat_id = -10_000 - unit.id
            groups[unit.chat_id] = unit.id
            session.add(unit)
        await session.commit()
    await engine.dispose()
    return groups


async def cases_by_reporter(database_url: str) -> dict[int, Case]:
    from backend.models import Person

    engine = create_engine(database_url)
    factory = create_session_factory(engine)
    async with factory() as session:
        rows = (
            await session.exec(select(Case, Person).where(Case.reporter_id == Person.id))
        ).all()
    await engine.dispose()
    return {person.telegram_id: case for case, person in rows if person.telegram_id}


async def main_async(args: argparse.Namespace, folder: Path) -> None:
    database_url = args.database_url or f"sqlite+aiosqlite:///{folder}/latency.db"
    if args.database_url:
        engine = create_engine(database_url)
        async with engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.drop_all)
            await conn.run_sync(
                lambda c: c.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
            )
        await engine.dispose()
    stub = TelegramStub()
    await stub.start()
    env = environment(database_url, stub.url)
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    cli(["init"], env, REPO)
    await bind_all_groups(database_url)
    users = [900_000 + i for i in range(args.residents)]
    commands = [["bot"]] + [["bot", "notifier"]] * args.notifiers
    try:
        async with running(commands, env, folder, REPO):
            await asyncio.sleep(3)  # let both processes start polling
            begin = time.time() + args.warmup
            presses = await asyncio.gather(
                *(
                    resident(
                        stub, user, random.choice(TEXTS), begin + args.spread * i / len(users)
                    )
                    for i, user in enumerate(users)
                )
            )
            pressed_at = dict(zip(users, presses, strict=True))
            deadline = time.time() + args.settle
            latencies: dict[int, float] = {}
            recorded: dict[int, float] = {}
            cases: dict[int, Case] = {}
            while time.time() < deadline and len(latencies) < len(users):
                await asyncio.sleep(1)
                cases = await cases_by_reporter(database_url)
                group_calls = [
                    c
                    for c in stub.state.calls
                    if c["method"] == "sendMessage" and int(c["params"].get("chat_id", 0)) < 0
                ]
                for user, case in cases.items():
                    if user in latencies:
                        continue
                    for call in group_calls:
                        if case.code in str(call["params"].get("text", "")):
                            latencies[user] = call["time"] - pressed_at[user]
                            created = case.created_at.replace(tzinfo=case.created_at.tzinfo or UTC)
                            recorded[user] = created.timestamp() - pressed_at[user]
                            break
    except Exception:
        print(tail(folder))
        raise
    finally:
        await stub.stop()
    values = sorted(latencies.values())
    bot_side = sorted(recorded.values())
    delivery = sorted(latencies[u] - recorded[u] for u in recorded)
    group_messages = sum(
        1
        for c in stub.state.calls
        if c["method"] == "sendMessage" and int(c["params"].get("chat_id", 0)) < 0
    )
    per_group: dict[int, list[float]] = {}
    for c in stub.state.calls:
        chat = int(c["params"].get("chat_id", 0))
        if c["method"] == "sendMessage" and chat < 0:
            per_group.setdefault(chat, []).append(c["time"])
    busiest = 0
    for times in per_group.values():
        times.sort()
        start = 0
        for end in range(len(times)):
            while times[end] - times[start] >= 60:
                start += 1
            busiest = max(busiest, end - start + 1)
    print(f"most messages to one group in any 60 s: {busiest} (Telegram allows about 20)")
    codes_per_message = [
        sum(case.code in str(c["params"].get("text", "")) for case in cases.values())
        for c in stub.state.calls
        if c["method"] == "sendMessage" and int(c["params"].get("chat_id", 0)) < 0
    ]
    coalesced = sum(n for n in codes_per_message if n > 1)
    print(
        f"notifiers={args.notifiers}: {coalesced} cases reached their group inside a summary of "
        f"several (largest lists {max(codes_per_message, default=0)} cases); each case code "
        f"was sent to groups {sum(codes_per_message)} times for {len(cases)} cases"
    )
    print(
        f"residents={len(users)} spread={args.spread}s cases={len(cases)} "
        f"cards seen={len(values)} group messages={group_messages}"
    )
    if values:
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        print(
            f"提交 → card in group: median={statistics.median(values):.2f}s p95={p95:.2f}s "
            f"min={values[0]:.2f}s max={values[-1]:.2f}s"
        )
        for name, part in (
            ("提交 → case recorded (bot process)", bot_side),
            ("recorded → card sent (notifier)", delivery),
        ):
            q95 = part[min(len(part) - 1, round(0.95 * (len(part) - 1)))]
            print(f"  {name}: median={statistics.median(part):.2f}s p95={q95:.2f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--residents", type=int, default=200)
    parser.add_argument("--spread", type=float, default=60.0, help="seconds over which 提交 lands")
    parser.add_argument(
        "--warmup",
        type=float,
        default=90.0,
        help="seconds to walk everyone to the summary before the first 提交",
    )
    parser.add_argument("--settle", type=float, default=180.0)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--notifiers", type=int, default=1, help="python -m bot notifier count")
    parser.add_argument("--redis-url", default="", help="REDIS_URL for the processes")
    parser.add_argument("--logs", default="", help="keep the processes' logs in this folder")
    args = parser.parse_args()
    if args.logs:
        Path(args.logs).mkdir(parents=True, exist_ok=True)
        asyncio.run(main_async(args, Path(args.logs)))
        return
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(main_async(args, Path(folder)))


if __name__ == "__main__":
    main()
