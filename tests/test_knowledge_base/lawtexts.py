"""Parse ../shared/laws/*.md into {short law name: {version: {article number: text}}}.

Used by the citation test. File names look like ``社会法_劳动合同法(2012-12-28).md``; the short
name follows the benchmark's normalisation (民间借贷规定, 民法典婚姻家庭编解释（一） …); all
``民法典_*.md`` parts form one law 民法典.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

LAWS_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "laws"

_DIGITS = {
    "零": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_ARTICLE = re.compile(
    r"^[\s\u200b\ufeff]*第([零一二三四五六七八九十百千两]+)条(?:之[一二三四五六七八九])?[\s\u3000]"
)
_VERSION = re.compile(r"\((\d{4}-\d{2}-\d{2})\)$")
_SPECIAL = {
    "行政复议法2023": ("行政复议法", "2023-09-01"),
    "行政诉讼法2017": ("行政诉讼法", "2017-06-27"),
}


def chinese_to_int(text: str) -> int:
    """一千零七十六 -> 1076; 十二 -> 12."""
    total, digit = 0, 0
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        else:
            total += (digit or 1) * _UNITS[ch]
            digit = 0
    return total + digit


def short_name(stem: str) -> tuple[str, str]:
    """(short law name, version date or "") for a file stem."""
    version_match = _VERSION.search(stem)
    version = version_match.group(1) if version_match else ""
    name = _VERSION.sub("", stem)
    if name.startswith("民法典_"):
        return "民法典", "2020-05-28"
    if "_" in name:
        name = name.split("_")[-1]
    if name in _SPECIAL:
        return _SPECIAL[name]
    name = name.replace("《民法典》", "民法典").replace("《", "").replace("》", "")
    if name.startswith("最高人民法院关于"):
        name = name.removeprefix("最高人民法院关于").removeprefix("适用")
        for token in ("人民法院", "适用法律", "审理", "案件", "处理"):
            name = name.replace(token, "")
        name = re.sub(r"若干(?:问题)?的?", "", name).replace("问题的", "")
        name = re.sub(r"的(规定|解释)((?:（[一二三]）)?)$", r"\1\2", name)
    return name, version


def parse_articles(path: Path) -> dict[int, str]:
    articles: dict[int, str] = {}
    current: int | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = _ARTICLE.match(line + " ")
        if match:
            current = chinese_to_int(match.group(1))
            articles.setdefault(current, "")
        if current is not None and not line.startswith("#"):
            articles[current] += line.strip() + "\n"
    return articles


@cache
def law_texts() -> dict[str, dict[str, dict[int, str]]]:
    laws: dict[str, dict[str, dict[int, str]]] = {}
    for path in sorted(LAWS_DIR.glob("*.md")):
        if path.name == "README.md" or "__index" in path.name:
            continue
        name, version = short_name(path.stem)
        laws.setdefault(name, {}).setdefault(version, {}).update(parse_articles(path))
    return laws


def article(law: str, number: int, version: str | None = None) -> str | None:
    """The text of one article, or None if the law or the article is not in the folder."""
    versions = law_texts().get(law)
    if not versions:
        return None
    if version and version in versions and number in versions[version]:
        return versions[version][number]
    for texts in versions.values():
        if number in texts:
            return texts[number]
    return None


if __name__ == "__main__":  # reading aid: python lawtexts.py 民法典 1076 1077
    import sys

    for num in sys.argv[2:]:
        print(f"== {sys.argv[1]} 第{num}条:\n{article(sys.argv[1], int(num))}")
