"""The loader rejects malformed content with errors that name the file and the entry."""

from __future__ import annotations

from pathlib import Path

import pytest

import knowledge_base
from knowledge_base import ContentError

GOOD_ENTRY = """\
  - id: {id}
    question: 借钱不还怎么办？
    variants: [借钱不还, 欠钱不还咋个整, 朋友借钱不还, 借出去的钱要不回来]
    answer: 第一句。第二句。第三句。
    laws:
      - law: 民法典
        articles: [675]
        version: "2020-05-28"
    topics: [债权债务]
    related: {related}
    reviewed: 2026-11-27
"""


def write(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def content_file(*entries: str, topic: str = "借贷") -> str:
    return f"topic: {topic}\nentries:\n" + "".join(entries)


def entry(entry_id: str = "debt-one", related: str = "[]", **replace: str) -> str:
    text = GOOD_ENTRY.format(id=entry_id, related=related)
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


def test_valid_folder_loads(tmp_path: Path) -> None:
    write(tmp_path, "debt.yaml", content_file(entry("debt-one"), entry("debt-two", "[debt-one]")))
    content = knowledge_base.load(tmp_path)
    assert [e.id for e in content.entries] == ["debt-one", "debt-two"]
    assert content.entries[1].related == ("debt-one",)
    assert content.entries[0].basis == "《民法典》第675条（2020年版）"
    assert content.topics == ("借贷",)


def test_underscore_files_are_skipped_but_external_laws_are_read(tmp_path: Path) -> None:
    write(tmp_path, "debt.yaml", content_file(entry()))
    write(tmp_path, "_draft.yaml", "this is: [not, valid")
    write(tmp_path, "_external_laws.yaml", "laws:\n  - law: 森林法\n    reason: 林权争议\n")
    content = knowledge_base.load(tmp_path)
    assert content.external_laws == {"森林法": "林权争议"}


def expect_error(tmp_path: Path, body: str, *fragments: str) -> None:
    write(tmp_path, "broken.yaml", body)
    with pytest.raises(ContentError) as info:
        knowledge_base.load(tmp_path)
    message = str(info.value)
    assert "broken.yaml" in message
    for fragment in fragments:
        assert fragment in message


def test_missing_required_field_names_file_and_entry(tmp_path: Path) -> None:
    body = content_file(entry(**{"    reviewed: 2026-11-27\n": ""}))
    expect_error(tmp_path, body, "debt-one", "reviewed")


def test_too_few_variants_is_rejected(tmp_path: Path) -> None:
    body = content_file(entry(**{", 借出去的钱要不回来": ""}))
    expect_error(tmp_path, body, "debt-one", "variants")


@pytest.mark.parametrize("answer", ["只有一句。", "一。二。三。四。五。六。七。"])
def test_answer_must_have_three_to_six_sentences(tmp_path: Path, answer: str) -> None:
    body = content_file(entry(**{"第一句。第二句。第三句。": answer}))
    expect_error(tmp_path, body, "debt-one", "sentences")


@pytest.mark.parametrize("topic", ["公司法", "借钱"])
def test_unknown_or_out_of_scope_topic_is_rejected(tmp_path: Path, topic: str) -> None:
    body = content_file(entry(**{"[债权债务]": f"[{topic}]"}))
    expect_error(tmp_path, body, "debt-one", topic)


def test_duplicate_ids_across_files_are_rejected(tmp_path: Path) -> None:
    write(tmp_path, "a_first.yaml", content_file(entry("debt-one")))
    expect_error(
        tmp_path, content_file(entry("debt-one")), "debt-one", "duplicate", "a_first.yaml"
    )


def test_unknown_related_id_is_rejected(tmp_path: Path) -> None:
    expect_error(tmp_path, content_file(entry(related="[no-such-entry]")), "no-such-entry")


def test_bad_article_numbers_are_rejected(tmp_path: Path) -> None:
    body = content_file(entry(**{"articles: [675]": "articles: [第六百七十五条]"}))
    expect_error(tmp_path, body, "debt-one", "articles")


def test_bad_id_is_rejected(tmp_path: Path) -> None:
    expect_error(tmp_path, content_file(entry("Debt One")), "kebab-case")


def test_invalid_yaml_is_reported_with_the_file_name(tmp_path: Path) -> None:
    expect_error(tmp_path, "topic: x\nentries: [\n", "not valid YAML")


def test_malformed_external_laws_file_is_rejected(tmp_path: Path) -> None:
    write(tmp_path, "debt.yaml", content_file(entry()))
    write(tmp_path, "_external_laws.yaml", "laws:\n  - law: 森林法\n")
    with pytest.raises(ContentError, match=r"_external_laws\.yaml"):
        knowledge_base.load(tmp_path)


def test_search_over_a_custom_folder(tmp_path: Path) -> None:
    write(tmp_path, "debt.yaml", content_file(entry()))
    searcher = knowledge_base.Searcher.from_folder(tmp_path)
    hits = searcher.search("朋友借钱不还怎么办")
    assert [h.entry_id for h in hits] == ["debt-one"]
    assert searcher.search("专利申请") == []


def test_packaged_content_has_a_hundred_entries_with_unique_ids() -> None:
    entries = knowledge_base.load().entries
    assert len(entries) >= 100
    assert len({e.id for e in entries}) == len(entries)


def test_basis_shows_full_titles_but_laws_keep_short_names() -> None:
    entry = knowledge_base.get_entry("marriage-bride-price-refund")
    assert entry is not None
    assert (
        "《最高人民法院关于审理涉彩礼纠纷案件适用法律若干问题的规定》第2、3、5、6条" in entry.basis
    )
    assert "涉彩礼纠纷规定" in entry.law_names


def test_command_line_check_reports_errors_and_success(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from knowledge_base.__main__ import main

    assert main(["check"]) == 0
    assert "ok:" in capsys.readouterr().out
    write(tmp_path, "broken.yaml", content_file(entry(related="[missing-id]")))
    assert main(["check", str(tmp_path)]) == 1
    assert "broken.yaml" in capsys.readouterr().err
