"""App factory: ``create_app(settings)`` builds everything; nothing happens at import time."""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.config import Settings
from backend.county import load_county
from backend.db import create_engine, create_session_factory
from backend.services import runtime
from backend.services.errors import DomainError
from backend.services.web_guard import Guard
from backend.web.deps import LoginRequired, WebState
from backend.web.render import error_page, make_templates
from backend.web.routes import admin, auth, board, cases, open311, resident, search, stats

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
SERVER_ERROR_PAGE = (
    '<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>出错了</title>'
    "<p>抱歉，系统出了点问题，请稍后再试。</p></html>"
)
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def create_app(settings: Settings, *, engine: AsyncEngine | None = None) -> FastAPI:
    """The web app. Pass ``engine`` to share one (tests); otherwise one is made from settings."""
    runtime.configure(settings)
    own_engine = engine is None
    db_engine = engine or create_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if own_engine:
            await db_engine.dispose()

    app = FastAPI(
        title="综治通 API",
        version="1.0",
        description="综治通的开放接口（Open311 GeoReport v2）。网页工作台的页面不在此文档中。",
        lifespan=lifespan,
        # Swagger UI would load its assets from a CDN; the machine may be offline, so only the
        # OpenAPI document itself is served (/openapi.json).
        docs_url=None,
        redoc_url=None,
    )
    app.state.web = WebState(
        settings=settings,
        session_factory=create_session_factory(db_engine),
        county=load_county(settings.county_data),
        templates=make_templates(settings),
    )
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.state.resident_guard = Guard(settings)
    for module in (auth, board, cases, search, stats, admin, open311, resident):
        app.include_router(module.create_router())

    @app.middleware("http")
    async def _log_failures_without_data(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """An unexpected error: log its type and frames only (its message may hold SQL values
        or personal data), and answer a plain 500 page."""
        try:
            return await call_next(request)
        except Exception as exc:
            frames = "".join(traceback.format_tb(exc.__traceback__))
            log.error(
                "%s %s failed: %s\n%s",
                request.method,
                request.url.path,
                type(exc).__name__,
                frames,
            )
            if request.url.path.startswith("/open311/"):
                return JSONResponse([{"code": 500, "description": "服务器内部错误。"}], 500)
            return HTMLResponse(SERVER_ERROR_PAGE, status_code=500)

    @app.middleware("http")
    async def _security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Login links carry a token in the path: never send it on as a Referer.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        return auth.login_redirect(request)

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> Response:
        return error_page(request, exc)

    return app


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Run the dashboard and API with uvicorn (``python -m backend serve``)."""
    import uvicorn

    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=False)
