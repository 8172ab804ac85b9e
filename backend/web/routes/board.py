"""The center's board (site root) and a unit's queue."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from backend.models import CaseStatus, RiskLevel, Unit
from backend.services import dashboard
from backend.web.deps import CurrentUser, SessionDep, State, query_int
from backend.web.render import render

MAX_PAGE = 100_000
SECTION_TITLES = {
    "new": ("新收（24小时内）", "最近一天收到的全部诉求"),
    "triage": ("待分拨", "分类器没有把握，等待中心人工分拨"),
    "red": ("红色风险", "未办结的高风险事项"),
    "overdue": ("已超期", "签收或办理期限已过"),
    "due_today": ("今日到期", "今天内签收或办理期限届满"),
    "returned": ("退单待审", "承办单位申请退回，等待审批"),
    "extension": ("延期待批", "承办单位申请延期，等待审批"),
    "unsatisfied": ("不满意重办", "群众评价不满意，已退回重办"),
}


def create_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/")
    async def board(
        request: Request, user: CurrentUser, session: SessionDep, state: State
    ) -> Response:
        if not user.is_center:
            return RedirectResponse("/queue", status_code=303)
        sections = await dashboard.center_board(session=session, user=user, tz=state.settings.tz)
        units = await dashboard.units_by_id(session=session)
        return render(
            request,
            "board.html",
            {"user": user, "sections": sections, "titles": SECTION_TITLES, "units": units},
        )

    @router.get("/queue")
    async def queue(
        request: Request, user: CurrentUser, session: SessionDep, state: State
    ) -> Response:
        params = request.query_params
        filters = dashboard.QueueFilter(
            unit_id=query_int(params.get("unit"), label="unit"),
            status=params.get("status") or "open",
            category=params.get("category") or None,
            township=params.get("township") or None,
            risk=params.get("risk") or None,
            deadline=params.get("deadline") or None,
            page=query_int(params.get("page"), label="page", high=MAX_PAGE) or 1,
        )
        page = await dashboard.unit_queue(
            session=session, user=user, filters=filters, tz=state.settings.tz
        )
        units = await dashboard.units_by_id(session=session)
        all_units = (await session.exec(select(Unit).order_by(Unit.code))).all()
        return render(
            request,
            "queue.html",
            {
                "user": user,
                "page": page,
                "units": units,
                "all_units": all_units,
                "statuses": list(CaseStatus),
                "risks": list(RiskLevel),
                "categories": _categories(),
            },
        )

    return router


def _categories() -> list[tuple[str, str]]:
    try:
        import classifier

        return [(code, str(c.name_zh)) for code, c in classifier.categories().items()]
    except (ImportError, AttributeError):
        return []
