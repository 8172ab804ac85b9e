"""Fixtures for the web tests: a seeded county, people of every role, cases, and a client."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.county import load_county
from backend.db import create_session_factory
from backend.models import Case, CaseStatus, Person, RiskLevel, Role, Unit
from backend.services import directory, web_auth
from backend.web import create_app
from tests.fakes import FakeCategory, FakeClassification, taking_category

API_KEYS = "key-one,key-two"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def web_settings(database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=None,
        database_url=database_url,
        web_secret_key="test-secret-key",  # type: ignore[arg-type]
        web_base_url="http://testserver",
        open311_api_keys=API_KEYS,
        web_login_ttl_minutes=10,
        web_session_hours=8,
    )


@dataclass
class World:
    settings: Settings
    factory: async_sessionmaker[AsyncSession]
    units: dict[str, Unit]
    people: dict[str, Person]
    cases: dict[str, Case]

    async def login(self, client: httpx.AsyncClient, who: str) -> str:
        """Sign ``who`` in with a fresh one-time link; returns the page's CSRF token."""
        async with self.factory() as session:
            person = await session.get(Person, self.people[who].id)
            assert person is not None
            url = await web_auth.create_login_link(
                session=session, person=person, settings=self.settings
            )
        response = await client.get(url.removeprefix("http://testserver"))
        assert response.status_code == 303, response.text
        page = await client.get("/search")
        match = CSRF_RE.search(page.text)
        assert match, page.text[:500]
        return match.group(1)

    async def case(self, code: str) -> Case:
        async with self.factory() as session:
            found = (await session.exec(select(Case).where(Case.code == code))).one()
            return found


async def add_person(
    session: AsyncSession, telegram_id: int, role: Role, unit: Unit | None, name: str
) -> Person:
    person = Person(
        telegram_id=telegram_id,
        role=role,
        unit_id=unit.id if unit else None,
        display_name=name,
    )
    session.add(person)
    await session.commit()
    await session.refresh(person)
    return person


def make_case(
    code: str,
    unit: Unit | None,
    *,
    status: CaseStatus = CaseStatus.dispatched,
    text: str = "邻居在路边堆放柴草，堵住了通道",
    category: str | None = "D04",
    department: str | None = "police",
    risk: RiskLevel = RiskLevel.yellow,
    township: str | None = "弥城镇",
    village: str | None = None,
    created_at: datetime | None = None,
    phone: str | None = "13812345678",
    **extra: object,
) -> Case:
    now = created_at or datetime.now(UTC) - timedelta(hours=2)
    return Case(
        code=code,
        text=text,
        category=category,
        department=department,
        lead_unit_id=unit.id if unit else None,
        risk_level=risk,
        township=township,
        village=village,
        contact_name="张三",
        contact_phone=phone,
        status=status,
        created_at=now,
        updated_at=now,
        dispatched_at=now if unit else None,
        accept_deadline=now + timedelta(days=1) if unit else None,
        classification={
            "department": department,
            "confidence": 0.82,
            "reasons": ["命中“柴草”“通道” → 邻里纠纷"],
        },
        **extra,  # type: ignore[arg-type]
    )


async def build_world(engine: AsyncEngine) -> World:
    factory = create_session_factory(engine)
    settings = web_settings(str(engine.url.render_as_string(hide_password=False)))
    county = load_county(settings.county_data)
    async with factory() as session:
        await directory.sync_units(session=session, county=county)
        units = {u.code: u for u in (await session.exec(select(Unit))).all()}
        people = {
            "dispatcher": await add_person(
                session, 1001, Role.dispatcher, units["center"], "调度员小李"
            ),
            "supervisor": await add_person(
                session, 1002, Role.supervisor, units["center"], "督办王主任"
            ),
            "admin": await add_person(session, 1003, Role.admin, units["center"], "管理员"),
            "police": await add_person(session, 2001, Role.staff, units["police"], "派出所民警"),
            "police_head": await add_person(
                session, 2002, Role.unit_head, units["police"], "所长"
            ),
            "court": await add_person(session, 3001, Role.staff, units["court"], "法院书记员"),
            "resident": await add_person(session, 9001, Role.resident, None, "村民"),
            "grid": await add_person(session, 9002, Role.grid_worker, None, "网格员"),
        }
        cases = {
            "police_new": make_case("MD20261127-0001", units["police"]),
            "court_new": make_case(
                "MD20261127-0002", units["court"], department="court", phone="13900001111"
            ),
            "triage": make_case(
                "MD20261127-0003",
                None,
                status=CaseStatus.triage,
                department=None,
                risk=RiskLevel.red,
                text="有人拿刀在村口闹事",
            ),
        }
        for case in cases.values():
            session.add(case)
        await session.commit()
        for case in cases.values():
            await session.refresh(case)
    return World(settings=settings, factory=factory, units=units, people=people, cases=cases)


@pytest.fixture
async def world(sqlite_engine: AsyncEngine) -> World:
    return await build_world(sqlite_engine)


@pytest.fixture
async def world_any(engine: AsyncEngine) -> World:
    """The same world on SQLite and on the real PostgreSQL."""
    return await build_world(engine)


async def _client(world: World, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(world.settings, engine=engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", follow_redirects=False
    ) as client:
        yield client


@pytest.fixture
async def client(world: World, sqlite_engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(world, sqlite_engine):
        yield c


@pytest.fixture
async def client_any(world_any: World, engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async for c in _client(world_any, engine):
        yield c


FAKE_CATEGORIES = {
    "D04": FakeCategory("D04", "邻里纠纷", "Neighbours", "township"),
    "D08": FakeCategory("D08", "劳动争议", "Labour dispute", "hrss"),
    "C7": FakeCategory("C7", "交通出行", "Roads and transport", "transport"),
}


def fake_classify(text: str) -> FakeClassification:
    if "欠薪" in text:
        return FakeClassification("hrss", "D08", "劳动争议", reasons=["关键词：欠薪 → 人社局"])
    if "路" in text:
        return FakeClassification("transport", "C7", "交通出行", reasons=["关键词：修路"])
    return FakeClassification(None, None, "", confidence=0.1, reasons=[])


@pytest.fixture
def fake_classifier(monkeypatch: pytest.MonkeyPatch) -> None:
    """A small fixed classifier, so these tests do not depend on the keyword rules."""
    import classifier

    monkeypatch.setattr(
        classifier, "classify", taking_category(fake_classify, FAKE_CATEGORIES), raising=False
    )
    monkeypatch.setattr(classifier, "categories", lambda: FAKE_CATEGORIES, raising=False)
