"""The conversation over the real, packaged knowledge base (content may grow: expectations are
read from knowledge_base itself, except the behaviours the issue fixes)."""

from __future__ import annotations

import pytest
from aiogram.types import InlineKeyboardMarkup
from aiogram_dialog.utils import CB_SEP
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

import knowledge_base
from backend.models import LegalQuestionLog
from bot.callbacks import MenuAction
from bot.dialogs.legal import LABEL_CHARS, _short
from tests.tg import TgUser

from .conftest import USER_ID


@pytest.mark.parametrize(
    "question",
    ["我开的公司股权被合伙人转走了怎么办？", "公司股权怎么转让", "商标被别人抢注了怎么办？"],
)
async def test_out_of_scope_question_is_handed_off_not_answered(
    real_user: TgUser, factory: async_sessionmaker[AsyncSession], question: str
) -> None:
    await real_user.click(MenuAction(action="legal").pack(), message_id=1)
    await real_user.send(question)
    assert "仅供参考" not in real_user.last_text
    assert "法律专家工作室" in real_user.last_text
    assert any("转给律师解答" in label for label in real_user.buttons)
    async with factory() as session:
        [row] = (await session.exec(select(LegalQuestionLog))).all()
    assert row.answered is False and row.question == question


async def test_common_question_gets_the_knowledge_base_answer_and_basis(
    real_user: TgUser,
) -> None:
    question = "离婚后孩子归哪个？"
    [top, *_] = knowledge_base.search(question)
    await real_user.send(question)
    card = real_user.last_text
    assert top.basis and top.basis.replace("<", "&lt;") in card
    assert "仅供参考，不构成正式法律意见" in card
    assert any("找律师（免费）" in label for label in real_user.buttons)


async def test_neighbour_taking_land_is_answered_and_offered_as_a_dispute(
    real_user: TgUser,
) -> None:
    question = "邻居占了我的地怎么办"
    [top, *_] = knowledge_base.search(question)
    assert top.dispute, "the knowledge base should flag this entry as a dispute"
    await real_user.send(question)
    assert "仅供参考" in real_user.last_text
    assert any("把这件事作为纠纷反映" in label for label in real_user.buttons)


async def test_every_topic_lists_all_its_entries_page_by_page(real_user: TgUser) -> None:
    topics = knowledge_base.topics()
    assert topics
    for index, topic in enumerate(topics):
        # one reader per topic: flood control would slow a single user down after 30 presses
        reader = TgUser(real_user.dp, real_user.bot, USER_ID + 1 + index)
        await reader.click(MenuAction(action="legal").pack(), message_id=1)
        await reader.press("按主题查看")
        await reader.press(topic)
        listed: list[str] = []
        while True:
            markup = reader.bot.last_markup(reader.user_id)
            assert isinstance(markup, InlineKeyboardMarkup)
            buttons = [b for row in markup.inline_keyboard for b in row]
            assert len(buttons) <= 15  # a page, not a wall of buttons
            listed += [b.text for b in buttons if f"{CB_SEP}question:" in (b.callback_data or "")]
            next_page = [b for b in buttons if "下一页" in b.text]
            if not next_page:
                break
            await reader.click(next_page[0].callback_data or "")
        expected = [
            _short(e.question, LABEL_CHARS) for e in knowledge_base.entries_for_topic(topic)
        ]
        assert listed == expected, topic
    assert real_user.bot.alerts() == []
