"""Routing classifier: text → department, category, risk level, with readable reasons.

Pure library (no database, network or Telegram). Rules are YAML files in classifier/data/
that a county admin edits; `load_rules(directory)` validates them with clear errors.

    >>> from classifier import classify
    >>> classify("包工头欠了我们三个月工钱").department
    'hrss'
"""

from __future__ import annotations

import threading
from pathlib import Path

from .engine import Classification, Engine, RiskAssessment
from .grid import GridTask, grid_task, grid_tasks
from .rules import Category, RuleError, RuleSet, load_rules

__all__ = [
    "Category",
    "Classification",
    "Classifier",
    "GridTask",
    "RiskAssessment",
    "RuleError",
    "RuleSet",
    "assess_risk",
    "categories",
    "classify",
    "grid_task",
    "grid_tasks",
    "load_classifier",
    "load_rules",
]

Classifier = Engine
_default: Engine | None = None
_lock = threading.Lock()


def load_classifier(directory: str | Path | None = None) -> Engine:
    """A classifier built from the rule files in `directory` (default: the shipped rules).

    Raises RuleError naming the file and line when a rule file is wrong. Used by tests and by the
    web admin's "test this text" box to try edited rules before they go live.
    """
    return Engine(load_rules(directory))


def default_classifier() -> Engine:
    """The shared classifier for the shipped rules (built once, thread-safe)."""
    global _default
    if _default is None:
        with _lock:
            if _default is None:
                _default = load_classifier()
    return _default


def classify(text: str, category: str | None = None) -> Classification:
    """Route one report. `department` None means: send to the center's human triage window.

    `category`: a category code the reporter picked (类别不对？换一个); the risk is then
    recomputed from the text and that category. Unknown codes raise ValueError.
    """
    return default_classifier().classify(text, category)


def assess_risk(text: str, category: str | None = None) -> RiskAssessment:
    """How dangerous one text is (red | orange | yellow | blue), without routing it.

    Cheap enough to call on every message a person sends (one normalisation and two automaton
    passes). Red and orange agree with `classify(text).risk_level`; below that the floor is blue
    unless `category` is given.
    """
    return default_classifier().assess_risk(text, category)


def categories() -> dict[str, Category]:
    """Every category classify() can return, by code (for pickers and time profiles)."""
    return dict(default_classifier().categories)
