"""Who is who: people, units (departments, township centers), one-time invites, group desks."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NoReturn

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col, select, update

from backend.county import County
from backend.models import Invite, Person, Role, Unit
from backend.models.base import utcnow
from backend.services import outbox
from backend.services.errors import InviteError, NotFound, ValidationFailed
from backend.untrusted import without_nul

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
# How long a pending role change holds its invite; after that another person may use it.
RESERVATION = timedelta(minutes=30)


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
    display_name = without_nul(display_name)
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
    """Withdraw an unused invite (commits); a pending role change on it can no longer be
    confirmed."""
    invite = await get_invite(session=session, code=code)
    if invite.used_at is not None:
        raise InviteError("该邀请码已被使用，无法撤销。", code="invite_used")
    invite.revoked = True
    session.add(invite)
    await session.commit()
    return invite


@dataclass(frozen=True)
class Redemption:
    """What presenting an invite did.

    ``pending``: the person holds another role or unit; the invite is reserved for them (nobody
    else can use it) until they confirm the change (``confirm_invite``) or cancel it
    (``cancel_invite``, the invite stays valid). Otherwise the invite is used up.
    """

    person: Person
    invite: Invite
    pending: bool = False


@dataclass(frozen=True)
class Binding:
    """A group bound as a unit's desk: the unit, and the desk changes it caused."""

    unit: Unit
    moved_from_chat: int | None = None  # the unit's previous group (told it lost the desk)
    displaced: Unit | None = None  # the unit whose desk this group was until now


def _reservation_open(invite: Invite, person: Person, now: datetime) -> bool:
    """True when the invite is free for this person (not held by someone else's pending change)."""
    return (
        invite.reserved_by_id is None
        or invite.reserved_by_id == person.id
        or invite.reserved_at is None
        or invite.reserved_at <= now - RESERVATION
    )


def _check_usable(invite: Invite, person: Person, now: datetime) -> None:
    if invite.revoked:
        raise InviteError("该邀请码已被撤销，请向管理员重新索取。", code="invite_revoked")
    if invite.used_at is not None:
        raise InviteError("该邀请码已被使用，请向管理员重新索取。", code="invite_used")
    if invite.expires_at is not None and invite.expires_at <= now:
        raise InviteError("该邀请码已过期，请向管理员重新索取。", code="invite_expired")
    if not _reservation_open(invite, person, now):
        raise InviteError(
            "该邀请码正由他人确认使用中，请向管理员重新索取。", code="invite_reserved"
        )


def _free_for(person: Person, now: datetime) -> ColumnElement[bool]:
    """SQL twin of the checks above: unused, not revoked, not reserved by someone else."""
    return and_(
        col(Invite.used_at).is_(None),
        ~col(Invite.revoked),
        or_(
            col(Invite.reserved_by_id).is_(None),
            col(Invite.reserved_by_id) == person.id,
            col(Invite.reserved_at).is_(None),
            col(Invite.reserved_at) <= now - RESERVATION,
        ),
    )


async def _why_not(
    session: AsyncSession, invite: Invite, person: Person, now: datetime
) -> NoReturn:
    """After a lost conditional UPDATE: raise the reason (someone else was quicker)."""
    await session.commit()  # nothing was written; a rollback would expire the caller's objects
    await session.refresh(invite)
    _check_usable(invite, person, now)
    raise InviteError("该邀请码已被使用，请向管理员重新索取。", code="invite_used")


async def _use(session: AsyncSession, invite: Invite, person: Person, now: datetime) -> None:
    """Mark the invite used by the person (caller's transaction). Single use even under
    concurrency: only one conditional UPDATE can win, like 签收."""
    claimed = await session.exec(
        update(Invite)
        .where(col(Invite.id) == invite.id, _free_for(person, now))
        .values(used_at=now, used_by_id=person.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        await _why_not(session, invite, person, now)


async def _apply_role(session: AsyncSession, person: Person, invite: Invite) -> None:
    person.role = invite.role
    person.unit_id = invite.unit_id
    if invite.unit_id is not None:
        unit = await session.get(Unit, invite.unit_id)
        if unit is not None and unit.township:
            person.township = unit.township
    session.add(person)


def _changes_role(person: Person, invite: Invite) -> bool:
    """A registered person (not a resident) would get another role or unit."""
    return person.role != Role.resident and (person.role, person.unit_id) != (
        invite.role,
        invite.unit_id,
    )


async def redeem_invite(
    *, session: AsyncSession, person: Person, code: str, now: datetime | None = None
) -> Redemption:
    """``/start <invite>``: give the person the invite's role and unit (commits).

    The invite is used up in every outcome but one: a person who already holds another role or
    unit gets a pending change (the invite reserved for them) to confirm or cancel. A person who
    already holds exactly that role uses it up too, so a shared code never stays valid.
    """
    now = now or utcnow()
    invite = await get_invite(session=session, code=code)
    _check_usable(invite, person, now)
    if _changes_role(person, invite):
        reserved = await session.exec(
            update(Invite)
            .where(col(Invite.id) == invite.id, _free_for(person, now))
            .values(reserved_by_id=person.id, reserved_at=now)
            .execution_options(synchronize_session=False)
        )
        if reserved.rowcount != 1:
            await _why_not(session, invite, person, now)
        await session.commit()
        await session.refresh(invite)
        return Redemption(person, invite, pending=True)
    await _use(session, invite, person, now)
    await _apply_role(session, person, invite)
    await session.commit()
    await session.refresh(invite)
    return Redemption(person, invite)


async def get_reserved_invite(*, session: AsyncSession, person: Person, invite_id: int) -> Invite:
    """The invite this person's pending role change is about (refused for anyone else)."""
    invite = await session.get(Invite, invite_id, populate_existing=True)
    if invite is None or invite.reserved_by_id != person.id:
        raise InviteError("这个确认按钮已失效，请重新发送邀请码。", code="invite_not_reserved")
    return invite


async def confirm_invite(
    *, session: AsyncSession, person: Person, invite_id: int, now: datetime | None = None
) -> Person:
    """The person confirmed the role change of their reserved invite: use it up, apply it
    (commits)."""
    now = now or utcnow()
    invite = await get_reserved_invite(session=session, person=person, invite_id=invite_id)
    _check_usable(invite, person, now)
    claimed = await session.exec(
        update(Invite)
        .where(
            col(Invite.id) == invite.id,
            col(Invite.reserved_by_id) == person.id,
            col(Invite.used_at).is_(None),
            ~col(Invite.revoked),
        )
        .values(used_at=now, used_by_id=person.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        await _why_not(session, invite, person, now)
    await _apply_role(session, person, invite)
    await session.commit()
    return person


async def cancel_invite(*, session: AsyncSession, person: Person, invite_id: int) -> Invite:
    """The person declined the role change: the reservation ends, the invite is not used up."""
    invite = await get_reserved_invite(session=session, person=person, invite_id=invite_id)
    await session.exec(
        update(Invite)
        .where(
            col(Invite.id) == invite.id,
            col(Invite.reserved_by_id) == person.id,
            col(Invite.used_at).is_(None),
        )
        .values(reserved_by_id=None, reserved_at=None)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    await session.refresh(invite)
    return invite


async def bind_group(
    *,
    session: AsyncSession,
    person: Person,
    code: str,
    chat_id: int,
    chat_title: str,
    now: datetime | None = None,
) -> Binding:
    """``/bind <invite>`` in a group: the group becomes the unit's desk (commits).

    Every bind uses up a fresh invite (moving a desk or taking over another unit's group
    included). A resident sender is registered with the invite's role; a member of the unit or
    a center role only binds; anyone else is refused and the invite stays unused (a role change
    is confirmed in the private chat with ``/start <invite>``). The unit's previous group is
    told it lost the desk, and the center is told when a unit lost its group to another unit.
    """
    now = now or utcnow()
    invite = await get_invite(session=session, code=code)
    if invite.role not in BIND_ROLES or invite.unit_id is None:
        raise InviteError(
            "只有单位工作人员或调度员的邀请码可以绑定工作群。", code="invite_cannot_bind"
        )
    _check_usable(invite, person, now)
    registers = person.role == Role.resident
    if not registers and person.unit_id != invite.unit_id and person.role not in CENTER_ROLES:
        raise InviteError(
            "您已登记为其他单位或身份，不能用这个邀请码绑定工作群（邀请码未被使用）。"
            "如需变更身份，请在与机器人的私聊中发送 /start 邀请码并确认。",
            code="invite_other_role",
        )
    unit = await get_unit_by_id(session=session, unit_id=invite.unit_id)
    await _use(session, invite, person, now)
    if registers:
        await _apply_role(session, person, invite)
    displaced = (
        await session.exec(select(Unit).where(Unit.chat_id == chat_id, Unit.id != unit.id))
    ).first()
    moved_from = unit.chat_id if unit.chat_id not in (None, chat_id) else None
    title = chat_title[:128]
    if moved_from is not None:
        await outbox.enqueue(
            session=session,
            kind=outbox.NoticeKind.desk_changed,
            case_id=None,
            payload={"event": "moved", "unit": unit.name, "title": title},
            dedupe_key=f"desk:{unit.id}:{moved_from}:{now.isoformat()}",
            chat_id=moved_from,
            now=now,
        )
    if displaced is not None:
        displaced.chat_id, displaced.chat_title, displaced.bound_at = None, None, None
        session.add(displaced)
        center = (await session.exec(select(Unit).where(Unit.code == "center"))).first()
        if center is not None and center.chat_id not in (None, chat_id):
            await outbox.enqueue(
                session=session,
                kind=outbox.NoticeKind.desk_changed,
                case_id=None,
                payload={
                    "event": "taken",
                    "unit": unit.name,
                    "previous": displaced.name,
                    "title": title,
                },
                dedupe_key=f"desk-taken:{displaced.id}:{chat_id}:{now.isoformat()}",
                chat_id=center.chat_id,
                now=now,
            )
        await session.flush()  # the chat is free before it is given to the unit
    unit.chat_id = chat_id
    unit.chat_title = title
    unit.bound_at = now
    session.add(unit)
    await session.commit()
    return Binding(unit, moved_from_chat=moved_from, displaced=displaced)
