"""The risk gate: danger typed anywhere gets the safety message first, and the text is kept.

The state test enumerates every state of every resident-side dialog from ``bot/dialogs/states.py``
(plus the main menu and the resume prompt), so a dialog added later is covered without editing
this file.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Dispatcher
from aiogram.fsm.state import StatesGroup
from aiogram_dialog.manager.bg_manager import BgManagerFactoryImpl
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.county import load_county
from backend.db import create_engine, create_session_factory
from backend.models import (
    Attachment,
    Case,
    CaseStatus,
    LegalQuestionLog,
    Person,
    Rating,
    RatingScore,
    RiskLevel,
    Role,
)
from backend.services import directory, intake, workflow
from backend.services.intake import ReportDraft
from bot.callbacks import Flow, RateCase
from bot.dialogs import states
from bot.dialogs.flow import GRID, RESIDENT, draft_text, new_draft
from bot.factory import create_dispatcher
from bot.handlers.staff import StaffSG
from bot.middlewares import risk_gate
from tests.mocked_bot import MockedBot
from tests.test_bot.conftest import make_settings
from tests.tg import TgUser, make_group_message_update, make_photo_update

RED = "他拿着菜刀在我家门口说要砍死我全家，现在还没走"
HARMLESS = "村里的路灯坏了两个月了，晚上很黑，老人出门不方便"
MAIN_MENU = "(main menu, no state)"
RESUME_PROMPT = "(resume prompt, a parked draft)"
SAFETY_NUMBERS = ("110", "120", "12356")

_user_ids = itertools.count(40_000)


def dialog_states() -> list[str]:
    """Every state of every StatesGroup declared in bot/dialogs/states.py."""
    groups = [
        group
        for _, group in inspect.getmembers(states, inspect.isclass)
        if issubclass(group, StatesGroup) and group is not StatesGroup
    ]
    return sorted(name for group in groups for name in group.__all_states_names__)


PLACES = [MAIN_MENU, RESUME_PROMPT, *dialog_states()]


def _is_safety(text: str) -> bool:
    return all(number in text for number in SAFETY_NUMBERS)


async def _cases(factory: async_sessionmaker[AsyncSession]) -> list[Case]:
    async with factory() as session:
        return list((await session.exec(select(Case))).all())


async def _grid_worker(
    dp: Dispatcher, bot: MockedBot, factory: async_sessionmaker[AsyncSession], user_id: int
) -> TgUser:
    async with factory() as session:
        invite = await directory.create_invite(
            session=session, role=Role.grid_worker, unit_code="township:弥城镇"
        )
    user = TgUser(dp, bot, user_id=user_id, first_name="李网格")
    await user.send(f"/start {invite.code}")
    return user


async def _put_in(user: TgUser, place: str) -> None:
    """Bring the user to ``place`` with an unfinished report (or other dialog data) behind it."""
    context = user.dp.fsm.get_context(user.bot, chat_id=user.user_id, user_id=user.user_id)
    if place == MAIN_MENU:
        await user.send("/start")
        return
    if place == RESUME_PROMPT:
        await user.send("/start")
        await user.press("反映问题")
        await user.send(HARMLESS)
        await user.send("/start")  # parks the draft; the next text meets the resume prompt
        return
    group = place.split(":")[0]
    if group in DIALOG_GROUPS:  # an aiogram-dialog: opened on that window for real
        await user.send("/start")
        state = getattr(states, group)
        target = place.split(":")[1]
        steps = LEGAL_STEPS.get(target, ()) if group == "LegalSG" else ()
        data = DIALOG_START_DATA.get(group)
        if steps:  # the hand-off steps are reached from a card, by its buttons
            target, data = "reply", {"card": {**LEGAL_CARD, "question": steps[0]}}
        bg = BgManagerFactoryImpl(user.dp)
        manager = bg.bg(user.bot, user.user_id, user.user_id)
        await manager.start(getattr(state, target), data)
        for _ in range(1000):  # the background start runs as its own task: wait until it has
            if await risk_gate.open_dialog_state(context) == f"{group}:{target}":
                break
            await asyncio.sleep(0.01)
        for label in steps[1:]:
            await user.press(label)
        assert await risk_gate.open_dialog_state(context) == place
        return
    if group in {"ReportSG", "GridSG"}:
        await context.set_data(new_draft(GRID if group == "GridSG" else RESIDENT, HARMLESS))
    await context.set_state(place)


DIALOG_GROUPS = {"LegalSG", "RateSG", "MyCasesSG"}
LEGAL_CARD = {"text": "…", "lawyer": True}
DIALOG_START_DATA: dict[str, Any] = {"LegalSG": {"card": LEGAL_CARD}, "RateSG": {"case_id": 0}}
LEGAL_STEPS = {  # the card's question, then the buttons that lead to the step
    "handoff_question": ("", "找律师"),
    "handoff_contact": ("邻居占了我家的地怎么办？", "找律师"),
    "handoff_confirm": ("邻居占了我家的地怎么办？", "找律师", "不留电话"),
}


def test_the_gate_knows_every_dialog_state() -> None:
    assert risk_gate.resident_states() == frozenset(dialog_states())
    assert len(PLACES) >= 23  # 21 dialog states today, plus the main menu and the resume prompt


@pytest.mark.parametrize("place", PLACES)
async def test_a_red_text_gets_the_safety_message_first_and_is_kept_in_every_state(
    place: str,
    dp: Dispatcher,
    bot: MockedBot,
    bot_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    user_id = next(_user_ids)
    if place.startswith("GridSG:"):
        user = await _grid_worker(dp, bot, bot_session_factory, user_id)
    else:
        user = TgUser(dp, bot, user_id=user_id)
    await _put_in(user, place)
    before = len(user.texts)

    await user.send(RED)

    replies = user.texts[before:]
    assert [_is_safety(text) for text in replies].count(True) == 1, replies
    assert _is_safety(replies[0])  # first, before anything the state answers
    assert len(replies) >= 2  # and the person is told what happens next (never silence)
    context = dp.fsm.get_context(bot, chat_id=user_id, user_id=user_id)
    data = await context.get_data()
    if place.startswith(("ReportSG:", "GridSG:")) or place == MAIN_MENU:
        assert RED in draft_text(data)  # added to the draft, or a report started with it
    elif place == RESUME_PROMPT:
        assert data["pending_text"] == RED  # waiting for "add it" or "start anew with it"
    elif place == "LegalSG:question":
        async with bot_session_factory() as session:
            logged = (await session.exec(select(LegalQuestionLog))).all()
        assert [row.question for row in logged] == [RED]  # the legal desk still answered it

    await user.press("立即报告")

    filed = [case for case in await _cases(bot_session_factory) if RED in case.text]
    assert len(filed) == 1
    assert filed[0].risk_level == RiskLevel.red
    assert filed[0].status not in (CaseStatus.grid_resolved, CaseStatus.closed)
    if place.startswith(("ReportSG:", "GridSG:")):
        assert HARMLESS in filed[0].text  # the whole draft was filed, not just the red text
    if place == RESUME_PROMPT:  # the red text went alone; the parked draft is still there
        assert filed[0].text == RED
        assert draft_text(await context.get_data()) == HARMLESS
    assert any("已提交" in text for text in user.texts)


async def test_the_describe_step_shows_the_safety_message_once_per_red_message(
    resident: TgUser,
) -> None:
    await resident.send("/start")
    await resident.press("反映问题")
    before = len(resident.texts)
    await resident.send(RED)
    replies = resident.texts[before:]
    assert len(replies) == 2 and _is_safety(replies[0]) and "已记下" in replies[1]


async def test_a_harmless_text_gets_no_safety_message_anywhere(
    dp: Dispatcher, bot: MockedBot
) -> None:
    for place in PLACES:
        if place.startswith("GridSG:"):
            continue  # same handlers as the report steps; registration is covered above
        user = TgUser(dp, bot, user_id=next(_user_ids))
        await _put_in(user, place)
        before = len(user.texts)
        await user.send(HARMLESS)
        replies = user.texts[before:]
        assert replies, place
        assert not any(_is_safety(text) for text in replies), place


async def test_a_red_caption_on_a_photo_is_caught_and_kept_with_the_photo(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await resident.send("/start")
    before = len(resident.texts)
    await resident.feed(make_photo_update(resident.user_id, file_id="knife", caption=RED))
    replies = resident.texts[before:]
    assert _is_safety(replies[0]) and [_is_safety(r) for r in replies].count(True) == 1
    await resident.press("立即报告")
    [case] = await _cases(bot_session_factory)
    assert case.text == RED and case.risk_level == RiskLevel.red
    async with bot_session_factory() as session:
        files = (await session.exec(select(Attachment))).all()
    assert [(a.kind, a.telegram_file_id) for a in files] == [("photo", "knife")]


async def test_a_red_caption_at_the_describe_step_is_checked_once(resident: TgUser) -> None:
    await resident.send("/start")
    await resident.press("反映问题")
    before = len(resident.texts)
    await resident.send_photo(file_id="p1", caption=RED)
    replies = resident.texts[before:]
    assert [_is_safety(r) for r in replies] == [True, False]
    assert "1 个附件" in replies[1]


async def test_a_staff_group_never_gets_the_resident_safety_flow(
    dp: Dispatcher, bot: MockedBot
) -> None:
    group = -100_777
    await dp.feed_update(bot, make_group_message_update(5001, group, RED))
    assert not any(_is_safety(text) for text in bot.texts(group))
    context = dp.fsm.get_context(bot, chat_id=group, user_id=5001)
    assert await context.get_state() is None and await context.get_data() == {}


async def test_a_staff_step_in_a_private_chat_is_not_the_resident_safety_flow(
    dp: Dispatcher, bot: MockedBot
) -> None:
    staff = TgUser(dp, bot, user_id=next(_user_ids))
    context = dp.fsm.get_context(bot, chat_id=staff.user_id, user_id=staff.user_id)
    await context.set_state(StaffSG.note_text)
    await staff.send(RED)  # a case note about a threat, typed at the desk
    assert not any(_is_safety(text) for text in staff.texts)


async def test_the_urgent_button_files_once_when_pressed_twice(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await resident.send("/start")
    await resident.press("法律咨询")
    await resident.send(RED)
    safety_id = max(
        mid
        for (chat, mid), stored in resident.bot.session.messages.items()
        if chat == resident.user_id and _is_safety(str(stored.get("text")))
    )
    await resident.click(Flow(action="urgent").pack(), message_id=safety_id)
    await resident.click(Flow(action="urgent").pack(), message_id=safety_id)
    assert len(await _cases(bot_session_factory)) == 1
    assert any("失效" in alert for alert in resident.bot.alerts())


async def test_a_text_at_the_resume_prompt_can_start_a_new_report(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _put_in(resident, RESUME_PROMPT)
    await resident.send("村口的桥裂了好大一条缝，车子过的时候晃得很厉害")
    assert "刚才发来的这段话" in resident.last_text
    await resident.press("用这段话重新开始")
    assert "记下来" in resident.last_text
    await resident.press("下一步")
    await resident.press("跳过")
    await resident.press("匿名反映")
    await resident.press("确认提交")
    [case] = await _cases(bot_session_factory)
    assert case.text == "村口的桥裂了好大一条缝，车子过的时候晃得很厉害"


async def test_a_short_text_at_the_resume_prompt_is_kept_too(resident: TgUser) -> None:
    await _put_in(resident, RESUME_PROMPT)
    await resident.send("还有")
    assert "刚才发来的这段话（2 个字）" in resident.last_text
    await resident.press("补充到上次的反映")
    context = resident.dp.fsm.get_context(
        resident.bot, chat_id=resident.user_id, user_id=resident.user_id
    )
    assert draft_text(await context.get_data()) == HARMLESS + "\n还有"


async def test_stickers_voice_long_and_html_texts_get_clear_answers(
    resident: TgUser, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await resident.send("/start")
    await resident.send_sticker()
    await resident.send_voice()
    assert len(resident.texts) == 3 and not any(_is_safety(t) for t in resident.texts)

    long_red = "<b>救命</b><script>x</script>" + RED + "。" + "很" * (5000 - len(RED) - 30)
    await resident.send(long_red)
    replies = resident.texts[3:]
    assert _is_safety(replies[0]) and len(replies) >= 2
    assert all("<script>" not in text for text in bot.texts())  # user text is escaped
    await resident.press("立即报告")
    [case] = await _cases(bot_session_factory)
    assert case.text == long_red.strip()  # kept whole, as typed


async def test_a_failing_risk_check_never_stops_the_message(
    resident: TgUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(text: str) -> bool:
        raise RuntimeError("rule file broken")

    monkeypatch.setattr(risk_gate, "is_red", broken)
    await resident.send("/start")
    await resident.press("反映问题")
    await resident.send(RED)
    assert "已记下" in resident.last_text


@pytest.fixture(params=["embedded", "redis", "postgres"])
def storage_urls(
    request: pytest.FixtureRequest, bot_engine: AsyncEngine
) -> tuple[str, str | None]:
    """(DATABASE_URL, REDIS_URL): the embedded default, Redis, and the real PostgreSQL."""
    embedded = bot_engine.url.render_as_string(hide_password=False)
    if request.param == "redis":
        return embedded, str(request.getfixturevalue("redis_url"))
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url")), None
    return embedded, None


@pytest.fixture
async def storage_world(
    storage_urls: tuple[str, str | None], bot_session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[Dispatcher, async_sessionmaker[AsyncSession]]]:
    database_url, redis_url = storage_urls
    engine: AsyncEngine | None = None
    factory = bot_session_factory
    if database_url.startswith("postgresql"):
        engine = create_engine(database_url)
        async with engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.drop_all)
            await conn.run_sync(SQLModel.metadata.create_all)
        factory = create_session_factory(engine)
        async with factory() as session:
            await directory.sync_units(session=session, county=load_county())
    dispatcher = create_dispatcher(make_settings(database_url, redis_url), session_factory=factory)
    yield dispatcher, factory
    await dispatcher.storage.close()
    if engine is not None:
        await engine.dispose()


async def test_the_urgent_button_still_files_a_text_its_dialog_cleared_on_every_storage(
    storage_world: tuple[Dispatcher, async_sessionmaker[AsyncSession]], bot: MockedBot
) -> None:
    """The rating dialog closes after the reason; the 🚨 button still has the red text."""
    dp, factory = storage_world
    user = TgUser(dp, bot, user_id=next(_user_ids))
    async with factory() as session:
        reporter = await directory.get_or_create_person(session=session, telegram_id=user.user_id)
        rated = await intake.submit_report(
            session=session,
            reporter=reporter,
            draft=ReportDraft(text="村口的路灯坏了好几天了，晚上很黑", township="弥城镇"),
        )
        staff = Person(telegram_id=user.user_id + 1, role=Role.staff, unit_id=rated.lead_unit_id)
        session.add(staff)
        await session.commit()
        assert rated.id is not None
        await workflow.accept(session=session, actor=staff, case_id=rated.id)
        await workflow.resolve(
            session=session, actor=staff, case_id=rated.id, result_text="已修好"
        )
    await user.click(RateCase(case_id=rated.id, score=RatingScore.unsatisfied).pack())
    assert "哪里不满意" in user.last_text
    seen = len(user.texts)
    await user.send(RED)
    assert _is_safety(user.texts[seen])
    async with factory() as session:  # the rating dialog took the text as its reason
        [rating] = (await session.exec(select(Rating))).all()
    assert rating.reason == RED
    assert "跳过" not in user.buttons  # and closed
    await user.press("立即报告")
    [case] = [case for case in await _cases(factory) if case.id != rated.id]
    assert case.text == RED and case.risk_level == RiskLevel.red
