"""Dialect forms, traditional characters, full-width text and awkward input."""

from __future__ import annotations

import pytest

from classifier import classify, default_classifier
from classifier.engine import MAX_CHARS


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("着打了，头都破了", "D14"),  # 着 + V = passive
        ("着骗了五千块", "D22"),
        ("我想克法院告他，他欠钱不还", "D12"),  # 克 = 去
        ("老倌天天喝酒不管家，我要离婚", "D01"),  # 老倌 = husband
        ("做活路的工钱老板一直不给", "D08"),  # 做活路 = working
        ("我家包谷地被他家占了", "D06"),  # 包谷 = maize
    ],
)
def test_dialect_forms_are_understood(text: str, category: str) -> None:
    assert classify(text).category == category


def test_passive_zhe_is_rewritten_only_in_safe_contexts() -> None:
    engine = default_classifier()
    assert "被打" in engine.normalise("着打了")
    assert "被骗" in engine.normalise("我着骗了")
    assert engine.normalise("睡着了") == "睡着了"
    assert engine.normalise("看着打麻将") == "看着打麻将"
    assert engine.normalise("着急") == "着急"
    assert engine.normalise("克法院") == "去法院"
    assert engine.normalise("克服困难") == "克服困难"
    assert engine.normalise("家里不有米") == "家里没有米"


def test_traditional_characters_and_full_width_punctuation_are_normalised() -> None:
    simplified = classify("包工头拖欠工资，不给工钱！")
    traditional = classify("包工頭拖欠工資，不給工錢！")
    full_width = classify("包工头拖欠工资，不给工钱！！？")
    assert traditional.department == simplified.department == full_width.department == "hrss"
    engine = default_classifier()
    assert engine.normalise("ＡＢＣ１２３，。") == "ABC123,。"
    assert engine.normalise("離婚") == "离婚"


@pytest.mark.parametrize("text", ["", "   ", "\n\t  \u3000"])
def test_empty_or_whitespace_text_abstains_with_a_reason(text: str) -> None:
    result = classify(text)
    assert result.department is None
    assert result.category is None
    assert result.risk_level == "blue"
    assert any("empty" in r for r in result.reasons)


def test_emoji_only_text_abstains() -> None:
    result = classify("😀😡🙏🔥")
    assert result.department is None
    assert result.risk_level == "blue"
    assert result.reasons


def test_very_long_text_is_classified() -> None:
    text = ("隔壁邻居的房檐水滴到我家院子里。" * 700)[:10_000]
    result = classify(text)
    assert result.category == "D04"
    assert len(text) <= MAX_CHARS


def test_mixed_language_text_is_classified() -> None:
    result = classify("My boss 包工头 didn't pay 工资 for 3 months, 拖欠工资 please help")
    assert result.department == "hrss"


def test_unknown_words_abstain_to_human_triage() -> None:
    result = classify("你好")
    assert result.department in (None, "center")
    assert result.reasons


def test_non_string_input_is_rejected_clearly() -> None:
    with pytest.raises(TypeError):
        classify(None)  # type: ignore[arg-type]


def test_near_form_of_a_long_keyword_is_caught_in_a_short_report() -> None:
    # 挖地机 is a typo of 挖地基: the short report still reaches the neighbour-dispute desk
    result = classify("隔壁挖地机挖到我家")
    assert result.category == "D04"
    assert any("near-form" in r for r in result.reasons)
