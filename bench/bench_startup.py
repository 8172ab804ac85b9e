"""Benchmark (not a test): how fast a bot process is ready, and what it weighs idle.

Against the real ``python -m bot`` (long polling) and the Bot API stand-in
(``tests/telegram_stub.py``, in this process), on an initialised embedded SQLite database:

- import time: a fresh interpreter importing what ``python -m bot`` needs and building its
  routers (``-X importtime`` also lists the heaviest modules with ``--modules``);
- time to first update: from starting the process to the bot's answer to ``/start`` sent at
  that same moment (the stand-in holds it until the bot polls);
- first free-text reply: a text typed at the main menu right after that answer, while the
  classifier and the legal FAQ may still be loading in the background;
- idle memory: the process's resident set (VmRSS) some seconds after start-up.

Usage: ``python bench/bench_startup.py [--rounds 3] [--idle 15] [--modules]``. The machine's
load average is printed with the figures; wall-clock times on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.telegram_stub import TelegramStub  # noqa: E402
from tests.test_staff.processes import REPO, cli, environment, running, tail  # noqa: E402

IMPORTS = (
    "import time; t = time.perf_counter(); "
    "import bot.__main__, bot.factory, bot.inbox, bot.notifications.worker; "
    "from bot.handlers import create_routers; i = time.perf_counter(); create_routers(); "
    "print(i - t, time.perf_counter() - i)"
)
FREE_TEXT = "老板拖欠我工资三个月了，我想问一下法律上怎么办"
WAIT = 120.0


def import_time() -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", IMPORTS], cwd=REPO, capture_output=True, text=True, check=True
    )
    imports, routers = (float(x) for x in out.stdout.split())
    return imports, routers


def heaviest_modules(count: int = 12) -> list[tuple[int, str]]:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", IMPORTS],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:count]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def one_start(database_url: str, idle: float, user: int) -> tuple[float, float, float]:
    stub = TelegramStub()
    await stub.start()
    try:
        env = environment(database_url, stub.url)
        with tempfile.TemporaryDirectory() as logs:
            started = time.perf_counter()
            async with running([["bot"]], env, Path(logs), REPO) as (process,):
                await stub.user_message(user, "/start")
                try:
                    await stub.wait_for_message(user, "综治中心", timeout=WAIT)
                except TimeoutError:
                    print(tail(Path(logs)))
                    raise
                first_update = time.perf_counter() - started
                before = stub.seq
                sent = time.perf_counter()
                await stub.user_message(user, FREE_TEXT)
                await stub.wait_for_message(user, "", after=before, timeout=WAIT)
                free_text = time.perf_counter() - sent
                await asyncio.sleep(max(0.0, idle - (time.perf_counter() - started)))
                rss = rss_mib(process.pid)
    finally:
        await stub.stop()
    return first_update, free_text, rss


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=15.0, help="seconds before reading RSS")
    parser.add_argument("--modules", action="store_true", help="list the heaviest imports")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f}")
    imports = [import_time() for _ in range(args.rounds)]
    print(
        f"imports: median {statistics.median(i for i, _ in imports):.2f} s, building the "
        f"routers {statistics.median(r for _, r in imports):.2f} s"
    )
    if args.modules:
        for micros, name in heaviest_modules():
            print(f"  {micros / 1e6:6.2f} s cumulative  {name}")
    with tempfile.TemporaryDirectory() as folder:
        template = Path(folder) / "template.db"
        cli(["init"], environment(f"sqlite+aiosqlite:///{template}", "http://127.0.0.1:9"), REPO)
        runs = []
        for n in range(args.rounds):  # each start on a fresh copy of the initialised database
            copy = Path(folder) / f"bot{n}.db"
            shutil.copyfile(template, copy)
            runs.append(await one_start(f"sqlite+aiosqlite:///{copy}", args.idle, 7700 + n))
    for name, index, unit in (
        ("first update", 0, "s"),
        ("first free-text reply", 1, "s"),
        ("idle RSS", 2, "MiB"),
    ):
        values = [run[index] for run in runs]
        print(
            f"{name}: median {statistics.median(values):.2f} {unit} "
            f"(each: {', '.join(f'{v:.2f}' for v in values)})"
        )
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    asyncio.run(main())
