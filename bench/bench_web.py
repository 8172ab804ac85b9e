"""Benchmark (not a test): response time of the center's board and the 研判 statistics page
with 50,000 cases in the database, on SQLite and on PostgreSQL.

    python bench/bench_web.py                         # SQLite file in a temp folder
    python bench/bench_web.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/bench_web

The cases (with ratings and return/reopen events) are bulk-inserted directly; the pages are
requested in-process through the ASGI app (httpx), signed in as a supervisor, after a warm-up.
Prints median and p95 per page. The database given is wiped first.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel, select

import backend.models  # noqa: F401
from backend.config import Settings
from backend.county import load_county
from backend.db import create_engine, create_session_factory
from backend.models import Case, CaseEvent, Person, Rating, Role, Unit
from backend.services import directory, web_auth
from backend.web import create_app

STATUSES = [
    ("closed", 50),
    ("resolved", 8),
    ("accepted", 15),
    ("dispatched", 12),
    ("triage", 3),
    ("returned", 2),
    ("reopened", 2),
    ("grid_resolved", 8),
]
RISKS = [("blue", 40), ("yellow", 45), ("orange", 12), ("red", 3)]
SCORES = ["satisfied", "satisfied", "satisfied", "basically_satisfied", "unsatisfied"]


def pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


async def seed(engine: AsyncEngine, count: int, now: datetime) -> int:
    """Fresh schema, county units, a supervisor, ``count`` cases; returns the supervisor's id."""
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.drop_all)
        await conn.run_sync(SQLModel.metadata.create_all)
    county = load_county()
    factory = create_session_factory(engine)
    async with factory() as session:
        await directory.sync_units(session=session, county=county)
        units = list((await session.exec(select(Unit))).all())
        center = next(u for u in units if u.code == "center")
        supervisor = Person(
            telegram_id=1, role=Role.supervisor, unit_id=center.id, display_name="督办"
        )
        session.add(supervisor)
        staff = [
            Person(telegram_id=100 + i, role=Role.staff, unit_id=u.id, display_name=f"staff{i}")
            for i, u in enumerate(units)
        ]
        session.add_all(staff)
        await session.commit()
        await session.refresh(supervisor)
        for person in staff:
            await session.refresh(person)
    staff_by_unit = {p.unit_id: p.id for p in staff}
    rng = random.Random(20261127)
    categories = list(county.categories) or ["D04"]
    townships = county.townships
    working_units = [u for u in units if u.code != "center"]
    cases: list[dict[str, Any]] = []
    for n in range(count):
        created = now - timedelta(minutes=rng.randint(0, 365 * 24 * 60))
        status = pick(rng, STATUSES)
        unit = rng.choice(working_units) if status != "triage" else None
        township = rng.choice(list(townships))
        dispatched = created + timedelta(minutes=5) if unit else None
        accepted = (
            dispatched + timedelta(hours=rng.randint(1, 40))
            if dispatched and status not in ("dispatched", "triage", "returned")
            else None
        )
        resolved = (
            accepted + timedelta(days=rng.randint(1, 20))
            if accepted and status in ("resolved", "closed", "reopened")
            else None
        )
        cases.append(
            {
                "code": f"MD{created:%Y%m%d}-{n:05d}",
                "text": f"第{n}号测试反映：邻居占用通道，多次协商未果",
                "category": rng.choice(categories),
                "department": unit.department if unit else None,
                "lead_unit_id": unit.id if unit else None,
                "risk_level": pick(rng, RISKS),
                "risk_signals": [],
                "classification": {"reasons": ["bench"]},
                "township": township,
                "village": rng.choice(townships[township]) if townships[township] else None,
                "anonymous": False,
                "phone_visible": False,
                "channel": "telegram",
                "status": status,
                "return_count": 0,
                "reopen_count": 1 if status == "reopened" else 0,
                "extension_count": 0,
                "reporter_count": 1,
                "accept_warning": "",
                "handle_warning": "",
                "created_at": created,
                "updated_at": created,
                "dispatched_at": dispatched,
                "accepted_at": accepted,
                "resolved_at": resolved,
                "accept_deadline": dispatched + timedelta(days=1) if dispatched else None,
                "handle_deadline": accepted + timedelta(days=15) if accepted else None,
                "extension_requested_until": (
                    now + timedelta(days=5)
                    if status == "accepted" and rng.random() < 0.05
                    else None
                ),
            }
        )
    async with engine.begin() as conn:
        for start in range(0, len(cases), 5000):
            await conn.execute(insert(Case.__table__), cases[start : start + 5000])  # type: ignore[attr-defined]
        rows = (await conn.execute(text('SELECT id, lead_unit_id, code FROM "case"'))).all()
        created_at = {c["code"]: c["created_at"] for c in cases}
        ids = [row[0] for row in rows]
        leads = {row[0]: row[1] for row in rows}
        codes = {row[0]: row[2] for row in rows}
        ratings = []
        events = []
        for case_id in ids:
            when = created_at[codes[case_id]]
            if rng.random() < 0.4:
                ratings.append(
                    {
                        "case_id": case_id,
                        "score": rng.choice(SCORES),
                        "created_at": when + timedelta(days=3),
                    }
                )
            lead = leads[case_id]
            if lead is not None and rng.random() < 0.08:
                events.append(
                    {
                        "case_id": case_id,
                        "actor_id": staff_by_unit.get(lead),
                        "actor_role": "staff",
                        "action": "return",
                        "from_status": "dispatched",
                        "to_status": "returned",
                        "payload": {},
                        "created_at": when + timedelta(hours=2),
                    }
                )
            if lead is not None and rng.random() < 0.03:
                events.append(
                    {
                        "case_id": case_id,
                        "actor_id": None,
                        "actor_role": "resident",
                        "action": "rate",
                        "from_status": "resolved",
                        "to_status": "reopened",
                        "payload": {},
                        "created_at": when + timedelta(days=4),
                    }
                )
        for start in range(0, len(ratings), 5000):
            await conn.execute(insert(Rating.__table__), ratings[start : start + 5000])  # type: ignore[attr-defined]
        for start in range(0, len(events), 5000):
            await conn.execute(insert(CaseEvent.__table__), events[start : start + 5000])  # type: ignore[attr-defined]
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("COMMIT"))
            await conn.execute(text("ANALYZE"))
        else:
            await conn.execute(text("ANALYZE"))
    assert supervisor.id is not None
    return supervisor.id


async def measure(
    client: httpx.AsyncClient, path: str, repeat: int, warmup: int = 3
) -> tuple[float, float, int]:
    for _ in range(warmup):
        response = await client.get(path)
        response.raise_for_status()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = await client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, len(response.content)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--database-url", default=None, help="default: a SQLite file in a temp folder"
    )
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the data already in --database-url (no seeding)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        engine = create_engine(url)
        now = datetime.now(UTC)
        started = time.perf_counter()
        if args.reuse:
            async with create_session_factory(engine)() as session:
                found = (await session.exec(select(Person).where(Person.telegram_id == 1))).one()
                assert found.id is not None
                supervisor_id = found.id
        else:
            supervisor_id = await seed(engine, args.cases, now)
            seconds = time.perf_counter() - started
            print(f"{engine.dialect.name}: seeded {args.cases} cases in {seconds:.1f} s")
        settings = Settings(_env_file=None, database_url=url, web_base_url="http://bench")
        app = create_app(settings, engine=engine)
        factory = create_session_factory(engine)
        async with factory() as session:
            person = await session.get(Person, supervisor_id)
            assert person is not None
            link = await web_auth.create_login_link(
                session=session, person=person, settings=settings
            )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            login = await client.get(link.removeprefix("http://bench"))
            assert login.status_code == 303, login.text
            today = now.date()
            year_ago = today - timedelta(days=366)
            pages = {
                "board /": "/",
                "stats, last 4 weeks": "/stats",
                "stats, whole year": f"/stats?start={year_ago}&end={today}",
                "unit queue (center, all open)": "/queue",
            }
            for label, path in pages.items():
                median, p95, size = await measure(client, path, args.repeat)
                print(
                    f"{engine.dialect.name:10s} {label:32s} median {median:7.1f} ms"
                    f"   p95 {p95:7.1f} ms   ({size // 1024} KiB)"
                )
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
