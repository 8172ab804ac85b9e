"""Grid-worker task codes map onto categories, and the classifier agrees with the pick."""

from __future__ import annotations

import pytest

import classifier
from classifier import grid_task, grid_tasks

TASKS = grid_tasks()


def test_task_list_has_the_three_groups_and_known_codes() -> None:
    groups = {t.group for t in TASKS}
    assert groups == {"矛盾纠纷", "治安安全隐患", "服务民生"}
    codes = {t.code for t in TASKS}
    assert {"A5", "B19", "C14"} <= codes
    assert len(codes) == len(TASKS)


def test_grid_task_lookup() -> None:
    task = grid_task("A5")
    assert task is not None
    assert task.handling == "报" and task.report_timing == "即"
    assert grid_task("b19") == grid_task("B19")
    assert grid_task("Z99") is None


def test_every_task_names_a_known_category_and_valid_handling() -> None:
    cats = classifier.categories()
    for task in TASKS:
        assert task.category in cats, task.code
        assert task.handling in ("办", "报", "办+报")
        assert task.report_timing in ("即", "日", "周")


@pytest.mark.parametrize("task", [t for t in TASKS if t.example], ids=lambda t: t.code)
def test_typical_text_for_a_task_classifies_to_its_category_or_department(task) -> None:  # type: ignore[no-untyped-def]
    result = classifier.classify(task.example)
    cat = classifier.categories()[task.category]
    agrees = result.category == task.category or result.department == cat.department
    agrees = agrees or cat.department in result.joint_departments
    assert agrees, (task.code, task.example, result)
