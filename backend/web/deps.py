"""Request-scoped dependencies: DB session, the signed-in user, CSRF."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.county import County
from backend.services import web_auth
from backend.services.errors import NotAllowed, ValidationFailed
from backend.services.web_auth import WebUser
from backend.untrusted import MAX_ROW_ID, parse_int

SESSION_COOKIE = "zzt_session"


@dataclass
class WebState:
    settings: Settings
    session_factory: async_sessionmaker[AsyncSession]
    county: County
    templates: Jinja2Templates


class LoginRequired(Exception):
    """No valid session: pages redirect to /login."""


def get_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_state(request).session_factory() as session:
        yield session


def query_int(
    value: str | None, *, label: str, low: int = 1, high: int = MAX_ROW_ID
) -> int | None:
    """A number from a query string or form field (row ids by default): None when blank, a
    clear refusal when it is not a whole number within ``low..high`` (never a database error)."""
    if not (value or "").strip():
        return None
    number = parse_int(value, low=low, high=high)
    if number is None:
        raise ValidationFailed(
            f"参数“{label}”无效：应为 {low}–{high} 之间的整数。", code="bad_parameter"
        )
    return number


State = Annotated[WebState, Depends(get_state)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def optional_user(request: Request, session: SessionDep) -> WebUser | None:
    user = await web_auth.current_user(
        session=session, cookie_value=request.cookies.get(SESSION_COOKIE)
    )
    request.state.user = user
    return user


async def require_user(user: Annotated[WebUser | None, Depends(optional_user)]) -> WebUser:
    if user is None:
        raise LoginRequired()
    return user


async def require_center(user: Annotated[WebUser, Depends(require_user)]) -> WebUser:
    if not user.is_center:
        raise NotAllowed("此页面仅供综治中心调度、督办和管理员使用。")
    return user


async def require_admin(user: Annotated[WebUser, Depends(require_user)]) -> WebUser:
    if not user.is_admin:
        raise NotAllowed("此页面仅供系统管理员使用。")
    return user


async def require_csrf(
    user: Annotated[WebUser, Depends(require_user)],
    csrf_token: Annotated[str | None, Form()] = None,
) -> WebUser:
    """Every form POST carries the session's CSRF token; without it nothing happens."""
    if not web_auth.csrf_valid(user, csrf_token):
        raise NotAllowed("表单已失效（安全校验未通过），请刷新页面后重试。", code="csrf")
    return user


OptionalUser = Annotated[WebUser | None, Depends(optional_user)]
CurrentUser = Annotated[WebUser, Depends(require_user)]
CenterUser = Annotated[WebUser, Depends(require_center)]
AdminUser = Annotated[WebUser, Depends(require_admin)]
CsrfUser = Annotated[WebUser, Depends(require_csrf)]
