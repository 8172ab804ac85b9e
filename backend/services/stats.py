"""研判 statistics for a chosen period: the weekly analysis material of the center.

The cohort is every case *received* in the period (``created_at`` in ``[start, end)``, local
dates, end exclusive). Definitions, so the numbers can be checked by hand:

- 签收及时率 = cases accepted no later than their 签收 deadline / cases whose 签收 clock has run
  out or that were accepted (accepted, or deadline passed by ``now``).
- 按时办结率 = cases resolved no later than their handling deadline / cases whose handling clock
  has run out or that were resolved.
- 满意率 = (满意 + 基本满意) / every rating given on the period's cases.
- Returns per unit = 退单 events in the period, counted for the unit of the staff member who
  returned; reopenings = events that moved a case to 重办 (不满意), counted for the case's unit.
- Hotspot = at least ``hotspot_min`` cases of the same category in the same village within
  ``hotspot_days`` days (the densest window is reported).
"""

from __future__ import annotations

import csv
import io
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy import ColumnElement, and_, case, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.county import County
from backend.models import (
    Case,
    CaseEvent,
    CaseStatus,
    Person,
    Rating,
    RatingScore,
    RiskLevel,
    Unit,
)
from backend.services.privacy import mask_text

RISK_LABELS = {
    RiskLevel.red: "红色（重大）",
    RiskLevel.orange: "橙色（较大）",
    RiskLevel.yellow: "黄色（一般）",
    RiskLevel.blue: "蓝色（轻微）",
}


@dataclass(frozen=True)
class CountRow:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def percent(self) -> str:
        value = self.value
        return "—" if value is None else f"{value * 100:.1f}%"


@dataclass(frozen=True)
class UnitReturns:
    unit: str
    cases: int
    returns: int
    reopenings: int


@dataclass(frozen=True)
class Hotspot:
    township: str
    village: str
    category: str
    category_label: str
    count: int
    first: datetime
    last: datetime
    codes: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """One table of the report, as shown on the page and exported (one xlsx sheet each)."""

    name: str
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


@dataclass
class StatsReport:
    start: date
    end: date  # inclusive, as shown to people
    total: int
    by_category: list[CountRow]
    by_department: list[CountRow]
    by_township: list[CountRow]
    by_risk: list[CountRow]
    weekly: list[tuple[date, int]]
    accept_on_time: Rate
    handle_on_time: Rate
    satisfaction: Rate
    per_unit: list[UnitReturns]
    hotspots: list[Hotspot]
    hotspot_days: int
    hotspot_min: int
    tables: list[Table] = field(default_factory=list)


def period_bounds(start: date, end: date, tz: str) -> tuple[datetime, datetime]:
    """UTC bounds of the local dates ``start``..``end`` (both inclusive)."""
    zone = ZoneInfo(tz)
    lower = datetime.combine(start, time.min, tzinfo=zone).astimezone(UTC)
    upper = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone).astimezone(UTC)
    return lower, upper


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


async def _grouped(
    session: AsyncSession, column: object, where: object
) -> list[tuple[str | None, int]]:
    rows = (
        await session.exec(
            select(column, func.count())  # type: ignore[call-overload]
            .where(where)
            .group_by(column)
        )
    ).all()
    return [(key, int(count)) for key, count in rows]


def _count_rows(
    pairs: list[tuple[str | None, int]], label: object, *, missing: str = "（未填）"
) -> list[CountRow]:
    rows = [
        CountRow(key=key or "", label=(label(key) if key else missing), count=count)  # type: ignore[operator]
        for key, count in pairs
    ]
    return sorted(rows, key=lambda row: (-row.count, row.key))


async def compute_stats(
    *,
    session: AsyncSession,
    county: County,
    start: date,
    end: date,
    tz: str,
    hotspot_days: int = 7,
    hotspot_min: int = 3,
    now: datetime | None = None,
) -> StatsReport:
    """The 研判 report for local dates ``start``..``end`` (inclusive)."""
    moment = now or datetime.now(UTC)
    lower, upper = period_bounds(start, end, tz)
    in_period = and_(col(Case.created_at) >= lower, col(Case.created_at) < upper)

    total = int(
        (await session.exec(select(func.count()).select_from(Case).where(in_period))).one()
    )
    by_category = _count_rows(
        await _grouped(session, Case.category, in_period),
        county.category_name,
        missing="（待分类）",
    )
    by_department = _count_rows(
        await _grouped(session, Case.department, in_period),
        lambda code: county.department_name(code),
        missing="（中心分拨）",
    )
    by_township = _count_rows(await _grouped(session, Case.township, in_period), lambda name: name)
    risk_pairs = dict(await _grouped(session, Case.risk_level, in_period))
    by_risk = [
        CountRow(key=level.value, label=RISK_LABELS[level], count=risk_pairs.get(level.value, 0))
        for level in RiskLevel
    ]

    accepted_ok = and_(
        col(Case.accepted_at).is_not(None),
        col(Case.accept_deadline).is_not(None),
        col(Case.accepted_at) <= col(Case.accept_deadline),
    )
    accept_due = and_(
        col(Case.accept_deadline).is_not(None),
        (col(Case.accepted_at).is_not(None)) | (col(Case.accept_deadline) < moment),
    )
    resolved_ok = and_(
        col(Case.resolved_at).is_not(None),
        col(Case.handle_deadline).is_not(None),
        col(Case.resolved_at) <= col(Case.handle_deadline),
    )
    handle_due = and_(
        col(Case.handle_deadline).is_not(None),
        (col(Case.resolved_at).is_not(None)) | (col(Case.handle_deadline) < moment),
    )

    def flag(condition: object) -> object:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)  # type: ignore[arg-type]

    rate_row = (
        await session.exec(
            select(  # type: ignore[call-overload]
                flag(accepted_ok), flag(accept_due), flag(resolved_ok), flag(handle_due)
            ).where(in_period)
        )
    ).one()
    accept_on_time = Rate(int(rate_row[0]), int(rate_row[1]))
    handle_on_time = Rate(int(rate_row[2]), int(rate_row[3]))

    rating_pairs = (
        await session.exec(
            select(Rating.score, func.count())
            .join(Case, col(Case.id) == col(Rating.case_id))
            .where(in_period)
            .group_by(Rating.score)
        )
    ).all()
    ratings = {str(score): int(count) for score, count in rating_pairs}
    satisfied = ratings.get(RatingScore.satisfied.value, 0) + ratings.get(
        RatingScore.basically_satisfied.value, 0
    )
    satisfaction = Rate(satisfied, sum(ratings.values()))

    per_unit = await _per_unit(session, lower, upper, in_period)

    detail = (
        await session.exec(
            select(  # type: ignore[call-overload]
                Case.created_at, Case.township, Case.village, Case.category, Case.code
            ).where(in_period)
        )
    ).all()
    # Week buckets as UTC instants of each local Monday 00:00, so rows are placed by bisection
    # instead of converting 50,000 timestamps to local dates one by one.
    zone = ZoneInfo(tz)
    week_starts: list[date] = []
    week = _week_start(start)
    while week <= end:
        week_starts.append(week)
        week += timedelta(days=7)
    bounds = [datetime.combine(w, time.min, tzinfo=zone).astimezone(UTC) for w in week_starts]
    naive_bounds = [b.replace(tzinfo=None) for b in bounds]
    week_counts = [0] * len(week_starts)
    groups: dict[tuple[str, str, str], list[tuple[datetime, str]]] = defaultdict(list)
    for created_at, township, village, category, code in detail:
        index = bisect_right(naive_bounds if created_at.tzinfo is None else bounds, created_at) - 1
        if index >= 0:
            week_counts[index] += 1
        if village and category:
            groups[(township or "", village, category)].append((created_at, code))
    weekly = list(zip(week_starts, week_counts, strict=True))
    hotspots = _hotspots(groups, county, hotspot_days, hotspot_min)

    report = StatsReport(
        start=start,
        end=end,
        total=total,
        by_category=by_category,
        by_department=by_department,
        by_township=by_township,
        by_risk=by_risk,
        weekly=weekly,
        accept_on_time=accept_on_time,
        handle_on_time=handle_on_time,
        satisfaction=satisfaction,
        per_unit=per_unit,
        hotspots=hotspots,
        hotspot_days=hotspot_days,
        hotspot_min=hotspot_min,
    )
    report.tables = report_tables(report, tz)
    return report


async def _per_unit(
    session: AsyncSession, lower: datetime, upper: datetime, in_period: ColumnElement[bool]
) -> list[UnitReturns]:
    units = {unit.id: unit.name for unit in (await session.exec(select(Unit))).all()}
    led = dict(
        (
            await session.exec(
                select(Case.lead_unit_id, func.count())
                .where(in_period, col(Case.lead_unit_id).is_not(None))
                .group_by(col(Case.lead_unit_id))
            )
        ).all()
    )
    event_window = and_(col(CaseEvent.created_at) >= lower, col(CaseEvent.created_at) < upper)
    returns = dict(
        (
            await session.exec(
                select(Person.unit_id, func.count())
                .select_from(CaseEvent)
                .join(Person, col(Person.id) == col(CaseEvent.actor_id))
                .where(event_window, col(CaseEvent.to_status) == CaseStatus.returned.value)
                .group_by(col(Person.unit_id))
            )
        ).all()
    )
    reopens = dict(
        (
            await session.exec(
                select(Case.lead_unit_id, func.count())
                .select_from(CaseEvent)
                .join(Case, col(Case.id) == col(CaseEvent.case_id))
                .where(event_window, col(CaseEvent.to_status) == CaseStatus.reopened.value)
                .group_by(col(Case.lead_unit_id))
            )
        ).all()
    )
    unit_ids = {uid for uid in (*led, *returns, *reopens) if uid is not None}
    rows = [
        UnitReturns(
            unit=units.get(uid, f"#{uid}"),
            cases=int(led.get(uid, 0)),
            returns=int(returns.get(uid, 0)),
            reopenings=int(reopens.get(uid, 0)),
        )
        for uid in unit_ids
    ]
    return sorted(rows, key=lambda row: (-(row.returns + row.reopenings), -row.cases, row.unit))


def _hotspots(
    groups: dict[tuple[str, str, str], list[tuple[datetime, str]]],
    county: County,
    days: int,
    minimum: int,
) -> list[Hotspot]:
    window = timedelta(days=days)
    found = []
    labels: dict[str, str] = {}
    for (township, village, category), items in groups.items():
        if len(items) < minimum:
            continue
        items.sort()
        best = (0, 0, 0)  # count, first index, last index
        left = 0
        for right in range(len(items)):
            while items[right][0] - items[left][0] > window:
                left += 1
            if right - left + 1 > best[0]:
                best = (right - left + 1, left, right)
        count, first, last = best
        if count >= minimum:
            if category not in labels:
                labels[category] = county.category_name(category)
            found.append(
                Hotspot(
                    township=township,
                    village=village,
                    category=category,
                    category_label=labels[category],
                    count=count,
                    first=items[first][0],
                    last=items[last][0],
                    codes=tuple(code for _, code in items[first : last + 1]),
                )
            )
    return sorted(found, key=lambda h: (-h.count, h.township, h.village, h.category))


def report_tables(report: StatsReport, tz: str) -> list[Table]:
    zone = ZoneInfo(tz)

    def counts(name: str, title: str, what: str, rows: list[CountRow]) -> Table:
        return Table(name, title, (what, "件数"), tuple((r.label, r.count) for r in rows))

    rates = (
        ("签收及时率", report.accept_on_time),
        ("按时办结率", report.handle_on_time),
        ("满意率", report.satisfaction),
    )
    return [
        Table(
            "summary",
            "概况",
            ("指标", "数值", "分子", "分母"),
            (
                ("受理总数", report.total, "", ""),
                *((label, r.percent, r.numerator, r.denominator) for label, r in rates),
            ),
        ),
        counts("category", "按类别", "类别", report.by_category),
        counts("department", "按部门", "部门", report.by_department),
        counts("township", "按乡镇", "乡镇", report.by_township),
        counts("risk", "按风险等级", "风险等级", report.by_risk),
        Table(
            "weekly",
            "每周趋势",
            ("周起始日", "件数"),
            tuple((week.isoformat(), count) for week, count in report.weekly),
        ),
        Table(
            "units",
            "各单位退单与重办",
            ("单位", "主办件数", "退单次数", "重办次数"),
            tuple((u.unit, u.cases, u.returns, u.reopenings) for u in report.per_unit),
        ),
        Table(
            "hotspots",
            f"热点（同村同类{report.hotspot_days}天内≥{report.hotspot_min}件）",
            ("乡镇", "村（社区）", "类别", "件数", "首件时间", "末件时间", "案件编号"),
            tuple(
                (
                    h.township,
                    h.village,
                    h.category_label,
                    h.count,
                    h.first.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                    h.last.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                    "、".join(h.codes),
                )
                for h in report.hotspots
            ),
        ),
    ]


def export_row(row: tuple[object, ...]) -> list[object]:
    """A row as exported: any number inside a text cell is masked (exports leave the system)."""
    return [mask_text(cell) if isinstance(cell, str) else cell for cell in row]


def export_xlsx(report: StatsReport) -> bytes:
    """The report as an Excel workbook, one sheet per table."""
    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    for table in report.tables:
        sheet = workbook.create_sheet(title=table.title[:31])
        sheet.append(list(table.headers))
        for row in table.rows:
            sheet.append(export_row(row))
        for index, header in enumerate(table.headers):
            sheet.column_dimensions[chr(ord("A") + index)].width = max(12, len(header) * 3)
    meta = workbook.create_sheet(title="说明", index=0)
    meta.append(["统计期间", f"{report.start.isoformat()} 至 {report.end.isoformat()}"])
    meta.append(["口径", "以受理时间计入统计期间；满意率 =（满意+基本满意）/ 全部评价"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_csv(report: StatsReport, table_name: str) -> str:
    """One table as CSV (UTF-8 with BOM so Excel opens the Chinese correctly)."""
    table = next((t for t in report.tables if t.name == table_name), None)
    if table is None:
        raise KeyError(table_name)
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    writer.writerows(export_row(row) for row in table.rows)
    return buffer.getvalue()
