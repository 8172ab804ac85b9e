"""Start and stop the real processes (``python -m bot``, ``python -m bot notifier``, the CLI)
against the Bot API stand-in; used by the end-to-end test and the latency benchmark."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TOKEN = "123456:E2E-TOKEN"
NGINX_SITE = REPO / "deploy" / "nginx" / "zongzhitong.conf"
SITE_WORKER_PORTS = (8081, 8082, 8083)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def nginx_binary() -> str | None:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    return binary if Path(binary).exists() else None


@contextlib.contextmanager
def nginx(prefix: Path, port: int, workers: Sequence[int]) -> Iterator[None]:
    """nginx serving the repo's site file (``deploy/nginx``) on ``port``, its upstream moved to
    the given worker ports, with every file it writes under ``prefix``."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx)")
    site = NGINX_SITE.read_text("utf-8")
    upstream = "\n".join(
        f"    server 127.0.0.1:{worker} max_fails=1 fail_timeout=5s;" for worker in workers
    )
    lines = [f"    server 127.0.0.1:{default} " for default in SITE_WORKER_PORTS]
    kept = [line for line in site.splitlines() if not any(line.startswith(x) for x in lines)]
    site = "\n".join(kept).replace(
        "upstream zongzhitong_bot {", "upstream zongzhitong_bot {\n" + upstream, 1
    )
    site = re.sub(r"listen 80;", f"listen 127.0.0.1:{port};", site)
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "site.conf").write_text(site, "utf-8")
    temp = "\n".join(
        f"    {name}_temp_path {prefix / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (prefix / "nginx.conf").write_text(
        f"""daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
{temp}
    include {prefix}/site.conf;
}}
""",
        "utf-8",
    )
    process = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(200):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if process.poll() is not None:
                raise RuntimeError((prefix / "error.log").read_text("utf-8", "replace"))
            subprocess.run(["sleep", "0.05"], check=True)
        yield
    finally:
        process.terminate()
        process.wait(10)


async def empty_postgres(url: str) -> None:
    """Drop every table of a PostgreSQL database, so ``python -m backend init`` starts afresh."""
    from sqlalchemy import text

    from backend.db import create_engine

    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


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
