"""The danger model in risk.yaml is validated at load time: errors name the file and the line,
and a county's edit (a new word, a new combination) takes effect without touching code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from classifier import RuleError, load_classifier
from classifier.rules import DATA_DIR


@pytest.fixture
def risk_file(tmp_path: Path) -> Path:
    for path in DATA_DIR.iterdir():
        if path.suffix in (".yaml", ".csv", ".txt"):
            shutil.copy(path, tmp_path / path.name)
    return tmp_path / "risk.yaml"


def _edit(path: Path, old: str, new: str) -> int:
    """Replace the first `old` and return the line it is on."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


def _error(path: Path) -> str:
    with pytest.raises(RuleError) as err:
        load_classifier(path.parent)
    return str(err.value)


def test_a_combination_naming_an_unknown_concept_is_refused_with_its_line(
    risk_file: Path,
) -> None:
    line = _edit(risk_file, "    when: [gas, leak]", "    when: [gas, leeks]")
    message = _error(risk_file)
    assert f"risk.yaml:{line}:" in message
    assert "unknown concept 'leeks'" in message


def test_a_combination_with_a_bad_level_is_refused(risk_file: Path) -> None:
    _edit(risk_file, "    name: 燃气泄漏\n    level: red", "    name: 燃气泄漏\n    level: pink")
    assert "level must be red or orange" in _error(risk_file)


def test_a_concept_without_words_is_refused_with_its_line(risk_file: Path) -> None:
    line = _edit(risk_file, "  leak:\n    words: [", "  leak:\n    wordz: [") + 1
    message = _error(risk_file)
    assert f"risk.yaml:{line}:" in message
    assert "unknown field 'wordz'" in message


def test_a_dampener_naming_an_unknown_code_is_refused(risk_file: Path) -> None:
    _edit(risk_file, "    spares: [K05,", "    spares: [K999,")
    assert "unknown signal or combination 'K999'" in _error(risk_file)


def test_a_bad_window_is_refused(risk_file: Path) -> None:
    _edit(risk_file, "window: 50", "window: -3")
    assert "window must be a whole number" in _error(risk_file)


def test_a_county_can_add_a_word_to_a_concept_without_code(risk_file: Path) -> None:
    text = "屋头那个罐罐在呲呲响，煤气"
    assert load_classifier(risk_file.parent).assess_risk(text).level != "red"
    _edit(risk_file, "  leak:\n    words: [", "  leak:\n    words: [呲呲响, ")
    assert load_classifier(risk_file.parent).assess_risk(text).level == "red"


def test_a_county_can_add_a_combination(risk_file: Path) -> None:
    text = "野象进村了，就在寨子边上"
    assert load_classifier(risk_file.parent).assess_risk(text).level != "red"
    text_yaml = risk_file.read_text(encoding="utf-8")
    text_yaml += (
        "  K900:\n    name: 野象进村\n    level: red\n    when: [beast, below]\n"
        "    department: emergency\n"
    )
    risk_file.write_text(text_yaml, encoding="utf-8")
    result = load_classifier(risk_file.parent).assess_risk(text)
    assert result.level == "red"
    assert any(s.startswith("K900 野象进村") for s in result.signals)


def test_a_bad_within_is_refused(risk_file: Path) -> None:
    _edit(risk_file, "    within: 20", "    within: zero")
    assert "within must be a whole number" in _error(risk_file)
