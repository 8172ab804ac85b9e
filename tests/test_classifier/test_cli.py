"""The command line: explain one text, route a CSV file, clear errors."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "classifier", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_explain_prints_decision_and_reasons() -> None:
    proc = _run("explain", "包工头欠了我们三个月工钱")
    assert proc.returncode == 0, proc.stderr
    assert "hrss" in proc.stdout
    assert "D08" in proc.stdout
    assert "reasons" in proc.stdout


def test_route_adds_decision_columns_to_a_csv(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    with source.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["id", "text"])
        writer.writerow(["1", "包工头拖欠工资"])
        writer.writerow(["2", "村口有人正在打架，拿刀砍人"])
        writer.writerow(["3", ""])
    out = tmp_path / "out.csv"
    proc = _run("route", "--input", str(source), "--output", str(out))
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["id"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["department"] == "hrss"
    assert rows[1]["risk_level"] == "red"
    assert rows[2]["department"] == "center"
    assert {"department", "category", "confidence", "risk_level", "reasons"} <= set(rows[0])


def test_route_reports_missing_column_clearly(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("id,body\n1,hello\n", encoding="utf-8")
    proc = _run("route", "--input", str(source), "--output", str(tmp_path / "o.csv"))
    assert proc.returncode == 2
    assert "no column 'text'" in proc.stderr


def test_route_reports_missing_file_clearly(tmp_path: Path) -> None:
    proc = _run("route", "--input", str(tmp_path / "nope.csv"), "--output", "x.csv")
    assert proc.returncode == 2
    assert "not found" in proc.stderr


def test_help_is_available_for_each_command() -> None:
    for args in (["--help"], ["explain", "--help"], ["route", "--help"]):
        proc = _run(*args)
        assert proc.returncode == 0
        assert "usage" in proc.stdout


def test_bad_rule_directory_gives_a_clear_error(tmp_path: Path) -> None:
    proc = _run("--rules", str(tmp_path), "explain", "测试")
    assert proc.returncode == 2
    assert "rule file not found" in proc.stderr
