"""Fixtures for the legal-consultation conversation: a dispatcher per test over a fresh schema,
a MockedBot, and a small fixed knowledge base (the real one is exercised in test_real_kb.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from aiogram import Dispatcher
from aiogram.fsm.storage.memory import MemoryStorage
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.county import load_county
from backend.db import create_session_factory
from backend.services import directory
from bot.factory import create_dispatcher
from knowledge_base import ANSWER, DECLINE, SUGGEST, Consultation, Entry, Hit, LawRef
from knowledge_base.intent import QUESTION, IntentDetector
from knowledge_base.loader import load_data_file
from tests.mocked_bot import MockedBot
from tests.tg import TgUser

USER_ID = 501


def _entry(
    entry_id: str,
    question: str,
    answer: str,
    *,
    topic: str,
    laws: tuple[LawRef, ...],
    related: tuple[str, ...] = (),
    dispute: bool = False,
    category: str | None = None,
) -> Entry:
    return Entry(
        id=entry_id,
        question=question,
        variants=(),
        answer=answer,
        laws=laws,
        topics=("婚姻家庭",),
        reviewed=dt.date(2026, 11, 27),
        file_topic=topic,
        source="test.yaml",
        related=related,
        dispute=dispute,
        category=category,
    )


CIVIL_CODE = "2020-05-28"
ENTRIES = (
    _entry(
        "fam-child-support",
        "离婚后孩子的抚养费怎么算？",
        "抚养费一般按月给付，有固定收入的按月总收入的百分之二十至三十确定。",
        topic="婚姻家庭",
        laws=(LawRef("民法典", (1085,), CIVIL_CODE),),
        related=("fam-custody", "fam-divorce-court"),
    ),
    _entry(
        "fam-custody",
        "离婚后孩子归哪个？",
        "不满两周岁的子女，以由母亲直接抚养为原则；已满八周岁的，应当尊重其真实意愿。",
        topic="婚姻家庭",
        laws=(LawRef("民法典", (1084,), CIVIL_CODE),),
        related=("fam-child-support",),
    ),
    _entry(
        "fam-divorce-court",
        "怎么到法院起诉离婚？",
        "协议不成的，可以向被告住所地的基层人民法院起诉离婚，法院会先行调解。",
        topic="婚姻家庭",
        laws=(LawRef("民法典", (1079,), CIVIL_CODE),),
    ),
    _entry(
        "nb-land-occupied",
        "邻居占了我的地怎么办？",
        "先找村调委调解；权属清楚的，可以请求停止侵害、排除妨碍；调解不成可以向法院起诉。",
        topic="相邻关系",
        laws=(LawRef("民法典", (288, 291), CIVIL_CODE),),
        dispute=True,
        category="D05",
    ),
)

# question text → entry ids returned by search, best first (anything else → [] = not confident)
ANSWERS: dict[str, tuple[str, ...]] = {
    "离婚了孩子的抚养费咋个算？": ("fam-child-support", "fam-custody"),
    "离婚抚养费": ("fam-child-support",),
    "邻居占了我家的地咋个整": ("nb-land-occupied",),
    "<b>孩子</b>抚养费？": ("fam-child-support",),
}
SCORES = {"离婚抚养费": 0.9}
# question text → candidates of the middle band ("您想问的是不是")
SUGGESTIONS: dict[str, tuple[str, ...]] = {
    "孩子的事情想问问": ("fam-child-support", "fam-custody"),
}


class FakeKnowledge:
    """A deterministic stand-in for the knowledge_base package (same four functions)."""

    def __init__(self) -> None:
        self.by_id = {e.id: e for e in ENTRIES}
        self.searches: list[str] = []
        self.intents = IntentDetector(load_data_file("intents.yaml"))

    def search(self, question: str, limit: int = 3) -> list[Hit]:
        self.searches.append(question)
        key = question if question in ANSWERS else question[:20]
        ids = ANSWERS.get(key, ())
        score = SCORES.get(question, 0.6)
        return [Hit.from_entry(self.by_id[i], score - n * 0.1) for n, i in enumerate(ids)][:limit]

    def consult(self, question: str, limit: int = 3) -> Consultation:
        """The real intent classes (data/intents.yaml), then the fixed answers and suggestions."""
        intent = self.intents.detect(question.lower())
        if intent.kind != QUESTION:
            return Consultation(
                intent.kind, label=intent.label, pointer=intent.pointer, asked=intent.asked
            )
        if question in SUGGESTIONS:
            hits = [
                Hit.from_entry(self.by_id[i], 0.4 - n * 0.1, SUGGEST)
                for n, i in enumerate(SUGGESTIONS[question])
            ]
            return Consultation(QUESTION, SUGGEST, hits[:limit], asked=intent.asked)
        hits = self.search(question, limit)
        return Consultation(QUESTION, ANSWER if hits else DECLINE, hits, asked=intent.asked)

    def get_entry(self, entry_id: str) -> Entry | None:
        return self.by_id.get(entry_id)

    def topics(self) -> list[str]:
        return list(dict.fromkeys(e.file_topic for e in ENTRIES))

    def entries_for_topic(self, topic: str) -> list[Entry]:
        return [e for e in ENTRIES if e.file_topic == topic]


@pytest.fixture
def fake_kb() -> FakeKnowledge:
    return FakeKnowledge()


async def _prepare(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    factory = create_session_factory(engine)
    async with factory() as session:
        await directory.sync_units(session=session, county=load_county())
    return factory


def _dispatcher(
    url: str, factory: async_sessionmaker[AsyncSession], knowledge: object | None
) -> Dispatcher:
    settings = Settings(database_url=url, redis_url=None, bot_token=None)
    extra = {"legal_knowledge": knowledge} if knowledge is not None else {}
    return create_dispatcher(settings, session_factory=factory, storage=MemoryStorage(), **extra)


@pytest.fixture
async def factory(sqlite_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """SQLite only: the conversation tests; hand-off tests use both databases (test_handoff)."""
    return await _prepare(sqlite_engine)


@pytest.fixture
async def dp(
    sqlite_url: str, factory: async_sessionmaker[AsyncSession], fake_kb: FakeKnowledge
) -> AsyncIterator[Dispatcher]:
    dispatcher = _dispatcher(sqlite_url, factory, fake_kb)
    yield dispatcher
    await dispatcher.storage.close()


@pytest.fixture
async def bot() -> AsyncIterator[MockedBot]:
    mocked = MockedBot()
    yield mocked
    await mocked.session.close()


@pytest.fixture
def user(dp: Dispatcher, bot: MockedBot) -> TgUser:
    return TgUser(dp, bot, USER_ID)


@pytest.fixture
async def any_db_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Runs on SQLite and on the real PostgreSQL (the ``engine`` fixture is parametrized)."""
    return await _prepare(engine)


@pytest.fixture
async def any_db_user(
    database_url: str,
    any_db_factory: async_sessionmaker[AsyncSession],
    fake_kb: FakeKnowledge,
    bot: MockedBot,
) -> AsyncIterator[TgUser]:
    dispatcher = _dispatcher(database_url, any_db_factory, fake_kb)
    yield TgUser(dispatcher, bot, USER_ID)
    await dispatcher.storage.close()


@pytest.fixture
async def real_user(
    sqlite_url: str, factory: async_sessionmaker[AsyncSession], bot: MockedBot
) -> AsyncIterator[TgUser]:
    """A user talking to the bot with the real, packaged knowledge base."""
    dispatcher = _dispatcher(sqlite_url, factory, None)
    yield TgUser(dispatcher, bot, USER_ID)
    await dispatcher.storage.close()
