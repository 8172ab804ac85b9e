"""/start, /help, /cancel, /lang and the main menu."""

from __future__ import annotations

import pytest
from aiogram.types import InlineKeyboardMarkup, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Role
from backend.services import directory
from bot.callbacks import Flow
from tests.mocked_bot import button_texts
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
    assert "没有进行中的操作" in resident.last_text
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
    assert "登记没有成功" in resident.last_text


async def test_a_start_parameter_that_is_no_invite_just_opens_the_greeting(
    resident: TgUser,
) -> None:
    await resident.send("/start from_poster_2026")
    assert "综治中心" in resident.last_text
    assert not any("登记没有成功" in text for text in resident.texts)


def _menus_sent(user: TgUser, before: int) -> int:
    """How many messages since request ``before`` carried the main menu (its 反映问题 button)."""
    sent = user.bot.requests[before:]
    return sum(
        1
        for m in sent
        if m.__api_method__ == "sendMessage"
        and isinstance(m.reply_markup, InlineKeyboardMarkup)
        and any("反映问题" in label for label in button_texts(m.reply_markup))
    )


@pytest.mark.parametrize(
    "turn",
    ["/start", "/cancel", "/start abcdefgh12", "/start MD20261204-0002", "/start case_MD1-1"],
)
async def test_every_start_and_cancel_turn_sends_one_menu(resident: TgUser, turn: str) -> None:
    await resident.send("/start")
    before = len(resident.bot.requests)
    await resident.send(turn)
    assert _menus_sent(resident, before) <= 1
    assert len(resident.bot.requests) - before <= 2


async def test_cancel_inside_a_report_sends_one_menu_and_removes_the_step_keyboard(
    resident: TgUser,
) -> None:
    await resident.send("/start")
    await resident.press("反映问题")
    before = len(resident.bot.requests)
    await resident.send("/cancel")
    assert _menus_sent(resident, before) == 1
    assert any(
        isinstance(getattr(m, "reply_markup", None), ReplyKeyboardRemove)
        for m in resident.bot.requests[before:]
    )


async def test_cancel_beside_a_saved_draft_offers_to_continue_or_delete_it(
    resident: TgUser,
) -> None:
    await resident.send("/start")
    await resident.press("反映问题")
    await resident.send("路灯坏了好几天了，晚上走路很黑。")
    await resident.send("/start")  # parks the draft
    await resident.send("/cancel")
    assert "没有进行中的操作" not in resident.last_text
    assert "保存" in resident.last_text and "没有提交" in resident.last_text
    await resident.press("继续填写")
    assert any("下一步" in label for label in resident.buttons)  # back in the describe step


async def test_deleting_a_saved_draft_says_so_and_the_button_then_expires(
    resident: TgUser,
) -> None:
    await resident.send("/start")
    await resident.press("反映问题")
    await resident.send("路灯坏了好几天了，晚上走路很黑。")
    await resident.send("/start")
    await resident.send("/cancel")
    offer_id = resident._last_inline_message_id()
    await resident.press("删除草稿")
    assert "草稿已删除" in resident.last_text
    await resident.click(Flow(action="discard").pack(), message_id=offer_id)  # pressed again
    assert "失效" in resident.bot.alerts()[-1]
    await resident.press("反映问题")
    assert "发生了什么" in resident.last_text  # a fresh report: no resume prompt


async def test_a_case_code_as_start_parameter_opens_the_case_not_an_invite_error(
    resident: TgUser,
) -> None:
    await resident.send("/start MD20261204-0002")
    assert "登记没有成功" not in resident.last_text
    assert "没有找到" in resident.last_text and "MD20261204-0002" in resident.last_text
