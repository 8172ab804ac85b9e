"""找律师 / unanswered questions → a case for the 司法局 法律专家工作室 (SQLite and PostgreSQL)."""

from __future__ import annotations

from aiogram.types import ReplyKeyboardMarkup, ReplyKeyboardRemove
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Case, LegalQuestionLog, Unit
from bot.callbacks import MenuAction
from bot.texts import t
from tests.tg import TgUser

OUT_OF_SCOPE = "我在昆明开的公司，股权被合伙人偷偷转走了怎么办？"


async def _cases(factory: async_sessionmaker[AsyncSession]) -> list[Case]:
    async with factory() as session:
        return list((await session.exec(select(Case))).all())


async def _unit_code(factory: async_sessionmaker[AsyncSession], unit_id: int | None) -> str:
    async with factory() as session:
        unit = await session.get(Unit, unit_id)
        assert unit is not None
        return unit.code


async def test_unanswered_question_hands_off_to_the_legal_desk_with_the_question(
    any_db_user: TgUser, any_db_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = any_db_user
    await user.click(MenuAction(action="legal").pack(), message_id=1)
    await user.send(OUT_OF_SCOPE)

    offer = user.last_text
    assert "法律专家工作室" in offer and "股权被合伙人偷偷转走了" in offer
    assert "仅供参考" not in offer  # no (wrong) answer was given
    async with any_db_factory() as session:
        [row] = (await session.exec(select(LegalQuestionLog))).all()
        assert row.answered is False and row.entry_id is None  # the admin's list

    await user.press("转给律师解答")
    reply_keyboard = user.bot.session.reply_keyboards[user.user_id]["markup"]
    assert isinstance(reply_keyboard, ReplyKeyboardMarkup)
    assert reply_keyboard.keyboard[0][0].request_contact is True
    await user.send_contact("+86 138-1234-5678")
    assert isinstance(
        user.bot.session.reply_keyboards[user.user_id]["markup"], ReplyKeyboardRemove
    )
    assert "13812345678" in user.last_text and "请确认" in user.last_text
    assert await _cases(any_db_factory) == []  # nothing before the confirmation

    await user.press("确认提交")

    [case] = await _cases(any_db_factory)
    assert case.text == OUT_OF_SCOPE
    assert case.category == "C10"
    assert case.department == "justice"
    assert await _unit_code(any_db_factory, case.lead_unit_id) == "justice"
    assert case.contact_phone == "13812345678" and not case.anonymous
    done = user.last_text
    assert case.code in done
    assert "法律专家工作室" in done and "3个工作日内" in done and "12348" in done
    assert user.bot.alerts() == []


async def test_lawyer_button_on_an_answer_card_hands_off_anonymously(
    any_db_user: TgUser, any_db_factory: async_sessionmaker[AsyncSession]
) -> None:
    user = any_db_user
    await user.send("离婚了孩子的抚养费咋个算？")
    await user.press("找律师（免费）")
    assert "手机号" in user.last_text
    await user.press("不留电话（匿名）")
    assert "匿名" in user.last_text
    await user.press("确认提交")
    [case] = await _cases(any_db_factory)
    assert case.text == "离婚了孩子的抚养费咋个算？"
    assert case.anonymous and case.contact_phone is None
    assert case.category == "C10" and case.department == "justice"
    assert "通过本机器人答复您" in user.last_text


async def test_double_confirm_creates_one_case(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    await user.send(OUT_OF_SCOPE)
    await user.press("转给律师解答")
    await user.send("13812345678")  # typed instead of shared
    confirm_card = user._last_inline_message_id()
    markup = user.bot.session.messages[(user.user_id, confirm_card)]["markup"]
    [confirm] = [
        b.callback_data for row in markup.inline_keyboard for b in row if "确认" in b.text
    ]
    await user.send("好了没有")  # typing instead of pressing
    assert "确认提交" in user.last_text
    await user.press("确认提交")
    await user.click(confirm or "", message_id=confirm_card)  # pressed again (slow network)
    assert len(await _cases(factory)) == 1
    assert user.bot.alerts()[-1] in {
        t("legal.stale_button", "zh"),
        t("common.button_expired", "zh"),
    }


async def test_lawyer_from_a_browsed_answer_asks_for_the_question_first(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    await user.click(MenuAction(action="legal").pack(), message_id=1)
    await user.press("按主题查看")
    await user.press("婚姻家庭")
    await user.press("怎么到法院起诉离婚？")
    await user.press("找律师（免费）")
    assert "请简单写下您想请律师解答的问题" in user.last_text
    await user.send_sticker()
    assert "请用文字写下您的问题" in user.last_text
    await user.send("我老公不同意离婚，我能自己去起诉吗")
    await user.press("不留电话（匿名）")
    await user.press("确认提交")
    [case] = await _cases(factory)
    assert case.text == "我老公不同意离婚，我能自己去起诉吗"


async def test_cancel_during_handoff_creates_no_case(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    await user.send(OUT_OF_SCOPE)
    await user.press("转给律师解答")
    await user.press("取消")  # the reply-keyboard button
    assert "已取消" in user.last_text
    await user.send(OUT_OF_SCOPE)
    await user.press("转给律师解答")
    await user.press("不留电话（匿名）")
    await user.press("取消")  # the inline button on the confirmation
    assert "已取消" in user.last_text
    assert await _cases(factory) == []


async def test_someone_elses_contact_and_bad_numbers_are_refused(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    await user.send(OUT_OF_SCOPE)
    await user.press("转给律师解答")
    await user.send_contact("13900001111", own=False)
    assert "您本人的号码" in user.last_text
    await user.send("12345")
    assert "号码好像不对" in user.last_text
    await user.send_sticker()
    assert "留下手机号" in user.last_text
    await user.send("0872-1234567")  # a landline is fine
    await user.press("确认提交")
    [case] = await _cases(factory)
    assert case.contact_phone == "08721234567"


async def test_cancel_command_ends_the_handoff(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    await user.send(OUT_OF_SCOPE)
    await user.press("转给律师解答")
    await user.send("/cancel")
    await user.send("13812345678")  # no longer in the hand-off: not taken as a phone number
    assert await _cases(factory) == []
    assert "请确认" not in user.last_text
