"""Start and stop the real processes (``python -m bot``, ``python -m bot notifier``, the CLI)
against the Bot API stand-in; used by the end-to-end test and the latency benchmark."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOKEN = "123456:E2E-TOKEN"


def environment(database_url: str, api_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST"))}
    env.pop("REDIS_URL", None)
    env.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=api_url,
        DATABASE_URL=database_url,
        TZ="Asia/Shanghai",
        PYTHONUNBUFFERED="1",
        NOTIFIER_IN_PROCESS="false",  # `python -m bot notifier` runs beside the bot
        **extra,
    )
    return env


def cli(args: Sequence[str], env: dict[str, str], cwd: Path) -> str:
    """Run ``python -m backend …`` to completion; returns stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "backend", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"backend {args[0]} failed: {result.stderr[-2000:]}")
    return result.stdout


def invite(role: str, unit: str, env: dict[str, str], cwd: Path) -> str:
    """A fresh invite code (the CLI prints it on its last line)."""
    return (
        cli(["invite", "--role", role, "--unit", unit], env, cwd).strip().splitlines()[-1].strip()
    )


@contextlib.asynccontextmanager
async def running(
    commands: Sequence[Sequence[str]], env: dict[str, str], logs: Path, cwd: Path
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """Start each ``python -m …`` command; always stop them all (SIGTERM, then SIGKILL)."""
    processes: list[asyncio.subprocess.Process] = []
    files = []
    try:
        for index, command in enumerate(commands):
            log = (logs / f"process-{index}.log").open("wb")
            files.append(log)
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    *command,
                    env=env,
                    cwd=cwd,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        yield processes
    finally:
        for process in processes:
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
        for log in files:
            log.close()


def tail(logs: Path, lines: int = 30) -> str:
    out = []
    for path in sorted(logs.glob("process-*.log")):
        text = path.read_text(errors="replace").splitlines()[-lines:]
        out.append(f"--- {path.name}\n" + "\n".join(text))
    return "\n".join(out)


def all_logs(logs: Path) -> str:
    """Everything the processes wrote (stdout and stderr)."""
    return "\n".join(path.read_text(errors="replace") for path in logs.glob("process-*.log"))
