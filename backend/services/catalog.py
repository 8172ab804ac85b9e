"""Read-only choice lists for transports: report categories and the grid-worker task list.

Both come from the classifier's data (``classifier.categories()``, ``classifier.grid_tasks()``);
this module turns them into plain records so the bot never imports the classifier itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

GRID_GROUPS = {"A": "矛盾纠纷", "B": "治安安全隐患", "C": "服务民生"}
GRID_GROUPS_EN = {"A": "Disputes", "B": "Safety hazards", "C": "Livelihood services"}


@dataclass(frozen=True)
class CategoryChoice:
    code: str
    name_zh: str
    name_en: str
    department: str | None


@dataclass(frozen=True)
class GridTaskChoice:
    code: str  # e.g. "A5"
    group: str  # "A" | "B" | "C"
    name_zh: str
    name_en: str
    category: str | None  # the report category the task maps onto
    report_now: bool  # 报(即): must be reported at once


def _field(item: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        value = item.get(name) if isinstance(item, dict) else getattr(item, name, None)
        if value not in (None, ""):
            return value
    return default


def _items(source: Any) -> Iterable[tuple[str | None, Any]]:
    if isinstance(source, dict):
        return source.items()
    return ((None, item) for item in source)


def categories() -> list[CategoryChoice]:
    """Every category a resident or dispatcher may pick, in the classifier's order."""
    try:
        import classifier

        source = classifier.categories()
    except (ImportError, AttributeError):
        return []
    result = []
    for key, item in _items(source):
        code = str(_field(item, "code", default=key))
        name_zh = str(_field(item, "name_zh", "name", default=code))
        result.append(
            CategoryChoice(
                code=code,
                name_zh=name_zh,
                name_en=str(_field(item, "name_en", default=name_zh)),
                department=_field(item, "department", "lead_department"),
            )
        )
    return result


def grid_tasks() -> list[GridTaskChoice]:
    """The grid-worker task list (矛盾纠纷 / 治安安全隐患 / 服务民生)."""
    try:
        import classifier

        source = classifier.grid_tasks()
    except (ImportError, AttributeError):
        return []
    result = []
    for key, item in _items(source):
        code = str(_field(item, "code", default=key))
        group = str(_field(item, "group_code", default=code[:1])).upper()[:1]
        if group not in GRID_GROUPS:
            group = {v: k for k, v in GRID_GROUPS.items()}.get(str(_field(item, "group")), "A")
        name_zh = str(_field(item, "name_zh", "name", "title", default=code))
        report = str(_field(item, "report_timing", "report", "timing", default=""))
        result.append(
            GridTaskChoice(
                code=code,
                group=group,
                name_zh=name_zh,
                name_en=str(_field(item, "name_en", default=name_zh)),
                category=_field(item, "category", "category_code"),
                report_now=bool(_field(item, "report_now", "immediate", default=False))
                or "即" in report,
            )
        )
    return result
