"""What the bot does with each kind of message, at the main menu and inside the consultation:
small talk gets a friendly reply and the menu, off-topic a polite decline without a lawyer,
a problem for a department the report flow, and a legal question its band (answer card,
"您想问的是不是", hand-off offer). The hand-off case is only ever made from a real question."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram import Dispatcher
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Case, LegalQuestionLog
from bot.callbacks import MenuAction
from bot.dialogs.flow import draft_text
from bot.dialogs.states import LegalSG, ReportSG
from bot.middlewares.risk_gate import open_dialog_state
from tests.mocked_bot import MockedBot
from tests.tg import TgUser

from .conftest import USER_ID

CHITCHAT = ["好的", "很好", "你好", "谢谢", "嗯嗯", "👍", "12345", "在吗", "拜拜"]
OFF_TOPIC = ["明天弥渡会不会下雨？", "红烧肉怎么做？", "去大理的班车几点发车", "话费怎么充"]
REPORTS = ["路灯坏了好几天了没人修", "隔壁工厂晚上噪音太大", "村口的井盖丢了"]


async def _logs(factory: async_sessionmaker[AsyncSession]) -> list[LegalQuestionLog]:
    async with factory() as session:
        return list((await session.exec(select(LegalQuestionLog))).all())


async def _cases(factory: async_sessionmaker[AsyncSession]) -> list[Case]:
    async with factory() as session:
        return list((await session.exec(select(Case))).all())


async def _state(dp: Dispatcher, bot: MockedBot) -> str | None:
    """The step the resident is in: an FSM state (the report) or the open dialog's window."""
    context = dp.fsm.get_context(bot, chat_id=USER_ID, user_id=USER_ID)
    return await context.get_state() or await open_dialog_state(context)


def _buttons(user: TgUser, message_id: int) -> list[Any]:
    markup = user.bot.session.messages[(user.user_id, message_id)]["markup"]
    return [b for row in markup.inline_keyboard for b in row] if markup else []


def _no_answer_and_no_lawyer(user: TgUser) -> None:
    assert "仅供参考" not in user.last_text and "法律专家工作室" not in user.last_text
    assert not any("律师" in label for label in user.buttons), user.buttons


async def open_legal(user: TgUser) -> None:
    await user.click(MenuAction(action="legal").pack(), message_id=1)


@pytest.mark.parametrize("text", CHITCHAT)
async def test_small_talk_at_the_main_menu_gets_a_friendly_reply_and_the_menu(
    user: TgUser,
    factory: async_sessionmaker[AsyncSession],
    dp: Dispatcher,
    bot: MockedBot,
    text: str,
) -> None:
    await user.send(text)
    _no_answer_and_no_lawyer(user)
    assert "没看懂" not in user.last_text or text in {"👍", "12345"}
    assert any("免费法律咨询" in label for label in user.buttons)  # the main menu
    assert await _state(dp, bot) is None  # no report draft was started
    assert await _logs(factory) == []


@pytest.mark.parametrize("text", CHITCHAT)
async def test_small_talk_inside_the_consultation_gets_a_friendly_reply(
    user: TgUser,
    factory: async_sessionmaker[AsyncSession],
    dp: Dispatcher,
    bot: MockedBot,
    text: str,
) -> None:
    await open_legal(user)
    await user.send(text)
    _no_answer_and_no_lawyer(user)
    assert any("免费法律咨询" in label for label in user.buttons)
    assert await _state(dp, bot) == LegalSG.question.state  # the resident may still ask
    assert await _logs(factory) == []


async def test_greetings_and_thanks_get_their_own_reply(user: TgUser) -> None:
    await user.send("你好")
    assert "您好" in user.last_text
    await user.send("谢谢")
    assert "不客气" in user.last_text


@pytest.mark.parametrize("text", OFF_TOPIC)
@pytest.mark.parametrize("where", ["menu", "consultation"])
async def test_off_topic_questions_are_declined_politely_without_a_lawyer(
    user: TgUser, factory: async_sessionmaker[AsyncSession], text: str, where: str
) -> None:
    if where == "consultation":
        await open_legal(user)
    await user.send(text)
    assert "不在法律咨询的范围" in user.last_text
    _no_answer_and_no_lawyer(user)
    assert await _logs(factory) == []


async def test_an_off_topic_question_points_where_to_go(user: TgUser) -> None:
    await user.send("去大理的班车几点发车")
    assert "12345" in user.last_text
    await user.send("话费怎么充")
    assert "10086" in user.last_text


@pytest.mark.parametrize("text", REPORTS)
async def test_a_problem_for_a_department_at_the_menu_starts_the_report_flow(
    user: TgUser, dp: Dispatcher, bot: MockedBot, text: str
) -> None:
    await user.send(text)
    assert await _state(dp, bot) == ReportSG.text.state
    context = dp.fsm.get_context(bot, chat_id=USER_ID, user_id=USER_ID)
    assert draft_text(await context.get_data()) == text
    assert "仅供参考" not in "".join(user.texts)


@pytest.mark.parametrize("text", REPORTS)
async def test_a_problem_for_a_department_in_the_consultation_is_offered_the_report_flow(
    user: TgUser,
    factory: async_sessionmaker[AsyncSession],
    dp: Dispatcher,
    bot: MockedBot,
    text: str,
) -> None:
    await open_legal(user)
    await user.send(text)
    assert "反映给综治中心" in user.last_text
    _no_answer_and_no_lawyer(user)
    assert await _logs(factory) == []

    await user.press("我要反映这件事")
    assert await _state(dp, bot) == ReportSG.text.state
    context = dp.fsm.get_context(bot, chat_id=USER_ID, user_id=USER_ID)
    assert draft_text(await context.get_data()) == text


async def test_misconduct_of_a_village_official_points_to_the_discipline_commission(
    user: TgUser,
) -> None:
    await open_legal(user)
    await user.send("村主任贪污低保款")
    assert "12388" in user.last_text and "反映给综治中心" in user.last_text


async def test_the_report_button_of_an_old_offer_is_stale_after_the_state_is_gone(
    user: TgUser, dp: Dispatcher, bot: MockedBot
) -> None:
    await open_legal(user)
    await user.send("路灯坏了好几天了没人修")
    offer = user._last_inline_message_id()
    [data] = [b.callback_data for b in _buttons(user, offer) if "我要反映这件事" in b.text]
    await user.send("/cancel")
    assert not _buttons(user, offer)  # the offer lost its buttons
    await user.click(data or "", message_id=offer)  # pressed anyway (an old client)
    assert user.bot.alerts()  # "这个按钮已失效"
    assert await _state(dp, bot) is None


async def test_a_middle_match_shows_the_candidates_and_one_opens_its_answer(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    await open_legal(user)
    await user.send("孩子的事情想问问")
    assert "您想问的是不是" in user.last_text
    assert "仅供参考" not in user.last_text
    labels = user.buttons
    assert "离婚后孩子的抚养费怎么算？" in labels and "离婚后孩子归哪个？" in labels
    assert any("都不是" in label for label in labels)
    [row] = await _logs(factory)
    assert row.answered is False  # a suggestion is not an answer: it stays on the admin's list

    await user.press("离婚后孩子归哪个？")
    assert "以由母亲直接抚养为原则" in user.last_text and "仅供参考" in user.last_text


async def test_none_of_the_candidates_hands_the_question_to_a_lawyer(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    await open_legal(user)
    await user.send("孩子的事情想问问")
    await user.press("都不是")
    assert "手机号" in user.last_text
    await user.press("不留电话")
    await user.press("确认提交")
    [case] = await _cases(factory)
    assert case.text == "孩子的事情想问问" and case.department == "justice"


async def test_a_clear_match_is_answered_and_no_match_is_offered_to_a_lawyer(
    user: TgUser,
) -> None:
    await open_legal(user)
    await user.send("离婚了孩子的抚养费咋个算？")
    assert "抚养费一般按月给付" in user.last_text
    await user.send("我家承包的鱼塘被人投毒了，损失能找谁要？")
    assert "法律专家工作室" in user.last_text
    assert any("转给律师解答" in label for label in user.buttons)


@pytest.mark.parametrize("chatter", ["好的", "明天会下雨吗？", "谢谢"])
async def test_the_lawyer_desk_gets_a_real_question_not_small_talk(
    user: TgUser,
    factory: async_sessionmaker[AsyncSession],
    dp: Dispatcher,
    bot: MockedBot,
    chatter: str,
) -> None:
    # 找律师 under a browsed entry (no typed question) asks what the lawyer should answer
    await open_legal(user)
    await user.press("按主题")
    await user.press("婚姻家庭")
    await user.press("离婚后孩子归哪个？")
    await user.press("找律师")
    assert await _state(dp, bot) == LegalSG.handoff_question.state
    await user.send(chatter)
    assert "请写下您想请律师解答的法律问题" in user.last_text
    assert await _state(dp, bot) == LegalSG.handoff_question.state
    await user.send("孩子八岁了，他爸一直不给抚养费")
    assert "手机号" in user.last_text
