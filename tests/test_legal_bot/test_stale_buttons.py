"""Forged, stale and other people's buttons are answered politely and change nothing."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Case, LegalQuestionLog
from bot.dialogs.legal import LegalAction
from bot.texts import t
from tests.tg import TgUser

from .conftest import USER_ID

# ours for "lg:…" buttons; the fallback router's for data that is not even ours
POLITE = {t("legal.stale_button", "zh"), t("common.button_expired", "zh")}


FORGED = (
    LegalAction(action="good", arg="999999").pack(),
    LegalAction(action="bad", arg="abc").pack(),
    LegalAction(action="entry", arg="no-such-entry").pack(),
    LegalAction(action="topic", arg="99").pack(),
    LegalAction(action="topic", arg="-1").pack(),
    LegalAction(action="topic", arg="0.99").pack(),  # a page that no longer exists
    LegalAction(action="lawyer", arg="999999").pack(),
    LegalAction(action="report", arg="").pack(),
    LegalAction(action="confirm").pack(),  # no hand-off in progress
    LegalAction(action="cancel").pack(),
    LegalAction(action="self-destruct", arg="1").pack(),
    "lg",
    "lg:",
    "lg:good",
    "lg:good:1:extra:fields",
)


async def test_forged_or_stale_legal_buttons_get_a_polite_alert(user: TgUser) -> None:
    for n, data in enumerate(FORGED):
        presser = TgUser(user.dp, user.bot, USER_ID + 10 + n)  # one each: no flood control
        await presser.click(data, message_id=77)
        alerts = user.bot.alerts()
        assert len(alerts) == n + 1, f"{data!r} was not answered"
        assert alerts[-1] in POLITE, data
    assert user.bot.calls("sendMessage") == []
    assert user.bot.calls("editMessageText") == []


async def test_someone_elses_question_cannot_be_rated_or_handed_off(
    user: TgUser, factory: async_sessionmaker[AsyncSession]
) -> None:
    await user.send("离婚了孩子的抚养费咋个算？")
    async with factory() as session:
        [row] = (await session.exec(select(LegalQuestionLog))).all()
    stranger = TgUser(user.dp, user.bot, USER_ID + 1)
    await stranger.click(LegalAction(action="good", arg=str(row.id)).pack())
    await stranger.click(LegalAction(action="lawyer", arg=str(row.id)).pack())
    await stranger.click(LegalAction(action="report", arg=str(row.id)).pack())
    assert user.bot.alerts() == [t("legal.stale_button", "zh")] * 3
    async with factory() as session:
        fresh = await session.get(LegalQuestionLog, row.id)
        assert fresh is not None and fresh.helpful is None
        assert (await session.exec(select(Case))).all() == []
