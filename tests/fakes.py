"""Stand-ins for the classifier's results, so service and desk tests do not depend on keywords."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace


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


def taking_category(
    classify: Callable[[str], FakeClassification], categories: Mapping[str, FakeCategory]
) -> Callable[..., FakeClassification]:
    """A fake classify(text) that also takes the reporter's category, as the real one does."""

    def classify_with(text: str, category: str | None = None) -> FakeClassification:
        result = classify(text)
        if category is None:
            return result
        import classifier

        # the categories a test has patched in (``classifier.categories``) count too
        chosen = categories.get(category) or classifier.categories()[category]
        return replace(
            result,
            category=category,
            category_name=chosen.name_zh,
            department=chosen.department,
            confidence=1.0,
        )

    return classify_with
