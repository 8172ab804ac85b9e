"""Asking, answering, feedback and browsing, through the dispatcher with real Update objects."""

from __future__ import annotations

from aiogram import Dispatcher
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import LegalQuestionLog
from backend.services import directory
from bot.callbacks import MenuAction
from bot.dialogs.flow import draft_text
from bot.dialogs.states import ReportSG
from tests.mocked_bot import MockedBot, button_texts
from tests.tg import TgUser, make_group_message_update

from .conftest import USER_ID, FakeKnowledge


async def _logs(factory: async_sessionmaker[AsyncSession]) -> list[LegalQuestionLog]:
    async with factory() as session:
        return list((await session.exec(select(LegalQuestionLog))).all())


async def open_legal(user: TgUser) -> None:
    await user.click(MenuAction(action="legal").pack(), message_id=1)


async def test_menu_question_gets_answer_card_with_basis_and_disclaimer(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    await open_legal(user)
    assert "请用自己的话说说您遇到的问题" in user.last_text
    assert any("按主题" in label for label in user.buttons)

    await user.send("离婚了孩子的抚养费咋个算？")

    card = user.last_text
    assert "抚养费一般按月给付" in card
    assert "法律依据：" in card and "《民法典》第1085条（2020年版）" in card
    assert "仅供参考，不构成正式法律意见" in card
    labels = user.buttons
    for expected in ("有帮助", "没帮助", "找律师（免费）", "返回主菜单"):
        assert any(expected in label for label in labels), (expected, labels)
    # the entry's own related questions (at most three), not a report offer: no dispute
    assert "离婚后孩子归哪个？" in labels and "怎么到法院起诉离婚？" in labels
    assert not any("纠纷反映" in label for label in labels)

    [row] = await _logs(factory)
    assert row.question == "离婚了孩子的抚养费咋个算？"
    assert row.entry_id == "fam-child-support" and row.answered and row.person_id is not None


async def test_follow_up_question_in_the_same_consultation_is_answered(user: TgUser) -> None:
    await open_legal(user)
    await user.send("离婚抚养费")
    await user.send("邻居占了我家的地咋个整")
    assert "先找村调委调解" in user.last_text


async def test_free_text_question_outside_a_flow_is_answered(user: TgUser) -> None:
    await user.send("离婚了孩子的抚养费咋个算？")
    assert "抚养费一般按月给付" in user.last_text
    assert "仅供参考" in user.last_text
    # typed outside any flow, it may have been meant as a report: offer that too
    assert "📝 我要反映这件事" in user.buttons


async def test_confident_hit_without_question_words_is_answered(user: TgUser) -> None:
    await user.send("离婚抚养费")  # no question word, but the knowledge base is sure (0.9)
    assert "抚养费一般按月给付" in user.last_text


async def test_plain_statement_outside_a_flow_is_left_to_the_fallback(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    await user.send("我家门口的路灯坏了")
    assert "仅供参考" not in user.last_text
    assert "律师" not in user.last_text
    assert await _logs(factory) == []


async def test_greeting_with_a_question_mark_particle_is_not_a_legal_question(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    await user.send("在吗")
    assert await _logs(factory) == []


async def test_group_messages_are_never_answered(
    dp: Dispatcher, bot: MockedBot, factory: async_sessionmaker[AsyncSession]
) -> None:
    await dp.feed_update(bot, make_group_message_update(USER_ID, -100777, "离婚抚养费怎么算？"))
    assert bot.calls("sendMessage", chat_id=-100777) == []
    assert await _logs(factory) == []


async def test_helpful_is_recorded(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    await user.send("离婚了孩子的抚养费咋个算？")
    await user.press("有帮助")
    assert "谢谢您的反馈" in user.bot.alerts()[-1]
    [row] = await _logs(factory)
    assert row.helpful is True


async def test_unhelpful_is_recorded_and_offers_other_answers_or_a_lawyer(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    await user.send("离婚了孩子的抚养费咋个算？")
    await user.press("没帮助")
    [row] = await _logs(factory)
    assert row.helpful is False
    assert "抱歉没能帮上忙" in user.last_text
    assert "离婚后孩子归哪个？" in user.buttons  # the runner-up hit
    assert "离婚后孩子的抚养费怎么算？" not in user.buttons  # not the answer just rejected
    assert any("找律师" in label for label in user.buttons)
    await user.press("离婚后孩子归哪个？")
    assert "以由母亲直接抚养为原则" in user.last_text


async def test_browse_by_topic_shows_topics_then_entries_then_the_card(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    await open_legal(user)
    await user.press("按主题查看")
    assert "请选择一个主题" in user.last_text
    assert user.buttons[:2] == ["婚姻家庭", "相邻关系"]
    await user.press("婚姻家庭")
    assert "婚姻家庭" in user.last_text
    assert "怎么到法院起诉离婚？" in user.buttons
    await user.press("怎么到法院起诉离婚？")
    assert "基层人民法院起诉离婚" in user.last_text
    assert "《民法典》第1079条" in user.last_text
    assert "仅供参考" in user.last_text
    await user.press("有帮助")
    [row] = await _logs(factory)
    assert row.entry_id == "fam-divorce-court" and row.helpful is True


async def test_related_question_button_opens_that_answer(user: TgUser) -> None:
    await user.send("离婚了孩子的抚养费咋个算？")
    await user.press("离婚后孩子归哪个？")
    assert "已满八周岁的，应当尊重其真实意愿" in user.last_text


async def test_dispute_question_offers_to_file_it_as_a_report(user: TgUser) -> None:
    await user.send("邻居占了我家的地咋个整")
    assert "先找村调委调解" in user.last_text
    assert any("把这件事作为纠纷反映" in label for label in user.buttons)


async def test_sticker_in_the_question_step_gets_a_hint(user: TgUser) -> None:
    await open_legal(user)
    await user.send_sticker()
    assert "请用文字写下您的问题" in user.last_text
    await user.send("离婚抚养费")  # still in the consultation
    assert "抚养费一般按月给付" in user.last_text


async def test_a_5000_character_question_is_handled(
    user: TgUser, fake_kb: FakeKnowledge, factory: async_sessionmaker[AsyncSession]
) -> None:
    question = "我想问一下" + "情况是这样的，" * 713 + "怎么办？"
    assert len(question) >= 5000
    await open_legal(user)
    await user.send(question)
    assert "法律专家工作室" in user.last_text
    assert len(user.last_text) < 1000  # the card echoes only the beginning
    assert all(len(q) <= 1000 for q in fake_kb.searches)
    [row] = await _logs(factory)
    assert row.question == question[:5000] and not row.answered


async def test_user_text_is_escaped_in_cards(user: TgUser) -> None:
    await open_legal(user)
    await user.send("<script>alert(1)</script> 我的公司股权怎么办？")
    assert "&lt;script&gt;" in user.last_text
    assert "<script>" not in user.last_text


async def test_answer_card_buttons_fit_telegram_limits(user: TgUser) -> None:
    await user.send("离婚了孩子的抚养费咋个算？")
    markup = user.bot.last_markup(USER_ID)
    assert isinstance(markup, InlineKeyboardMarkup)
    for row in markup.inline_keyboard:
        for button in row:
            assert button.callback_data is not None
            assert len(button.callback_data.encode()) <= 64
    assert len(button_texts(markup)) <= 8


async def test_filing_a_dispute_starts_the_report_flow_with_the_question(
    user: TgUser, dp: Dispatcher, bot: MockedBot
) -> None:
    await user.send("邻居占了我家的地咋个整")
    await user.press("把这件事作为纠纷反映")
    context = dp.fsm.get_context(bot, chat_id=USER_ID, user_id=USER_ID)
    assert await context.get_state() == ReportSG.text.state
    assert draft_text(await context.get_data()) == "邻居占了我家的地咋个整"
    assert user.bot.alerts() == []


async def test_english_speaker_gets_the_consultation_in_english(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    await user.send("/start")
    async with factory() as session:
        person = await directory.get_person_by_telegram_id(session=session, telegram_id=USER_ID)
        assert person is not None
        await directory.set_language(session=session, person=person, language="en")
    await open_legal(user)
    assert "Tell me your question in your own words" in user.last_text
    await user.send("离婚了孩子的抚养费咋个算？")
    assert "Legal basis:" in user.last_text
    assert "For reference only; this is not formal legal advice." in user.last_text
    assert any("Ask a lawyer (free)" in label for label in user.buttons)


async def test_a_question_signalling_danger_shows_the_emergency_numbers_first(
    user: TgUser, dp: Dispatcher, bot: MockedBot
) -> None:
    await user.send("我不想活了，活着还有哪样意思？")
    texts = user.texts
    safety = next(i for i, text in enumerate(texts) if "12356" in text)
    assert "110" in texts[safety] and "120" in texts[safety]
    assert safety < len(texts) - 1  # a report is started with it (the risk gate's rule)
    context = dp.fsm.get_context(bot, chat_id=USER_ID, user_id=USER_ID)
    assert await context.get_state() == ReportSG.text.state
    assert draft_text(await context.get_data()) == "我不想活了，活着还有哪样意思？"
    assert any("立即报告" in label for label in user.buttons)
