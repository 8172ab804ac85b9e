"""Sign-in page, one-time link consumption, sign-out."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from backend.services import web_auth
from backend.services.errors import DomainError
from backend.web.deps import SESSION_COOKIE, CsrfUser, OptionalUser, SessionDep, State
from backend.web.render import render


def login_redirect(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    suffix = "" if target in ("/", "/login") else "?next=" + quote(target, safe="")
    return RedirectResponse("/login" + suffix, status_code=303)


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return "/"


def create_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/login")
    async def login_page(request: Request, user: OptionalUser, state: State) -> Response:
        return render(
            request,
            "login.html",
            {
                "user": user,
                "bot_username": state.settings.bot_username,
                "ttl": state.settings.web_login_ttl_minutes,
            },
        )

    @router.get("/auth/{token}")
    async def consume(request: Request, token: str, session: SessionDep, state: State) -> Response:
        try:
            started = await web_auth.consume_login_link(
                session=session, token=token, settings=state.settings
            )
        except DomainError as exc:
            return render(
                request,
                "login.html",
                {
                    "error": exc.message,
                    "bot_username": state.settings.bot_username,
                    "ttl": state.settings.web_login_ttl_minutes,
                },
                status_code=403 if exc.code != "invalid" else 400,
            )
        target = _safe_next(request.query_params.get("next"))
        if target == "/" and started.person.role not in web_auth.CENTER_ROLES:
            target = "/queue"
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            started.cookie_value,
            max_age=state.settings.web_session_hours * 3600,
            httponly=True,
            samesite="lax",
            secure=state.settings.web_base_url.startswith("https://"),
        )
        return response

    @router.post("/logout")
    async def logout(request: Request, user: CsrfUser, session: SessionDep) -> Response:
        await web_auth.end_session(session=session, session_id=user.session_id)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    return router
