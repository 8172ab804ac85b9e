"""Fixtures for the case engine: units loaded from county data, people in roles, a fake classifier.

The classifier is replaced by a small table so these tests do not depend on keyword details.
"""

from __future__ import annotations

import sys
import types
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.county import load_county
from backend.db import create_engine
from backend.models import Person, Role, Unit
from backend.services import directory
from tests.fakes import FakeCategory, FakeClassification, taking_category

# Wednesday 2026-11-25 10:00 in 弥渡 (02:00 UTC): an ordinary working day.
T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


FAKE_RULES: list[tuple[str, FakeClassification]] = [
    ("欠薪", FakeClassification("hrss", "D08", "劳动争议", reasons=["关键词：欠薪"])),
    ("邻居", FakeClassification("township", "D04", "邻里纠纷", reasons=["关键词：邻居"])),
    (
        "拿刀",
        FakeClassification(
            "police", "D14", "损害赔偿", risk_level="red", risk_signals=["R1"], reasons=["拿刀"]
        ),
    ),
    ("上访", FakeClassification("petition", "D21", "信访", reasons=["关键词：上访"])),
]
FAKE_CATEGORIES = {
    "D08": FakeCategory("D08", "劳动争议", "Labour dispute", "hrss"),
    "D04": FakeCategory("D04", "邻里纠纷", "Neighbours", "township"),
    "D14": FakeCategory("D14", "损害赔偿", "Injury", "police"),
    "D21": FakeCategory("D21", "信访", "Petition", "petition"),
    "C10": FakeCategory("C10", "法律服务", "Legal services", "justice"),
}


def fake_classify(text: str) -> FakeClassification:
    for word, result in FAKE_RULES:
        if word in text:
            return result
    return FakeClassification(None, None, "", confidence=0.1, reasons=[])


_SCHEMA_READY: set[str] = set()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """Overrides the shared fixture with a faster reset on PostgreSQL.

    The schema is rebuilt once per test run (drop_all + create_all, so model changes are
    picked up); later tests only recreate missing tables and delete every row, which is ~30x
    faster than rebuilding the schema each time. SQLite gets a new file per test anyway.
    """
    eng = create_engine(database_url)
    async with eng.begin() as conn:
        if database_url.startswith("sqlite"):
            await conn.run_sync(SQLModel.metadata.create_all)
        elif database_url not in _SCHEMA_READY:
            await conn.run_sync(SQLModel.metadata.drop_all)
            await conn.run_sync(SQLModel.metadata.create_all)
            _SCHEMA_READY.add(database_url)
        else:
            await conn.run_sync(lambda sync: SQLModel.metadata.create_all(sync, checkfirst=True))
            for table in reversed(SQLModel.metadata.sorted_tables):
                await conn.execute(table.delete())
    yield eng
    await eng.dispose()


@pytest.fixture(autouse=True)
def fake_classifier(monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        import classifier
    except Exception:  # the classifier package is being written in parallel
        classifier = types.ModuleType("classifier")
        monkeypatch.setitem(sys.modules, "classifier", classifier)
    monkeypatch.setattr(
        classifier, "classify", taking_category(fake_classify, FAKE_CATEGORIES), raising=False
    )
    monkeypatch.setattr(classifier, "categories", lambda: FAKE_CATEGORIES, raising=False)


@dataclass
class World:
    """Units from county data and one person per role used by the tests."""

    factory: async_sessionmaker[AsyncSession]
    session: AsyncSession
    units: dict[str, Unit]
    people: dict[str, Person]
    next_tg: int = 1000

    async def person(
        self, name: str, role: Role, unit: str | None = None, *, commit: bool = True
    ) -> Person:
        self.next_tg += 1
        person = Person(
            telegram_id=self.next_tg,
            display_name=name,
            role=role,
            unit_id=self.units[unit].id if unit else None,
            township=self.units[unit].township if unit else None,
        )
        self.session.add(person)
        if commit:
            await self.session.commit()
        self.people[name] = person
        return person

    def __getitem__(self, name: str) -> Person:
        return self.people[name]


@pytest.fixture
async def world(session_factory: async_sessionmaker[AsyncSession], session: AsyncSession) -> World:
    await directory.sync_units(session=session, county=load_county())
    units = {u.code: u for u in (await session.exec(select(Unit))).all()}
    w = World(session_factory, session, units, {})
    await w.person("resident", Role.resident, commit=False)
    await w.person("neighbour", Role.resident, commit=False)
    await w.person("dispatcher", Role.dispatcher, "center", commit=False)
    await w.person("supervisor", Role.supervisor, commit=False)
    await w.person("hrss_staff", Role.staff, "hrss", commit=False)
    await w.person("hrss_staff2", Role.staff, "hrss", commit=False)
    await w.person("hrss_head", Role.unit_head, "hrss", commit=False)
    await w.person("police_staff", Role.staff, "police", commit=False)
    await w.person("justice_staff", Role.staff, "justice", commit=False)
    await w.person("housing_staff", Role.staff, "housing", commit=False)
    await w.person("grid", Role.grid_worker, commit=False)
    await w.person("micheng_staff", Role.staff, "township:弥城镇", commit=False)
    await session.commit()
    return w


Factory = Callable[..., Any]
