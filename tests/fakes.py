"""Stand-ins for the classifier's results, so service and desk tests do not depend on keywords."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FakeClassification:
    department: str | None
    category: str | None
    category_name: str
    confidence: float = 0.9
    risk_level: str = "yellow"
    risk_signals: list[str] = field(default_factory=list)
    joint_departments: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


@dataclass
class FakeCategory:
    code: str
    name_zh: str
    name_en: str
    department: str
    joint_departments: list[str] = field(default_factory=list)
