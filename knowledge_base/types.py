"""Value types of the knowledge base: entries as loaded from content files, and search hits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# LawBench's 20 topic names (the benchmark's vocabulary) and the ones the county bot declines.
LAWBENCH_TOPICS: tuple[str, ...] = (
    "婚姻家庭", "劳动纠纷", "交通事故", "债权债务", "刑事辩护", "合同纠纷", "房产纠纷", "侵权",
    "公司法", "医疗纠纷", "拆迁安置", "行政诉讼", "建设工程", "知识产权", "综合咨询", "人身损害",
    "涉外法律", "海事海商", "消费权益", "抵押担保",
)  # fmt: skip
OUT_OF_SCOPE_TOPICS: tuple[str, ...] = ("刑事辩护", "公司法", "知识产权", "涉外法律", "海事海商")
IN_SCOPE_TOPICS: tuple[str, ...] = tuple(
    t for t in LAWBENCH_TOPICS if t not in OUT_OF_SCOPE_TOPICS
)

# Confidence bands of a legal question: a clear match is answered, a middle one is offered as
# "您想问的是不是", anything lower is declined (hand-off to a person).
ANSWER = "answer"
SUGGEST = "suggest"
DECLINE = "decline"


@dataclass(frozen=True)
class LawRef:
    """One cited law: short name (民法典), article numbers and the date of the version in force."""

    law: str
    articles: tuple[int, ...]
    version: str
    title: str = ""  # full title for display (judicial interpretations); defaults to ``law``

    def basis(self) -> str:
        """Readable form, e.g. 《民法典》第1076、1077条（2020年版）."""
        numbers = "、".join(str(n) for n in self.articles)
        year = f"（{self.version[:4]}年版）" if self.version else ""
        return f"《{self.title or self.law}》第{numbers}条{year}"


@dataclass(frozen=True)
class Entry:
    """One question-and-answer entry of a content file."""

    id: str
    question: str
    variants: tuple[str, ...]
    answer: str
    laws: tuple[LawRef, ...]
    topics: tuple[str, ...]
    reviewed: dt.date
    file_topic: str
    source: str
    related: tuple[str, ...] = ()
    dispute: bool = False
    category: str | None = None

    @property
    def law_names(self) -> list[str]:
        """Distinct short law names, in citation order."""
        return list(dict.fromkeys(ref.law for ref in self.laws))

    @property
    def basis(self) -> str:
        return "；".join(ref.basis() for ref in self.laws)


@dataclass(frozen=True)
class Hit:
    """One search result; ``score`` is the retrieval confidence (higher is better, 0..1) and
    ``band`` the confidence band of the whole result (answer or suggest)."""

    entry_id: str
    question: str
    answer: str
    topics: list[str]
    laws: list[str]
    score: float
    basis: str
    related: list[str] = field(default_factory=list)
    dispute: bool = False
    category: str | None = None
    band: str = ANSWER

    @classmethod
    def from_entry(cls, entry: Entry, score: float, band: str = ANSWER) -> Hit:
        return cls(
            entry_id=entry.id,
            question=entry.question,
            answer=entry.answer,
            topics=list(entry.topics),
            laws=entry.law_names,
            score=round(score, 4),
            basis=entry.basis,
            related=list(entry.related),
            dispute=entry.dispute,
            category=entry.category,
            band=band,
        )


@dataclass(frozen=True)
class Consultation:
    """What the knowledge base makes of a resident's message.

    ``kind``: chitchat (greetings, thanks, emoji …), offtopic (weather, recipes …), report (a
    problem for a department, not a legal question) or question. ``band`` is answer, suggest or
    decline (always decline unless a question). ``label`` names the class that decided a
    non-question (or the out-of-scope topic of a declined question, e.g. 公司法), ``pointer``
    where to send the resident instead ("" for nowhere), ``asked`` whether the message is
    phrased as a question. ``hits`` are empty unless answer or suggest.
    """

    kind: str
    band: str = DECLINE
    hits: list[Hit] = field(default_factory=list)
    label: str = ""
    pointer: str = ""
    asked: bool = False

    @property
    def is_question(self) -> bool:
        return self.kind == "question"
