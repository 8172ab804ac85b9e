"""Free legal consultation knowledge base: FAQ content as data files, and retrieval.

    search(question, limit=3) -> list[Hit]   # [] = not confident: hand off to a person
    consult(question) -> Consultation        # chit-chat / off-topic / report / question + band
    probability(question) -> float | None    # calibrated chance the best hit is right
    asks(text) -> bool                       # phrased as a question (question word or 吗/？)
    get_entry(entry_id) -> Entry | None
    topics() -> list[str]                    # the content files' topics, for browsing
    entries_for_topic(topic) -> list[Entry]
    load(content_dir=None) -> Content        # load and validate (raises ContentError)
    preload()                                # build the index at startup (optional)

Content is loaded lazily on the first call and the index is immutable afterwards (thread-safe).
"""

from __future__ import annotations

import threading
from pathlib import Path

from knowledge_base.loader import Content, ContentError, load_content
from knowledge_base.search import Searcher, Thresholds, build_searcher
from knowledge_base.types import (
    ANSWER,
    DECLINE,
    IN_SCOPE_TOPICS,
    LAWBENCH_TOPICS,
    OUT_OF_SCOPE_TOPICS,
    SUGGEST,
    Consultation,
    Entry,
    Hit,
    LawRef,
)

__all__ = [
    "ANSWER",
    "DECLINE",
    "IN_SCOPE_TOPICS",
    "LAWBENCH_TOPICS",
    "OUT_OF_SCOPE_TOPICS",
    "SUGGEST",
    "Consultation",
    "Content",
    "ContentError",
    "Entry",
    "Hit",
    "LawRef",
    "Searcher",
    "Thresholds",
    "asks",
    "consult",
    "entries_for_topic",
    "get_entry",
    "load",
    "preload",
    "probability",
    "search",
    "topics",
]

_lock = threading.Lock()
_searcher: Searcher | None = None


def load(content_dir: Path | str | None = None) -> Content:
    """Load and validate a content folder (default: the packaged one) without indexing it."""
    return load_content(content_dir)


def _default() -> Searcher:
    global _searcher
    searcher = _searcher
    if searcher is None:
        with _lock:
            if _searcher is None:
                _searcher = build_searcher(load_content())
            searcher = _searcher
    return searcher


def preload() -> None:
    """Load and index the content now (a few seconds) instead of on the first question."""
    _default()


def search(question: str, limit: int = 3) -> list[Hit]:
    """Best-matching entries for a resident's question; [] when not confident or out of scope."""
    return _default().search(question, limit)


def consult(question: str, limit: int = 3) -> Consultation:
    """What a message is (chit-chat, off-topic, report, question) and, for a question, its
    confidence band (answer, suggest, decline) with up to ``limit`` hits."""
    return _default().consult(question, limit)


def probability(question: str) -> float | None:
    """Calibrated probability that the best hit is right (None: nothing matched); for editors."""
    return _default().probability(question)


def asks(text: str) -> bool:
    """True for a message phrased as a question (a question word, or 吗/？ at the end)."""
    searcher = _default()
    return searcher.intents.asked(searcher.lexicon.normalize(text))


def get_entry(entry_id: str) -> Entry | None:
    return _default().by_id.get(entry_id)


def topics() -> list[str]:
    """Browse headings: the main topic of each content file, in file order."""
    return list(_default().content.topics)


def entries_for_topic(topic: str) -> list[Entry]:
    """Entries of a browse heading (file topic) or tagged with that LawBench topic."""
    return [e for e in _default().entries if e.file_topic == topic or topic in e.topics]
