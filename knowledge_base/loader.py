"""Load and validate the content files (``content/*.yaml``) and the retrieval data files.

Every problem is reported as a ContentError naming the file and, where there is one, the entry id,
so that a county editor can fix a file without reading code.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge_base.types import IN_SCOPE_TOPICS, Entry, LawRef

PACKAGE_DIR = Path(__file__).resolve().parent
CONTENT_DIR = PACKAGE_DIR / "content"
DATA_DIR = PACKAGE_DIR / "data"
EXTERNAL_LAWS_FILE = "_external_laws.yaml"

MIN_VARIANTS = 4
MIN_SENTENCES, MAX_SENTENCES = 3, 6
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SENTENCE_END = re.compile(r"[。！？!?]+")
_ENTRY_KEYS = {
    "id", "question", "variants", "answer", "laws", "topics", "category", "dispute", "related",
    "reviewed",
}  # fmt: skip
_REQUIRED = ("id", "question", "variants", "answer", "laws", "topics", "reviewed")


class ContentError(ValueError):
    """A content or data file is malformed; the message names the file and the entry."""

    def __init__(self, file: Path | str, message: str, entry_id: str | None = None) -> None:
        self.file = str(file)
        self.entry_id = entry_id
        where = f"{Path(file).name}" + (f", entry '{entry_id}'" if entry_id else "")
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Content:
    """Everything loaded from one content folder."""

    entries: tuple[Entry, ...]
    external_laws: dict[str, str]
    topics: tuple[str, ...]

    def by_id(self) -> dict[str, Entry]:
        return {entry.id: entry for entry in self.entries}


def sentence_count(text: str) -> int:
    return len([part for part in _SENTENCE_END.split(text) if part.strip()])


class _UniqueKeyLoader(yaml.SafeLoader):
    """A safe loader that refuses a key given twice in one mapping (YAML would keep the last
    silently, so a second ``0.9: [...]`` list of weighted cues would drop the first)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_yaml(path: Path, *, unique_keys: bool = False) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.load(fh, Loader=_UniqueKeyLoader) if unique_keys else yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise ContentError(path, f"not valid YAML: {exc}") from None
    except OSError as exc:
        raise ContentError(path, f"cannot be read: {exc}") from None


# White space next to a Chinese character or full-width punctuation is a YAML line fold, not a
# word break: "……。 下一句" must read "……。下一句".
_CJK = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_FOLD_SPACE = re.compile(rf"(?<=[{_CJK}])\s+|\s+(?=[{_CJK}])")


def fold_text(value: str) -> str:
    """Collapse YAML folding white space the way Chinese text is written."""
    return _FOLD_SPACE.sub("", " ".join(value.split()))


def _text(path: Path, entry_id: str | None, raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ContentError(path, f"'{key}' must be a non-empty text", entry_id)
    return fold_text(value)


def _laws(path: Path, entry_id: str, raw: Any, titles: dict[str, str]) -> tuple[LawRef, ...]:
    if not isinstance(raw, list) or not raw:
        raise ContentError(
            path, "'laws' must be a non-empty list of {law, articles, version}", entry_id
        )
    refs = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("law"), str) or not item["law"]:
            raise ContentError(path, f"each law needs a 'law' name, got {item!r}", entry_id)
        articles = item.get("articles")
        if (
            not isinstance(articles, list)
            or not articles
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in articles)
        ):
            raise ContentError(
                path,
                f"law '{item['law']}': 'articles' must be a list of article numbers",
                entry_id,
            )
        version = item.get("version")
        if isinstance(version, dt.date):
            version = version.isoformat()
        if not isinstance(version, str) or not re.match(r"^\d{4}(-\d{2}-\d{2})?$", version):
            raise ContentError(
                path,
                f"law '{item['law']}': 'version' must be a date like \"2020-05-28\"",
                entry_id,
            )
        law = item["law"].strip("《》 ")
        refs.append(LawRef(law, tuple(articles), version, titles.get(law, "")))
    return tuple(refs)


def _entry(path: Path, file_topic: str, raw: Any, index: int, titles: dict[str, str]) -> Entry:
    if not isinstance(raw, dict):
        raise ContentError(path, f"entry #{index + 1} is not a mapping")
    entry_id = raw.get("id")
    if not isinstance(entry_id, str) or not _ID.match(entry_id):
        raise ContentError(
            path, f"entry #{index + 1}: 'id' must be ascii kebab-case, got {entry_id!r}"
        )
    missing = [key for key in _REQUIRED if raw.get(key) in (None, "", [])]
    if missing:
        raise ContentError(path, f"missing required field(s): {', '.join(missing)}", entry_id)
    unknown = sorted(set(raw) - _ENTRY_KEYS)
    if unknown:
        raise ContentError(path, f"unknown field(s): {', '.join(unknown)}", entry_id)
    variants = raw["variants"]
    if not isinstance(variants, list) or not all(
        isinstance(v, str) and v.strip() for v in variants
    ):
        raise ContentError(path, "'variants' must be a list of texts", entry_id)
    if len(variants) < MIN_VARIANTS:
        raise ContentError(
            path, f"needs at least {MIN_VARIANTS} variants, has {len(variants)}", entry_id
        )
    answer = _text(path, entry_id, raw, "answer")
    sentences = sentence_count(answer)
    if not MIN_SENTENCES <= sentences <= MAX_SENTENCES:
        raise ContentError(
            path,
            f"answer must have {MIN_SENTENCES}–{MAX_SENTENCES} sentences, has {sentences}",
            entry_id,
        )
    topics = raw["topics"]
    if not isinstance(topics, list) or not 1 <= len(topics) <= 2:
        raise ContentError(path, "'topics' must list 1 or 2 topic names", entry_id)
    bad = [t for t in topics if t not in IN_SCOPE_TOPICS]
    if bad:
        raise ContentError(
            path,
            f"unknown or out-of-scope topic(s) {bad}; use: {' '.join(IN_SCOPE_TOPICS)}",
            entry_id,
        )
    reviewed = raw["reviewed"]
    if isinstance(reviewed, str):
        try:
            reviewed = dt.date.fromisoformat(reviewed)
        except ValueError:
            reviewed = None
    if not isinstance(reviewed, dt.date):
        raise ContentError(path, "'reviewed' must be a date like 2026-11-27", entry_id)
    related = raw.get("related") or []
    if not isinstance(related, list) or not all(isinstance(r, str) for r in related):
        raise ContentError(path, "'related' must be a list of entry ids", entry_id)
    dispute = raw.get("dispute", False)
    if not isinstance(dispute, bool):
        raise ContentError(path, "'dispute' must be true or false", entry_id)
    category = raw.get("category")
    if category is not None and not isinstance(category, str):
        raise ContentError(path, "'category' must be a category code such as D01", entry_id)
    return Entry(
        id=entry_id,
        question=_text(path, entry_id, raw, "question"),
        variants=tuple(fold_text(v) for v in variants),
        answer=answer,
        laws=_laws(path, entry_id, raw["laws"], titles),
        topics=tuple(topics),
        reviewed=reviewed,
        file_topic=file_topic,
        source=path.name,
        related=tuple(related),
        dispute=dispute,
        category=category,
    )


def _external_laws(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    raw = _read_yaml(path) or {}
    items = raw.get("laws") if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise ContentError(path, "expected 'laws:' with a list of {law, reason}")
    result = {}
    for item in items:
        if not isinstance(item, dict) or not item.get("law") or not item.get("reason"):
            raise ContentError(path, f"each item needs 'law' and 'reason', got {item!r}")
        result[str(item["law"])] = str(item["reason"])
    return result


def load_content(content_dir: Path | str | None = None) -> Content:
    """Load every ``*.yaml`` in the folder (except ``_``-prefixed helpers) and validate it all."""
    folder = Path(content_dir) if content_dir is not None else CONTENT_DIR
    if not folder.is_dir():
        raise ContentError(folder, "content folder not found")
    titles = law_titles()
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    topics: list[str] = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        raw = _read_yaml(path)
        if not isinstance(raw, dict) or not isinstance(raw.get("entries"), list):
            raise ContentError(path, "expected a mapping with 'topic:' and an 'entries:' list")
        file_topic = raw.get("topic")
        if not isinstance(file_topic, str) or not file_topic.strip():
            raise ContentError(path, "'topic' (the file's main topic) is missing")
        topics.append(file_topic.strip())
        for index, item in enumerate(raw["entries"]):
            entry = _entry(path, file_topic.strip(), item, index, titles)
            if entry.id in seen:
                raise ContentError(path, f"duplicate id (also in {seen[entry.id]})", entry.id)
            seen[entry.id] = path.name
            entries.append(entry)
    if not entries:
        raise ContentError(folder, "no entries found")
    for entry in entries:
        unknown = [r for r in entry.related if r not in seen]
        if unknown:
            raise ContentError(entry.source, f"related id(s) not found: {unknown}", entry.id)
    external = _external_laws(folder / EXTERNAL_LAWS_FILE)
    return Content(tuple(entries), external, tuple(dict.fromkeys(topics)))


def load_data_file(name: str) -> dict[str, Any]:
    """A retrieval data file from ``data/`` (synonyms, out-of-scope lexicon, stop words)."""
    path = DATA_DIR / name
    raw = _read_yaml(path, unique_keys=True)
    if not isinstance(raw, dict):
        raise ContentError(path, "expected a mapping at the top level")
    return raw


def law_titles() -> dict[str, str]:
    """Short law name → full title for display (``data/law_titles.yaml``)."""
    raw = load_data_file("law_titles.yaml").get("titles") or {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise ContentError(DATA_DIR / "law_titles.yaml", "'titles' must map short names to titles")
    return {str(k): v for k, v in raw.items()}
