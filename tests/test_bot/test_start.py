"""/start, /help, /cancel, /lang and the main menu."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Role
from backend.services import directory
from tests.tg import TgUser


async def test_start_greets_and_shows_the_main_menu(resident: TgUser) -> None:
    await resident.send("/start")
    assert "综治中心" in resident.last_text
    assert "反映问题" in resident.last_text
    assert any("法律咨询" in b for b in resident.buttons)
    assert any("查询办理进度" in b for b in resident.buttons)


async def test_lang_switches_to_english_and_back(resident: TgUser) -> None:
    await resident.send("/lang")
    await resident.press("English")
    await resident.send("/start")
    assert "Midu County" in resident.last_text
    await resident.send("/lang")
    await resident.press("简体中文")
    await resident.send("/help")
    assert "使用帮助" in resident.last_text


async def test_help_and_cancel_always_answer(resident: TgUser) -> None:
    await resident.send("/help")
    assert "/cancel" in resident.last_text
    await resident.send("/cancel")
    assert "没有进行中的操作" in resident.texts[-2]
    await resident.press("使用帮助")
    assert "使用帮助" in resident.last_text


async def test_short_greetings_get_a_greeting_and_the_menu_not_a_report(
    resident: TgUser,
) -> None:
    await resident.send("你好")
    assert "您好" in resident.last_text and "没看懂" not in resident.last_text
    assert any("反映问题" in b for b in resident.buttons)


async def test_staff_registration_sets_staff_commands_and_greeting(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with bot_session_factory() as session:
        invite = await directory.create_invite(
            session=session, role=Role.staff, unit_code="police"
        )
    await resident.send(f"/start {invite.code}")
    assert "登记成功" in resident.texts[-2]
    await resident.send("/start")
    assert "工作人员" in resident.last_text
    scoped = [m for m in resident.bot.calls("setMyCommands") if m.scope and m.scope.type == "chat"]
    assert any(c.command == "web" for c in scoped[-1].commands)
    await resident.send(f"/start {invite.code}")  # the invite is single use
    assert "登记没有成功" in resident.texts[-2]


async def test_a_start_parameter_that_is_no_invite_just_opens_the_greeting(
    resident: TgUser,
) -> None:
    await resident.send("/start from_poster_2026")
    assert "综治中心" in resident.last_text
    assert not any("登记没有成功" in text for text in resident.texts)
