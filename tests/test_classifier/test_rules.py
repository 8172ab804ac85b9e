"""Rule files are validated at load time with messages naming the file and the line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from classifier import RuleError, load_classifier, load_rules
from classifier.rules import DATA_DIR


@pytest.fixture
def rule_dir(tmp_path: Path) -> Path:
    for path in DATA_DIR.iterdir():
        if path.suffix in (".yaml", ".csv"):
            shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_shipped_rules_load() -> None:
    rules = load_rules()
    assert "D08" in rules.categories
    assert rules.keywords["D08"].strong


def test_alternative_rule_directory_changes_routing(rule_dir: Path) -> None:
    _replace(rule_dir / "keywords.yaml", "strong: [拖欠工资,", "strong: [火星欠薪, 拖欠工资,")
    engine = load_classifier(rule_dir)
    assert engine.classify("火星欠薪").department == "hrss"


def test_yaml_syntax_error_names_file_and_line(rule_dir: Path) -> None:
    path = rule_dir / "keywords.yaml"
    _replace(path, "D02:\n  strong: [赡养,", "D02:\n  strong: [赡养,, ]]")
    with pytest.raises(RuleError) as err:
        load_rules(rule_dir)
    message = str(err.value)
    assert "keywords.yaml:" in message
    assert "syntax" in message
    line = int(message.split("keywords.yaml:")[1].split(":")[0])
    assert abs(line - _line_of(path, "D02:")) <= 2


def test_unknown_department_names_file_line_and_value(rule_dir: Path) -> None:
    path = rule_dir / "categories.yaml"
    _replace(path, "department: hrss, joint: [housing]", "department: hrs, joint: [housing]")
    with pytest.raises(RuleError) as err:
        load_rules(rule_dir)
    message = str(err.value)
    assert f"categories.yaml:{_line_of(path, 'department: hrs,')}:" in message
    assert "'hrs'" in message


def test_unknown_field_is_rejected(rule_dir: Path) -> None:
    path = rule_dir / "risk.yaml"
    _replace(path, "    name: 自杀、自伤\n", "    name: 自杀、自伤\n    colour: red\n")
    with pytest.raises(RuleError) as err:
        load_rules(rule_dir)
    assert f"risk.yaml:{_line_of(path, 'colour: red')}:" in str(err.value)
    assert "colour" in str(err.value)


def test_keywords_for_unknown_category_are_rejected(rule_dir: Path) -> None:
    path = rule_dir / "keywords.yaml"
    _replace(path, "D01:\n", "D99:\n  strong: [测试]\n\nD01:\n")
    with pytest.raises(RuleError) as err:
        load_rules(rule_dir)
    assert f"keywords.yaml:{_line_of(path, 'D99:')}:" in str(err.value)


def test_bad_phrase_and_empty_word_are_rejected(rule_dir: Path) -> None:
    path = rule_dir / "keywords.yaml"
    _replace(path, "phrases: [欠薪+包工头,", "phrases: [欠薪+,")
    with pytest.raises(RuleError, match=r"keywords\.yaml:\d+: D08\.phrases"):
        load_rules(rule_dir)


def test_dialect_rule_with_bad_context_is_rejected(rule_dir: Path) -> None:
    _replace(rule_dir / "dialect.yaml", "not_preceded_by: [看,", "not_preceded_by: [看着,")
    with pytest.raises(RuleError, match=r"dialect\.yaml:\d+: .*single characters"):
        load_rules(rule_dir)


def test_missing_file_and_directory_are_reported(rule_dir: Path, tmp_path: Path) -> None:
    (rule_dir / "risk.yaml").unlink()
    with pytest.raises(RuleError, match=r"risk\.yaml: rule file not found"):
        load_rules(rule_dir)
    with pytest.raises(RuleError, match="rule directory not found"):
        load_rules(tmp_path / "nope")


def test_bad_weight_in_the_terms_csv_names_file_and_line(rule_dir: Path) -> None:
    path = rule_dir / "department_terms.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[3].split(",")
    cells[1] = "abc"
    lines[3] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"department_terms\.csv:4: weight of .* not a number"):
        load_rules(rule_dir)


def test_unknown_department_in_the_terms_csv_header_is_rejected(rule_dir: Path) -> None:
    path = rule_dir / "department_terms.csv"
    path.write_text("word,housing,pollice\n小区,1.0,0.5\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"department_terms\.csv:1: unknown department 'pollice'"):
        load_rules(rule_dir)
