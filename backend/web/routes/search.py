"""Search by case code, words, or (center roles only) phone number."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backend.services import dashboard
from backend.web.deps import CurrentUser, SessionDep
from backend.web.render import render


def create_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/search")
    async def search(request: Request, user: CurrentUser, session: SessionDep) -> Response:
        query = (request.query_params.get("q") or "")[:100]
        result = await dashboard.search(session=session, user=user, query=query)
        if result.kind == "code" and len(result.cases) == 1:
            return RedirectResponse(f"/cases/{result.cases[0].code}", status_code=303)
        units = await dashboard.units_by_id(session=session)
        return render(request, "search.html", {"user": user, "result": result, "units": units})

    return router
