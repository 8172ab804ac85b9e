"""Grid-worker (网格员) task codes (DOMAIN.md §3.2), each mapped onto a routing category."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from .rules import DATA_DIR, RuleError, _check_keys, _Ctx, load_yaml

GROUPS = ("矛盾纠纷", "治安安全隐患", "服务民生")
HANDLING = ("办", "报", "办+报")
TIMING = ("即", "日", "周")


@dataclass(frozen=True)
class GridTask:
    """One task of the grid worker's list: what it is, how it is handled, which category."""

    code: str
    name_zh: str
    group: str
    category: str
    handling: str
    report_timing: str
    example: str = ""


_cache: dict[Path, tuple[GridTask, ...]] = {}
_lock = threading.Lock()


def load_grid_tasks(
    directory: str | Path | None = None, category_codes: set[str] | None = None
) -> tuple[GridTask, ...]:
    """Load grid_tasks.yaml from `directory`; categories are checked against `category_codes`."""
    path = Path(directory or DATA_DIR) / "grid_tasks.yaml"
    ctx = _Ctx(path)
    data = ctx.mapping(load_yaml(path), "the file")
    _check_keys(ctx, data, ["tasks"], "top level")
    raw = data.get("tasks")
    if not isinstance(raw, list) or not raw:
        raise ctx.error(data, "'tasks' must be a non-empty list")
    fields = ["code", "name_zh", "group", "category", "handling", "report_timing", "example"]
    tasks: list[GridTask] = []
    seen: set[str] = set()
    for entry in raw:
        entry = ctx.mapping(entry, "a task", raw)
        _check_keys(ctx, entry, fields, "task")
        task = GridTask(
            code=ctx.text(entry, "code", "task"),
            name_zh=ctx.text(entry, "name_zh", "task"),
            group=ctx.text(entry, "group", "task"),
            category=ctx.text(entry, "category", "task"),
            handling=ctx.text(entry, "handling", "task"),
            report_timing=ctx.text(entry, "report_timing", "task"),
            example=str(entry.get("example") or ""),
        )
        what = f"task {task.code}"
        if task.code in seen:
            raise ctx.error(entry, f"{what} is defined twice")
        seen.add(task.code)
        if task.group not in GROUPS:
            raise ctx.error(entry, f"{what}: group must be one of {GROUPS}")
        if task.handling not in HANDLING:
            raise ctx.error(entry, f"{what}: handling must be one of {HANDLING}")
        if task.report_timing not in TIMING:
            raise ctx.error(entry, f"{what}: report_timing must be one of {TIMING}")
        if category_codes is not None and task.category not in category_codes:
            raise ctx.error(entry, f"{what}: unknown category {task.category!r}")
        tasks.append(task)
    return tuple(tasks)


def _default_tasks() -> tuple[GridTask, ...]:
    if DATA_DIR not in _cache:
        with _lock:
            if DATA_DIR not in _cache:
                from . import categories

                _cache[DATA_DIR] = load_grid_tasks(DATA_DIR, set(categories()))
    return _cache[DATA_DIR]


def grid_tasks() -> list[GridTask]:
    """The grid worker's task list, in order (A 矛盾纠纷, B 治安安全隐患, C 服务民生)."""
    return list(_default_tasks())


def grid_task(code: str) -> GridTask | None:
    """One task by code (e.g. "A5"), or None if there is no such task."""
    code = code.strip().upper()
    return next((t for t in _default_tasks() if t.code == code), None)


__all__ = ["GridTask", "RuleError", "grid_task", "grid_tasks", "load_grid_tasks"]
