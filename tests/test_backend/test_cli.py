"""``python -m backend``: a real subprocess from a scratch folder on a temporary SQLite file,
plus the other commands called in-process (subprocesses are slow to start)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from backend.cli import main

REPO = Path(__file__).resolve().parents[2]
INVITE_CODE = re.compile(r"[A-Z2-9]{10}")


def run(args: list[str], cwd: Path, db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{db}", "PYTHONPATH": str(REPO)}
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "backend", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_init_twice_then_invite_prints_the_code_on_its_last_line(tmp_path: Path) -> None:
    folder, db = tmp_path / "anywhere", tmp_path / "cli.db"
    folder.mkdir()
    first = run(["init"], folder, db)
    assert first.returncode == 0, first.stderr
    assert "新建 31 个" in first.stdout  # 30 + the county's 退役军人事务局
    second = run(["init"], folder, db)
    assert second.returncode == 0, second.stderr
    assert "新建 0 个" in second.stdout
    invite = run(["invite", "--role", "staff", "--unit", "police"], folder, db)
    assert invite.returncode == 0, invite.stderr
    assert INVITE_CODE.fullmatch(invite.stdout.strip().splitlines()[-1])


@pytest.fixture
def initialised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "inproc.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    return db


def test_township_invite_cases_and_scan(
    initialised: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["invite", "--role", "unit_head", "--unit", "township:弥城镇"]) == 0
    assert INVITE_CODE.fullmatch(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["cases", "--status", "dispatched", "--limit", "5"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == "共 0 件。"
    assert main(["scan"]) == 0
    assert "黄色预警 0 件" in capsys.readouterr().out


def test_invite_for_an_unknown_unit_fails_with_a_clear_message(
    initialised: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invite", "--role", "staff", "--unit", "nowhere"]) == 1
    assert "nowhere" in capsys.readouterr().err


def test_commands_on_an_uninitialised_database_say_to_run_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    assert main(["cases"]) == 1
    assert "python -m backend init" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["init", "invite", "cases", "scan", "serve", "revoke-invite"])
def test_every_command_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert "usage: python -m backend" in capsys.readouterr().out
