"""Every cited law and article exists in the statute texts of ../shared/laws (or the law is on
content/_external_laws.yaml with a reason)."""

from __future__ import annotations

import os

import pytest

import knowledge_base

from .lawtexts import LAWS_DIR, article, law_texts

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="module")
def laws() -> dict[str, dict[str, dict[int, str]]]:
    if not LAWS_DIR.is_dir():
        message = (
            f"statute texts not found at {LAWS_DIR.resolve()} (the shared/ folder beside the repo)"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return law_texts()


def test_law_texts_are_parsed(laws: dict[str, dict[str, dict[int, str]]]) -> None:
    assert "第一千零七十六条" in (article("民法典", 1076) or "")
    assert article("民间借贷规定", 25) is not None
    assert article("民法典婚姻家庭编解释（一）", 49) is not None


def test_every_cited_article_exists(laws: dict[str, dict[str, dict[int, str]]]) -> None:
    content = knowledge_base.load()
    problems = []
    for entry in content.entries:
        for ref in entry.laws:
            if ref.law in content.external_laws:
                continue
            if ref.law not in laws:
                problems.append(f"{entry.source}:{entry.id}: law 《{ref.law}》 not in shared/laws")
                continue
            for number in ref.articles:
                if article(ref.law, number, ref.version) is None:
                    problems.append(
                        f"{entry.source}:{entry.id}: 《{ref.law}》第{number}条 not found"
                    )
    assert problems == []


def test_external_laws_have_reasons_and_are_really_external(
    laws: dict[str, dict[str, dict[int, str]]],
) -> None:
    external = knowledge_base.load().external_laws
    for law, reason in external.items():
        assert reason.strip(), law
        assert law not in laws, f"{law} is in shared/laws; remove it from _external_laws.yaml"
