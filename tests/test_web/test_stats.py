"""研判 statistics against a hand-computed fixture (SQLite and PostgreSQL), and the exports."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from openpyxl import load_workbook

from backend.county import load_county
from backend.models import CaseEvent, CaseStatus, Rating, RatingScore, RiskLevel
from backend.services import stats
from tests.test_web.conftest import World, make_case

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, tzinfo=UTC)
START, END = date(2026, 11, 2), date(2026, 11, 15)


def local(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


async def seed(world: World) -> None:
    police, court = world.units["police"], world.units["court"]
    rows = [
        make_case(
            "MD20261102-0001",
            police,
            category="D04",
            village="西山村",
            risk=RiskLevel.red,
            created_at=local(11, 2, 10),
            status=CaseStatus.closed,
            accepted_at=local(11, 2, 11),
            resolved_at=local(11, 4, 9),
            handle_deadline=local(11, 5, 18),
        ),
        make_case(
            "MD20261103-0001",
            police,
            category="D04",
            village="西山村",
            created_at=local(11, 3, 9),
            status=CaseStatus.reopened,
            accepted_at=local(11, 5, 9),
            resolved_at=local(11, 12, 9),
            handle_deadline=local(11, 10, 18),
        ),
        make_case(
            "MD20261106-0001",
            police,
            category="D04",
            village="西山村",
            created_at=local(11, 6, 15),
        ),
        make_case(
            "MD20261110-0001",
            court,
            category="D01",
            department="court",
            township="红岩镇",
            village="八家村",
            risk=RiskLevel.blue,
            created_at=local(11, 10, 8),
            status=CaseStatus.accepted,
            accepted_at=local(11, 10, 9),
            handle_deadline=local(11, 30, 18),
        ),
        make_case(
            "MD20261114-0001",
            None,
            category=None,
            department=None,
            township=None,
            risk=RiskLevel.orange,
            created_at=local(11, 14, 20),
            status=CaseStatus.triage,
        ),
        make_case(
            "MD20261115-0001",
            court,
            category="D01",
            department="court",
            township="红岩镇",
            village="八家村",
            risk=RiskLevel.blue,
            created_at=local(11, 15, 23, 30),
        ),
        # outside the period (local dates 11-16 and 11-01, although the UTC dates are inside)
        make_case("MD20261116-0001", police, created_at=local(11, 16, 1)),
        make_case("MD20261101-0001", police, created_at=local(11, 1, 23, 30)),
    ]
    # accept deadlines, by hand: 0001 on time, 1103 late, 1106 passed, 1110 on time, 1115 passed
    deadlines = {
        "MD20261102-0001": local(11, 2, 12),
        "MD20261103-0001": local(11, 4, 9),
        "MD20261106-0001": local(11, 7, 15),
        "MD20261110-0001": local(11, 11, 8),
        "MD20261115-0001": local(11, 17, 9),
    }
    async with world.factory() as session:
        for case in rows:
            case.accept_deadline = deadlines.get(case.code)
            session.add(case)
        await session.commit()
        ids = {case.code: case.id for case in rows}
        for code, score in [
            ("MD20261102-0001", RatingScore.satisfied),
            ("MD20261103-0001", RatingScore.unsatisfied),
            ("MD20261110-0001", RatingScore.basically_satisfied),
            ("MD20261116-0001", RatingScore.satisfied),
        ]:
            session.add(Rating(case_id=ids[code], score=score, created_at=NOW))
        police_staff, court_staff = world.people["police"].id, world.people["court"].id
        session.add_all(
            [
                CaseEvent(
                    case_id=ids["MD20261106-0001"],
                    actor_id=police_staff,
                    actor_role="staff",
                    action="return",
                    from_status="dispatched",
                    to_status="returned",
                    created_at=local(11, 8, 10),
                ),
                CaseEvent(
                    case_id=ids["MD20261110-0001"],
                    actor_id=court_staff,
                    actor_role="staff",
                    action="return",
                    from_status="dispatched",
                    to_status="returned",
                    created_at=local(11, 16, 10),
                ),
                CaseEvent(
                    case_id=ids["MD20261103-0001"],
                    actor_role="resident",
                    action="rate",
                    from_status="resolved",
                    to_status="reopened",
                    created_at=local(11, 13, 10),
                ),
            ]
        )
        await session.commit()


async def report(world: World, **kwargs: int) -> stats.StatsReport:
    async with world.factory() as session:
        return await stats.compute_stats(
            session=session,
            county=load_county(),
            start=START,
            end=END,
            tz="Asia/Shanghai",
            now=NOW,
            **kwargs,
        )


async def test_statistics_match_the_hand_computed_figures(world_any: World) -> None:
    await seed(world_any)
    r = await report(world_any)
    assert r.total == 6
    assert {(row.key, row.count) for row in r.by_category} == {("D04", 3), ("D01", 2), ("", 1)}
    assert {(row.key, row.count) for row in r.by_department} == {
        ("police", 3),
        ("court", 2),
        ("", 1),
    }
    assert r.by_department[0].label == "县公安局"
    assert {(row.key, row.count) for row in r.by_township} == {
        ("弥城镇", 3),
        ("红岩镇", 2),
        ("", 1),
    }
    assert [(row.key, row.count) for row in r.by_risk] == [
        ("red", 1),
        ("orange", 1),
        ("yellow", 2),
        ("blue", 2),
    ]
    assert r.weekly == [(date(2026, 11, 2), 3), (date(2026, 11, 9), 3)]
    assert (r.accept_on_time.numerator, r.accept_on_time.denominator) == (2, 5)
    assert (r.handle_on_time.numerator, r.handle_on_time.denominator) == (1, 2)
    assert (r.satisfaction.numerator, r.satisfaction.denominator) == (2, 3)
    assert r.satisfaction.percent == "66.7%"
    units = {u.unit: (u.cases, u.returns, u.reopenings) for u in r.per_unit}
    assert units == {"县公安局": (3, 1, 1), "县人民法院": (2, 0, 0)}
    assert len(r.hotspots) == 1
    spot = r.hotspots[0]
    assert (spot.township, spot.village, spot.category, spot.count) == (
        "弥城镇",
        "西山村",
        "D04",
        3,
    )
    assert spot.codes == ("MD20261102-0001", "MD20261103-0001", "MD20261106-0001")


async def test_hotspot_window_and_threshold_are_respected(world: World) -> None:
    await seed(world)
    assert (await report(world, hotspot_days=3)).hotspots == []
    two = await report(world, hotspot_days=3, hotspot_min=2)
    assert [(h.village, h.count) for h in two.hotspots] == [("西山村", 2)]
    wide = await report(world, hotspot_days=10, hotspot_min=2)
    assert {(h.village, h.count) for h in wide.hotspots} == {("西山村", 3), ("八家村", 2)}


async def test_empty_period_has_no_rates(world: World) -> None:
    async with world.factory() as session:
        r = await stats.compute_stats(
            session=session,
            county=load_county(),
            start=date(2020, 1, 1),
            end=date(2020, 1, 31),
            tz="Asia/Shanghai",
            now=NOW,
        )
    assert r.total == 0 and r.satisfaction.value is None and r.satisfaction.percent == "—"
    assert len(r.weekly) == 5


async def test_excel_export_opens_with_one_sheet_per_table(
    client: httpx.AsyncClient, world: World
) -> None:
    await seed(world)
    await world.login(client, "supervisor")
    response = await client.get("/stats/export.xlsx?start=2026-11-02&end=2026-11-15")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[0] == "说明"
    titles = book.sheetnames[1:]
    assert titles[:6] == ["概况", "按类别", "按部门", "按乡镇", "按风险等级", "每周趋势"]
    assert len(titles) == 8
    category = {row[0]: row[1] for row in book["按类别"].iter_rows(min_row=2, values_only=True)}
    assert category["D04" if "D04" in category else next(iter(category))] == 3
    assert sum(category.values()) == 6
    summary = list(book["概况"].iter_rows(min_row=2, values_only=True))
    assert summary[0][:2] == ("受理总数", 6)
    hotspots = list(book[titles[7]].iter_rows(min_row=2, values_only=True))
    assert hotspots[0][:4] == ("弥城镇", "西山村", hotspots[0][2], 3)


@pytest.mark.parametrize("table", ["township", "units", "weekly"])
async def test_csv_export_of_each_table(
    client: httpx.AsyncClient, world: World, table: str
) -> None:
    await seed(world)
    await world.login(client, "dispatcher")
    response = await client.get(f"/stats/export.csv?table={table}&start=2026-11-02&end=2026-11-15")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    expected = {
        "township": [["乡镇", "件数"], ["弥城镇", "3"], ["红岩镇", "2"], ["（未填）", "1"]],
        "units": [
            ["单位", "主办件数", "退单次数", "重办次数"],
            ["县公安局", "3", "1", "1"],
            ["县人民法院", "2", "0", "0"],
        ],
        "weekly": [["周起始日", "件数"], ["2026-11-02", "3"], ["2026-11-09", "3"]],
    }[table]
    assert rows == expected


async def test_statistics_page_shows_charts_and_rates(
    client: httpx.AsyncClient, world: World
) -> None:
    await seed(world)
    await world.login(client, "supervisor")
    page = await client.get("/stats?start=2026-11-02&end=2026-11-15")
    assert page.status_code == 200
    assert page.text.count("<svg") == 5
    assert "66.7%" in page.text and "西山村" in page.text
    bad = await client.get("/stats?start=2026-11-20&end=2026-11-02")
    assert bad.status_code == 409 and "开始日期不能晚于结束日期" in bad.text
