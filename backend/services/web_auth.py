"""Password-less sign-in for the web dashboard.

A staff member sends /web to the bot and receives a one-time link: the URL carries a token signed
with itsdangerous (so it cannot be forged or altered), it expires after ``web_login_ttl_minutes``
and it works once (a ``WebLoginToken`` row is marked used in a conditional UPDATE, so two browsers
opening the same link at the same moment cannot both get in). Opening it starts a server-side
session (``WebSession``) that expires after ``web_session_hours``; the browser only holds a random
cookie whose SHA-256 is stored. Each session carries its own CSRF token for the forms.
The role and unit are read from the person on every request, so a change of role applies at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.models import Person, Role, Unit
from backend.models.base import aware
from backend.models.web import WebLoginToken, WebSession
from backend.services.errors import DomainError, NotAllowed

LOGIN_SALT = "zongzhitong.web-login"
#: Roles that may use the web dashboard.
WEB_ROLES = frozenset({Role.staff, Role.unit_head, Role.dispatcher, Role.supervisor, Role.admin})
#: Roles that see the whole county (the center): board, phone numbers, statistics.
CENTER_ROLES = frozenset({Role.dispatcher, Role.supervisor, Role.admin})


class LoginLinkError(DomainError):
    default_code = "login_link_invalid"
    default_message = "登录链接无效，请在机器人中重新发送 /web 获取新链接。"


@dataclass(frozen=True)
class WebUser:
    """The signed-in person as the pages see them (role and unit scope, CSRF token)."""

    person: Person
    unit: Unit | None
    csrf_token: str
    session_id: int

    @property
    def role(self) -> Role:
        return Role(self.person.role)

    @property
    def is_center(self) -> bool:
        return self.role in CENTER_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def is_dispatcher(self) -> bool:
        return self.role in {Role.dispatcher, Role.admin}


@dataclass(frozen=True)
class StartedSession:
    cookie_value: str
    expires_at: datetime
    person: Person


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _expiry(value: datetime) -> datetime:
    moment = aware(value)
    assert moment is not None
    return moment


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.web_secret_key.get_secret_value(), salt=LOGIN_SALT)


def hash_token(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def may_use_web(person: Person) -> bool:
    return person.role in WEB_ROLES


async def create_login_link(
    *, session: AsyncSession, person: Person, settings: Settings, now: datetime | None = None
) -> str:
    """A signed, short-lived, single-use login URL for a staff member (refused for residents)."""
    if not may_use_web(person) or person.id is None:
        raise NotAllowed("网页工作台仅供工作人员使用。", code="web_not_staff")
    moment = _now(now)
    jti = secrets.token_urlsafe(24)
    session.add(
        WebLoginToken(
            jti=jti,
            person_id=person.id,
            created_at=moment,
            expires_at=moment + timedelta(minutes=settings.web_login_ttl_minutes),
        )
    )
    await session.commit()
    token = _serializer(settings).dumps({"j": jti, "p": person.id})
    return f"{settings.web_base_url.rstrip('/')}/auth/{token}"


async def consume_login_link(
    *, session: AsyncSession, token: str, settings: Settings, now: datetime | None = None
) -> StartedSession:
    """Check the link (signature, age, not used), mark it used and start a session."""
    moment = _now(now)
    max_age = settings.web_login_ttl_minutes * 60
    try:
        # itsdangerous checks the age against the wall clock; our own expires_at (below) against
        # ``now`` so tests can move time.
        data = _serializer(settings).loads(token, max_age=max_age if now is None else None)
    except SignatureExpired as exc:
        raise LoginLinkError(
            "登录链接已过期，请在机器人中重新发送 /web。", code="expired"
        ) from exc
    except BadSignature as exc:
        raise LoginLinkError(code="invalid") from exc
    if not isinstance(data, dict) or not isinstance(data.get("j"), str):
        raise LoginLinkError(code="invalid")
    row = (await session.exec(select(WebLoginToken).where(WebLoginToken.jti == data["j"]))).first()
    if row is None or row.id is None:
        raise LoginLinkError(code="invalid")
    if row.used_at is not None:
        raise LoginLinkError("该登录链接已使用过，请重新发送 /web 获取新链接。", code="used")
    if _expiry(row.expires_at) <= moment:
        raise LoginLinkError("登录链接已过期，请在机器人中重新发送 /web。", code="expired")
    claimed = await session.exec(
        update(WebLoginToken)
        .where(col(WebLoginToken.id) == row.id, col(WebLoginToken.used_at).is_(None))
        .values(used_at=moment)
    )
    if claimed.rowcount != 1:
        await session.rollback()
        raise LoginLinkError("该登录链接已使用过，请重新发送 /web 获取新链接。", code="used")
    person = await session.get(Person, row.person_id)
    if person is None or not may_use_web(person):
        await session.commit()
        raise NotAllowed("网页工作台仅供工作人员使用。", code="web_not_staff")
    cookie_value = secrets.token_urlsafe(32)
    expires_at = moment + timedelta(hours=settings.web_session_hours)
    session.add(
        WebSession(
            token_hash=hash_token(cookie_value),
            person_id=row.person_id,
            csrf_token=secrets.token_urlsafe(24),
            created_at=moment,
            expires_at=expires_at,
        )
    )
    await session.commit()
    return StartedSession(cookie_value=cookie_value, expires_at=expires_at, person=person)


async def current_user(
    *, session: AsyncSession, cookie_value: str | None, now: datetime | None = None
) -> WebUser | None:
    """The person behind a session cookie, or None (no, unknown, ended or expired session)."""
    if not cookie_value:
        return None
    row = (
        await session.exec(
            select(WebSession).where(WebSession.token_hash == hash_token(cookie_value))
        )
    ).first()
    if row is None or row.id is None or row.ended_at is not None:
        return None
    if _expiry(row.expires_at) <= _now(now):
        return None
    person = await session.get(Person, row.person_id)
    if person is None or not may_use_web(person):
        return None
    unit = await session.get(Unit, person.unit_id) if person.unit_id else None
    return WebUser(person=person, unit=unit, csrf_token=row.csrf_token, session_id=row.id)


def csrf_valid(user: WebUser, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(user.csrf_token, submitted or "")


async def end_session(
    *, session: AsyncSession, session_id: int, now: datetime | None = None
) -> None:
    """Sign out: the cookie stops working at once."""
    await session.exec(
        update(WebSession).where(col(WebSession.id) == session_id).values(ended_at=_now(now))
    )
    await session.commit()
