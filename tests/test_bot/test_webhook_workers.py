"""Three ``python -m bot webhook`` workers behind nginx (the repo's site file) on PostgreSQL and
Redis: the Bot API stand-in posts residents' updates through nginx, one worker is killed with
kill -9 in the middle, and every update is still handled, none lost and (almost) none twice."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlmodel import col, select

from backend.db import create_engine, create_session_factory
from backend.models import InboxUpdate
from tests.conftest import IN_CI
from tests.telegram_stub import TelegramStub
from tests.test_staff.processes import REPO, cli, environment, running, tail
from tests.test_staff.test_notifier_failover import _empty_database

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

SITE = REPO / "deploy" / "nginx" / "zongzhitong.conf"
SECRET = "workers-test-secret"
RESIDENTS = list(range(7401, 7409))
MESSAGES_EACH = 6
WAIT = 90.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[tuple[int, list[int]]]:
    """nginx running the repo's site file, its ports moved to free ones: (port, worker ports)."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(binary).exists():
        message = "nginx is not installed (apt-get install nginx; .ci/run installs it)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    port, workers = _free_port(), [_free_port() for _ in range(3)]
    site = SITE.read_text("utf-8")
    for default, chosen in zip((8081, 8082, 8083), workers, strict=True):
        site = site.replace(f"127.0.0.1:{default}", f"127.0.0.1:{chosen}")
    site = re.sub(r"listen 80;", f"listen 127.0.0.1:{port};", site)
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    (prefix / "site.conf").write_text(site, "utf-8")
    temp = {name: prefix / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    (prefix / "nginx.conf").write_text(
        f"""
daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
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
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert process.poll() is None, (prefix / "error.log").read_text()
            subprocess.run(["sleep", "0.05"], check=True)
        yield port, workers
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
async def stub() -> AsyncIterator[TelegramStub]:
    server = TelegramStub()
    await server.start()
    yield server
    await server.stop()


async def _open_updates(database_url: str) -> int:
    engine = create_engine(database_url)
    async with create_session_factory(engine)() as session:
        rows = await session.exec(select(InboxUpdate).where(col(InboxUpdate.done).is_(False)))
        count = len(rows.all())
    await engine.dispose()
    return count


async def test_three_workers_behind_nginx_lose_nothing_when_one_is_killed(
    nginx: tuple[int, list[int]],
    stub: TelegramStub,
    postgres_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    port, workers = nginx
    await _empty_database(postgres_url)
    env = environment(postgres_url, stub.url, REDIS_URL=redis_url, BOT_WEBHOOK_SECRET=SECRET)
    cli(["init"], env, REPO)
    url = f"http://127.0.0.1:{port}/tg"
    commands = [
        ["bot", "webhook", "--url", url, "--port", str(worker), "--secret", SECRET]
        for worker in workers
    ]
    logs = tmp_path / "logs"
    logs.mkdir()
    async with running(commands, env, logs, REPO) as processes:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT
        while not stub.state.webhook_url and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.1)
        assert stub.state.webhook_url == url, tail(logs)
        await asyncio.sleep(1.0)  # let every worker listen

        total = len(RESIDENTS) * MESSAGES_EACH
        for round_ in range(MESSAGES_EACH):
            for resident in RESIDENTS:
                await stub.user_message(resident, "/help")
            if round_ == MESSAGES_EACH // 2:
                os.killpg(processes[0].pid, signal.SIGKILL)  # one worker dies mid-stream
            await asyncio.sleep(0.05)

        def answered() -> int:
            return sum(len(stub.sent(resident)) for resident in RESIDENTS)

        while loop.time() < deadline and (  # noqa: ASYNC110 (other processes' progress)
            answered() < total or await _open_updates(postgres_url) > 0
        ):
            await asyncio.sleep(0.3)
        survivors = [p.returncode for p in processes[1:]]
        assert survivors == [None, None], tail(logs)

    per_resident = {resident: len(stub.sent(resident)) for resident in RESIDENTS}
    assert all(count >= MESSAGES_EACH for count in per_resident.values()), (
        f"lost: {per_resident}\n{tail(logs)}"
    )
    duplicated = sum(per_resident.values()) - total
    assert duplicated <= 3, f"{duplicated} updates were answered twice"
    assert await _open_updates(postgres_url) == 0
    retried = [d for d in stub.state.webhook_deliveries if d["outcome"] != 200]
    print(
        f"deliveries={len(stub.state.webhook_deliveries)} retried={len(retried)} dup={duplicated}"
    )
    assert all("帮助" in text or "综治" in text for r in RESIDENTS for text in stub.texts(r))
