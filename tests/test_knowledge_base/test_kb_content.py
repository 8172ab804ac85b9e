"""Validation of the packaged content: every rule of KB_FORMAT.md, checked entry by entry so a
failure names the file and the entry."""

from __future__ import annotations

import datetime as dt

import pytest

import knowledge_base
from knowledge_base import IN_SCOPE_TOPICS, Entry
from knowledge_base.loader import sentence_count
from knowledge_base.search import build_searcher

ENTRIES: list[Entry] = list(knowledge_base.load().entries)
WHERE_TO_GO = (
    "调委", "司法所", "12348", "法律援助", "法院", "12338", "12333", "12315", "110", "仲裁",
    "派出所", "妇联", "公证", "人社", "交警", "医调委", "政府", "村委会", "社区", "信访",
    "民政", "卫健", "市场监管", "住建", "农业农村", "自然资源", "专家",
)  # fmt: skip


def _ids(entries: list[Entry]) -> list[str]:
    return [f"{e.source}:{e.id}" for e in entries]


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_entry_fields_follow_the_format(entry: Entry) -> None:
    assert entry.question.strip()
    assert len(entry.variants) >= 4
    assert len(set(entry.variants)) == len(entry.variants), "duplicate variants"
    assert 3 <= sentence_count(entry.answer) <= 6
    assert 1 <= len(entry.topics) <= 2
    assert set(entry.topics) <= set(IN_SCOPE_TOPICS)
    assert entry.laws and all(ref.articles for ref in entry.laws)
    assert isinstance(entry.reviewed, dt.date)
    assert entry.reviewed <= dt.date.today() + dt.timedelta(days=1)


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_answer_says_where_to_go_next(entry: Entry) -> None:
    assert any(place in entry.answer for place in WHERE_TO_GO)


def test_related_ids_exist_and_do_not_point_to_themselves() -> None:
    ids = {e.id for e in ENTRIES}
    for entry in ENTRIES:
        assert set(entry.related) <= ids, entry.id
        assert entry.id not in entry.related, entry.id


def test_ids_are_unique_across_files() -> None:
    assert len({e.id for e in ENTRIES}) == len(ENTRIES)


def test_no_entry_question_trips_the_out_of_scope_lexicon() -> None:
    lexicon = build_searcher(knowledge_base.load()).lexicon
    tripped = [
        f"{e.id}: {text}"
        for e in ENTRIES
        for text in (e.question, *e.variants)
        if lexicon.out_of_scope(lexicon.normalize(text))
    ]
    assert tripped == []


def test_every_in_scope_topic_used_by_content_is_browsable() -> None:
    for topic in {t for e in ENTRIES for t in e.topics}:
        assert knowledge_base.entries_for_topic(topic)
