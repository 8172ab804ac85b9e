"""`python -m backend serve` runs the dashboard and the API as a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_command_answers_pages_and_the_api(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'serve.db'}",
        "WEB_SECRET_KEY": "serve-test-secret",
    }
    env.pop("REDIS_URL", None)
    init = subprocess.run(
        [sys.executable, "-m", "backend", "init"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert init.returncode == 0, init.stderr
    server = subprocess.Popen(
        [sys.executable, "-m", "backend", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                root = httpx.get(base + "/", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "the server did not start in 60 s"
                time.sleep(0.3)
        assert root.status_code == 303 and root.headers["location"] == "/login"
        assert "/web" in httpx.get(base + "/login", timeout=5).text
        schema = httpx.get(base + "/openapi.json", timeout=5).json()
        assert "/open311/v2/requests.json" in schema["paths"]
        requests = httpx.get(base + "/open311/v2/requests.json", timeout=5)
        assert requests.status_code == 200 and requests.json() == []
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
        if server.stdout:
            server.stdout.close()
