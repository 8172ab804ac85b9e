"""Forged, stale and other people's buttons are answered politely and change nothing."""

from __future__ import annotations

from aiogram_dialog.utils import CB_SEP
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Case, LegalQuestionLog
from bot.texts import t
from tests.tg import TgUser

from .conftest import USER_ID

# ours for the consultation's buttons; the fallback router's for data that is not even ours
POLITE = {t("legal.stale_button", "zh"), t("common.button_expired", "zh")}

WIDGETS = ("good", "bad", "lawyer", "handoff", "report", "entry", "topic", "question", "none")
FORGED = (
    *(f"nOsUcH01{CB_SEP}{widget}" for widget in WIDGETS),  # a dialog that never existed
    f"nOsUcH01{CB_SEP}entry:0",
    f"nOsUcH01{CB_SEP}topic:99",
    f"{CB_SEP}confirm",  # no intent at all
    "lg:good:999999",  # the old consultation's buttons (a message from before the update)
    "lg:confirm:",
    "lg",
    "lg:",
)


def _intent(user: TgUser) -> str:
    """The intent id on the newest card's buttons (the resident's own open consultation)."""
    markup = user.bot.session.messages[(user.user_id, user._last_inline_message_id())]["markup"]
    data = markup.inline_keyboard[0][0].callback_data
    assert data and CB_SEP in data
    return str(data.split(CB_SEP)[0])


async def test_forged_or_stale_legal_buttons_get_a_polite_alert(user: TgUser) -> None:
    for n, data in enumerate(FORGED):
        presser = TgUser(user.dp, user.bot, USER_ID + 10 + n)  # one each: no flood control
        await presser.click(data, message_id=77)
        alerts = user.bot.alerts()
        assert len(alerts) == n + 1, f"{data!r} was not answered"
        assert alerts[-1] in POLITE, data
    assert user.bot.calls("sendMessage") == []
    assert user.bot.calls("editMessageText") == []


async def test_forged_items_in_ones_own_consultation_change_nothing(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    """Entry, topic and page numbers that the card does not have: a polite alert, no answer."""
    await user.send("离婚了孩子的抚养费咋个算？")
    intent = _intent(user)
    before = len(user.texts)
    for item in ("entry:9", "entry:-1", "entry:abc", "topic:99", "question:5", "topic_pages:x"):
        await user.click(f"{intent}{CB_SEP}{item}")
    assert len(user.texts) == before or "抚养费一般按月给付" in user.last_text
    assert all(alert in POLITE for alert in user.bot.alerts())
    async with factory() as session:
        assert len((await session.exec(select(LegalQuestionLog))).all()) == 1


async def test_someone_elses_question_cannot_be_rated_or_handed_off(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    await user.send("离婚了孩子的抚养费咋个算？")
    intent = _intent(user)
    stranger = TgUser(user.dp, user.bot, USER_ID + 1)
    for widget in ("good", "lawyer", "report"):
        await stranger.click(f"{intent}{CB_SEP}{widget}")
    assert user.bot.alerts() == [t("common.button_expired", "zh")] * 3
    async with factory() as session:
        [row] = (await session.exec(select(LegalQuestionLog))).all()
        assert row.helpful is None
        assert (await session.exec(select(Case))).all() == []
