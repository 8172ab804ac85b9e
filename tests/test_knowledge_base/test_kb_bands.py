"""Confidence bands: what may be answered directly (knowledge_base.search.Searcher.consult)."""

from __future__ import annotations

import pytest

import knowledge_base
from knowledge_base import ANSWER, SUGGEST
from knowledge_base.search import CALIBRATION_FEATURES, build_searcher


@pytest.mark.parametrize(
    "text",
    [
        "排水沟的水今天又流进我家院子了",
        "上次反映的MD20260001说已经处理了，可是排水沟的水今天又流进我家院子了。",
    ],
)
def test_a_statement_with_no_legal_word_is_offered_never_answered(text: str) -> None:
    # it may be a report as much as a question: the bot offers the report flow beside it
    result = knowledge_base.consult(text)
    assert result.is_question and not result.asked
    assert result.band == SUGGEST and result.hits


def test_a_question_worded_like_an_entry_is_answered_directly() -> None:
    entry = knowledge_base.get_entry("debt-loan-default-jail")
    assert entry is not None
    assert knowledge_base.consult(entry.question).band == ANSWER
    # a variant another entry fits as well (贷款逾期…起诉我) is a choice; the rest are answered
    bands = [knowledge_base.consult(text).band for text in entry.variants]
    assert bands.count(ANSWER) >= 0.75 * len(bands)


def test_closer_wording_means_a_higher_probability() -> None:
    searcher = build_searcher(knowledge_base.load())
    entry = searcher.by_id["debt-loan-default-jail"]
    close = searcher.probability(entry.question)
    loose = searcher.probability("欠了钱没还上，这个事情麻烦吗")
    assert close is not None and (loose is None or close > loose)


def test_the_calibration_uses_the_documented_features() -> None:
    searcher = build_searcher(knowledge_base.load())
    assert len(searcher.calibration.weights) == len(CALIBRATION_FEATURES)
    assert "variant_match" in CALIBRATION_FEATURES and "topic_agreement" in CALIBRATION_FEATURES
