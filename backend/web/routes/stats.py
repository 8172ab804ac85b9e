"""研判 statistics page and its exports (.xlsx, one sheet per table; CSV per table)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from backend.services import stats
from backend.services.errors import ValidationFailed
from backend.web.charts import RISK_COLORS, bar_chart, column_chart
from backend.web.deps import CenterUser, SessionDep, State
from backend.web.render import render

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period(start: str | None, end: str | None, tz: str) -> tuple[date, date]:
    today = datetime.now(UTC).astimezone(ZoneInfo(tz)).date()
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=27)
    except ValueError as exc:
        raise ValidationFailed("日期格式应为 2026-11-01。") from exc
    if first > last:
        raise ValidationFailed("开始日期不能晚于结束日期。")
    if (last - first).days > 800:
        raise ValidationFailed("统计期间最长两年。")
    return first, last


async def _report(
    session: SessionDep, state: State, start: str | None, end: str | None, days: int, minimum: int
) -> stats.StatsReport:
    first, last = _period(start, end, state.settings.tz)
    return await stats.compute_stats(
        session=session,
        county=state.county,
        start=first,
        end=last,
        tz=state.settings.tz,
        hotspot_days=days,
        hotspot_min=minimum,
    )


Days = Annotated[int, Query(ge=1, le=90)]
Minimum = Annotated[int, Query(ge=2, le=50)]


def create_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/stats")
    async def stats_page(
        request: Request,
        user: CenterUser,
        session: SessionDep,
        state: State,
        start: str | None = None,
        end: str | None = None,
        days: Days = 7,
        min: Minimum = 3,
    ) -> Response:
        report = await _report(session, state, start, end, days, min)
        charts = {
            "category": bar_chart(
                [(r.label, r.count) for r in report.by_category], title="按类别"
            ),
            "department": bar_chart(
                [(r.label, r.count) for r in report.by_department], title="按部门"
            ),
            "township": bar_chart(
                [(r.label, r.count) for r in report.by_township], title="按乡镇"
            ),
            "risk": bar_chart(
                [(r.label, r.count) for r in report.by_risk],
                title="按风险等级",
                colors=RISK_COLORS,
                keys=[r.key for r in report.by_risk],
            ),
            "weekly": column_chart(
                [(week.strftime("%m-%d"), count) for week, count in report.weekly],
                title="每周趋势",
            ),
        }
        query = request.url.query
        return render(
            request,
            "stats.html",
            {"user": user, "report": report, "charts": charts, "query": query},
        )

    @router.get("/stats/export.xlsx")
    async def export_xlsx(
        user: CenterUser,
        session: SessionDep,
        state: State,
        start: str | None = None,
        end: str | None = None,
        days: Days = 7,
        min: Minimum = 3,
    ) -> Response:
        report = await _report(session, state, start, end, days, min)
        name = f"yanpan_{report.start.isoformat()}_{report.end.isoformat()}.xlsx"
        return Response(
            stats.export_xlsx(report),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @router.get("/stats/export.csv")
    async def export_csv(
        user: CenterUser,
        session: SessionDep,
        state: State,
        table: str = "category",
        start: str | None = None,
        end: str | None = None,
        days: Days = 7,
        min: Minimum = 3,
    ) -> Response:
        report = await _report(session, state, start, end, days, min)
        try:
            body = stats.export_csv(report, table)
        except KeyError as exc:
            raise ValidationFailed("没有这个统计表。") from exc
        name = f"yanpan_{table}_{report.start.isoformat()}_{report.end.isoformat()}.csv"
        return Response(
            body.encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return router
