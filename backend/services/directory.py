"""Who is who: people, units (departments, township centers), one-time invites, group desks."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import col, select, update

from backend.county import County
from backend.models import Invite, Person, Role, Unit
from backend.models.base import utcnow
from backend.services.errors import InviteError, NotFound, ValidationFailed

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

STAFF_ROLES = frozenset({Role.staff, Role.unit_head})
CENTER_ROLES = frozenset({Role.dispatcher, Role.supervisor, Role.admin})
BIND_ROLES = frozenset({Role.staff, Role.unit_head, Role.dispatcher})
UNITLESS_ROLES = frozenset({Role.supervisor, Role.admin, Role.grid_worker})
LANGUAGES = ("zh", "en")
# No 0/O/1/I/L: codes are read aloud and typed from paper.
INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
INVITE_LENGTH = 10


async def get_person_by_telegram_id(*, session: AsyncSession, telegram_id: int) -> Person | None:
    return (await session.exec(select(Person).where(Person.telegram_id == telegram_id))).first()


async def get_or_create_person(
    *,
    session: AsyncSession,
    telegram_id: int,
    display_name: str = "",
    language: str | None = None,
) -> Person:
    """The person behind a Telegram user, created as a resident on first contact (commits)."""
    person = await get_person_by_telegram_id(session=session, telegram_id=telegram_id)
    if person is not None:
        if display_name and person.display_name != display_name[:128]:
            person.display_name = display_name[:128]
            session.add(person)
            await session.commit()
        return person
    person = Person(
        telegram_id=telegram_id,
        display_name=display_name[:128],
        language=language if language in LANGUAGES else "zh",
    )
    session.add(person)
    try:
        await session.commit()
    except Exception:
        # Two updates from a new user at once: the other one created the row first.
        await session.rollback()
        existing = await get_person_by_telegram_id(session=session, telegram_id=telegram_id)
        if existing is None:
            raise
        return existing
    return person


async def set_language(*, session: AsyncSession, person: Person, language: str) -> Person:
    if language not in LANGUAGES:
        raise ValidationFailed("目前支持简体中文和英文。", code="language_unknown")
    person.language = language
    session.add(person)
    await session.commit()
    return person


async def get_unit(*, session: AsyncSession, code: str) -> Unit:
    unit = (await session.exec(select(Unit).where(Unit.code == code))).first()
    if unit is None:
        raise NotFound(f"没有找到单位“{code}”。", code="unit_not_found")
    return unit


async def get_unit_by_id(*, session: AsyncSession, unit_id: int) -> Unit:
    unit = await session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("没有找到该单位。", code="unit_not_found")
    return unit


async def get_unit_by_chat(*, session: AsyncSession, chat_id: int) -> Unit | None:
    return (await session.exec(select(Unit).where(Unit.chat_id == chat_id))).first()


async def list_units(*, session: AsyncSession) -> list[Unit]:
    return list((await session.exec(select(Unit).order_by(col(Unit.id)))).all())


async def unit_heads(*, session: AsyncSession, unit_id: int | None) -> list[Person]:
    if unit_id is None:
        return []
    rows = await session.exec(
        select(Person)
        .where(Person.unit_id == unit_id, Person.role == Role.unit_head)
        .order_by(col(Person.id))
    )
    return list(rows.all())


async def sync_units(*, session: AsyncSession, county: County) -> tuple[int, int]:
    """Create missing units from county data and refresh names (keeps bound chats). Commits.

    Returns (created, updated).
    """
    existing = {u.code: u for u in await list_units(session=session)}
    created = updated = 0
    for spec in county.units():
        unit = existing.get(spec.code)
        if unit is None:
            session.add(
                Unit(
                    code=spec.code,
                    department=spec.department,
                    name=spec.name_zh,
                    name_en=spec.name_en,
                    township=spec.township,
                )
            )
            created += 1
        elif (unit.name, unit.name_en, unit.department, unit.township) != (
            spec.name_zh,
            spec.name_en,
            spec.department,
            spec.township,
        ):
            unit.name, unit.name_en = spec.name_zh, spec.name_en
            unit.department, unit.township = spec.department, spec.township
            session.add(unit)
            updated += 1
    await session.commit()
    return created, updated


def _new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


async def create_invite(
    *,
    session: AsyncSession,
    role: Role | str,
    unit_code: str | None,
    created_by: Person | None = None,
    ttl_days: int = 7,
    now: datetime | None = None,
) -> Invite:
    """A one-time code giving ``role`` in ``unit_code`` (commits).

    Staff, unit heads and dispatchers need a unit (dispatchers default to the county center).
    """
    try:
        role = Role(role)
    except ValueError as exc:
        raise ValidationFailed(f"未知角色“{role}”。", code="role_unknown") from exc
    if role == Role.resident:
        raise ValidationFailed("群众无需邀请码。", code="role_unknown")
    if role == Role.dispatcher and not unit_code:
        unit_code = "center"
    if role in STAFF_ROLES and not unit_code:
        raise ValidationFailed("工作人员邀请码需要指定单位。", code="unit_required")
    unit = await get_unit(session=session, code=unit_code) if unit_code else None
    now = now or utcnow()
    invite = Invite(
        code=_new_invite_code(),
        role=role,
        unit_id=unit.id if unit else None,
        created_by_id=created_by.id if created_by else None,
        created_at=now,
        expires_at=now + timedelta(days=ttl_days) if ttl_days > 0 else None,
    )
    session.add(invite)
    await session.commit()
    return invite


def _normalise_code(code: str) -> str:
    return code.strip().upper().replace(" ", "").replace("-", "")


async def get_invite(*, session: AsyncSession, code: str) -> Invite:
    invite = (
        await session.exec(select(Invite).where(Invite.code == _normalise_code(code)))
    ).first()
    if invite is None:
        raise InviteError(code="invite_unknown")
    return invite


async def revoke_invite(
    *, session: AsyncSession, code: str, actor: Person | None = None
) -> Invite:
    """Withdraw an unused invite (commits)."""
    invite = await get_invite(session=session, code=code)
    if invite.used_at is not None:
        raise InviteError("该邀请码已被使用，无法撤销。", code="invite_used")
    invite.revoked = True
    session.add(invite)
    await session.commit()
    return invite


async def redeem_invite(
    *, session: AsyncSession, person: Person, code: str, now: datetime | None = None
) -> Person:
    """Give the person the invite's role and unit; the code then stops working (commits)."""
    now = now or utcnow()
    invite = await get_invite(session=session, code=code)
    if invite.revoked:
        raise InviteError("该邀请码已被撤销，请向管理员重新索取。", code="invite_revoked")
    if invite.expires_at is not None and invite.expires_at <= now:
        raise InviteError("该邀请码已过期，请向管理员重新索取。", code="invite_expired")
    # Single use even under concurrency: only one conditional UPDATE can mark it used.
    claimed = await session.exec(
        update(Invite)
        .where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None), ~col(Invite.revoked))
        .values(used_at=now, used_by_id=person.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        await session.commit()  # nothing was written; a rollback would expire the caller's objects
        raise InviteError("该邀请码已被使用，请向管理员重新索取。", code="invite_used")
    person.role = invite.role
    person.unit_id = invite.unit_id
    if invite.unit_id is not None:
        unit = await session.get(Unit, invite.unit_id)
        if unit is not None and unit.township:
            person.township = unit.township
    session.add(person)
    await session.commit()
    await session.refresh(invite)
    return person


async def bind_group(
    *,
    session: AsyncSession,
    person: Person,
    code: str,
    chat_id: int,
    chat_title: str,
    now: datetime | None = None,
) -> Unit:
    """``/bind <invite>`` in a group: the group becomes the unit's desk (commits).

    The invite is redeemed for the person unless they already belong to that unit with that role.
    """
    now = now or utcnow()
    invite = await get_invite(session=session, code=code)
    if invite.role not in BIND_ROLES or invite.unit_id is None:
        raise InviteError(
            "只有单位工作人员或调度员的邀请码可以绑定工作群。", code="invite_cannot_bind"
        )
    already_member = person.unit_id == invite.unit_id and person.role == invite.role
    if not already_member:
        await redeem_invite(session=session, person=person, code=code, now=now)
    elif invite.revoked or (invite.expires_at is not None and invite.expires_at <= now):
        raise InviteError(code="invite_expired")
    unit = await get_unit_by_id(session=session, unit_id=invite.unit_id)
    # A chat is the desk of one unit only: unbind it elsewhere first.
    await session.exec(
        update(Unit)
        .where(col(Unit.chat_id) == chat_id, col(Unit.id) != unit.id)
        .values(chat_id=None, chat_title=None, bound_at=None)
    )
    unit.chat_id = chat_id
    unit.chat_title = chat_title[:128]
    unit.bound_at = now
    session.add(unit)
    await session.commit()
    return unit
