"""Invites through the bot: /start and /bind use a code once; a role change is confirmed first."""

from __future__ import annotations

from aiogram import Dispatcher
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Invite, OutboxMessage, Person, Role
from backend.services import directory
from bot.callbacks import InviteChoice
from bot.notifications.render import render_notice
from tests.mocked_bot import MockedBot
from tests.tg import TgUser, make_group_message_update

Factory = async_sessionmaker[AsyncSession]


async def _invite(factory: Factory, role: Role, unit: str | None) -> Invite:
    async with factory() as session:
        return await directory.create_invite(session=session, role=role, unit_code=unit)


async def _person(factory: Factory, telegram_id: int) -> Person:
    async with factory() as session:
        person = await directory.get_person_by_telegram_id(
            session=session, telegram_id=telegram_id
        )
        assert person is not None
        return person


async def _bind(dp: Dispatcher, bot: MockedBot, user_id: int, chat_id: int, code: str) -> str:
    await dp.feed_update(
        bot, make_group_message_update(user_id, chat_id, f"/bind {code}", title=f"群{chat_id}")
    )
    return bot.last_text(chat_id)


async def _registered(factory: Factory, user: TgUser, role: Role, unit: str | None) -> None:
    invite = await _invite(factory, role, unit)
    await user.send(f"/start {invite.code}")
    assert "登记成功" in user.texts[-2]


async def test_a_code_bound_in_a_group_no_longer_registers_anyone(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: Factory
) -> None:
    staff = TgUser(dp, bot, user_id=5101)
    await _registered(bot_session_factory, staff, Role.staff, "police")
    posted = await _invite(bot_session_factory, Role.staff, "police")
    assert "工作群" in await _bind(dp, bot, 5101, -5100, posted.code)
    third = TgUser(dp, bot, user_id=5102)
    await third.send(f"/start {posted.code}")
    assert "登记没有成功" in third.last_text and "已被使用" in third.last_text
    assert (await _person(bot_session_factory, 5102)).role == Role.resident
    assert "已被使用" in await _bind(dp, bot, 5101, -5200, posted.code)


async def test_a_role_change_is_confirmed_with_buttons_before_the_code_is_used(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: Factory
) -> None:
    grid = TgUser(dp, bot, user_id=5201)
    await _registered(bot_session_factory, grid, Role.grid_worker, None)
    invite = await _invite(bot_session_factory, Role.staff, "police")
    await grid.send(f"/start {invite.code}")
    assert "确认变更吗" in grid.last_text and "网格员" in grid.last_text
    assert (await _person(bot_session_factory, 5201)).role == Role.grid_worker

    intruder = TgUser(dp, bot, user_id=5202)
    await intruder.send(f"/start {invite.code}")  # held for the grid worker meanwhile
    assert "确认使用中" in intruder.last_text
    await intruder.click(InviteChoice(action="yes", invite_id=invite.id or 0).pack())
    assert "已失效" in bot.alerts()[-1]
    assert (await _person(bot_session_factory, 5202)).role == Role.resident

    await grid.press("确认变更")
    assert any("登记成功" in text for text in grid.texts[-3:])
    person = await _person(bot_session_factory, 5201)
    assert person.role == Role.staff
    assert not any("确认变更" in label for label in grid.buttons)  # the question is answered


async def test_declining_a_role_change_keeps_the_role_and_the_code(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: Factory
) -> None:
    staff = TgUser(dp, bot, user_id=5301)
    await _registered(bot_session_factory, staff, Role.staff, "hrss")
    invite = await _invite(bot_session_factory, Role.unit_head, "police")
    await staff.send(f"/start {invite.code}")
    await staff.press("不变更")
    assert "没有被使用" in staff.last_text
    assert (await _person(bot_session_factory, 5301)).role == Role.staff
    newcomer = TgUser(dp, bot, user_id=5302)
    await newcomer.send(f"/start {invite.code}")
    assert (await _person(bot_session_factory, 5302)).role == Role.unit_head


async def test_a_moved_desk_tells_the_old_group_in_its_own_words(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: Factory
) -> None:
    staff = TgUser(dp, bot, user_id=5401)
    await _registered(bot_session_factory, staff, Role.staff, "police")
    first = await _invite(bot_session_factory, Role.staff, "police")
    await _bind(dp, bot, 5401, -5400, first.code)
    fresh = await _invite(bot_session_factory, Role.staff, "police")
    assert "原来的工作群已收到通知" in await _bind(dp, bot, 5401, -5500, fresh.code)
    async with bot_session_factory() as session:
        [row] = (
            await session.exec(select(OutboxMessage).where(OutboxMessage.kind == "desk_changed"))
        ).all()
        assert row.chat_id == -5400
        rendered = await render_notice(row, session=session)
    assert "本群已不再是" in rendered.text and "群-5500" in rendered.text
