"""After submission: /mycases, the case card (also by deep link) and the one-tap rating."""

from __future__ import annotations

import pytest
from aiogram import Dispatcher
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.models import Case, CaseStatus, OutboxMessage, Person, Rating, RatingScore, Role
from backend.services import workflow
from backend.services.outbox import NoticeKind
from bot.callbacks import RateCase
from bot.factory import create_dispatcher
from bot.notifications.render import render_notice
from bot.texts import t
from tests.mocked_bot import MockedBot
from tests.tg import TgUser

COMPLAINT = "邻居家的排水沟一直往我家院子里流水，说了好几次都不改。"


async def _file(user: TgUser, factory: async_sessionmaker[AsyncSession]) -> Case:
    await user.send("/start")
    await user.press("反映问题")
    await user.send(COMPLAINT)
    await user.press("下一步")
    await user.press("跳过")
    await user.press("匿名反映")
    await user.press("确认提交")
    async with factory() as session:
        return (await session.exec(select(Case).order_by(Case.id.desc()))).first()  # type: ignore[union-attr]


async def _resolve(factory: async_sessionmaker[AsyncSession], case: Case) -> None:
    """The unit claims and resolves the case (what the staff desk does with its buttons)."""
    async with factory() as session:
        staff = Person(
            telegram_id=900_000 + (case.id or 0), role=Role.staff, unit_id=case.lead_unit_id
        )
        session.add(staff)
        await session.commit()
        assert case.id is not None
        await workflow.accept(session=session, actor=staff, case_id=case.id)
        await workflow.resolve(
            session=session, actor=staff, case_id=case.id, result_text="已上门协调，排水沟已改道。"
        )


async def _status(factory: async_sessionmaker[AsyncSession], case: Case) -> CaseStatus:
    async with factory() as session:
        fresh = await session.get(Case, case.id)
        assert fresh is not None
        return fresh.status


async def test_mycases_is_friendly_when_there_is_nothing_yet(resident: TgUser) -> None:
    await resident.send("/mycases")
    assert "还没有反映过" in resident.last_text


async def test_mycases_lists_status_and_deadline_and_opens_the_card(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    case = await _file(resident, bot_session_factory)
    await resident.press("查询办理进度")
    listing = resident.last_text
    assert case.code in listing
    assert "等待签收" in listing or "待分派" in listing
    await resident.press(f"查看 {case.code}")
    card = resident.last_text
    assert f"事项 {case.code}" in card
    assert "排水沟" in card


async def test_deep_link_opens_the_card_only_for_people_who_may_see_it(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    owner = TgUser(dp, bot, user_id=4001)
    case = await _file(owner, bot_session_factory)
    await owner.send(f"/start case_{case.code}")
    assert f"事项 {case.code}" in owner.last_text
    stranger = TgUser(dp, bot, user_id=4002)
    await stranger.send(f"/start case_{case.code}")
    assert "没有找到" in stranger.last_text
    assert "排水沟" not in stranger.last_text


async def test_satisfied_rating_closes_the_case(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    case = await _file(resident, bot_session_factory)
    await _resolve(bot_session_factory, case)
    await resident.send("/mycases")
    await resident.press(f"查看 {case.code}")
    assert "已上门协调" in resident.last_text
    await resident.press("😊 满意")
    assert "感谢您的评价" in resident.texts[-2]
    assert await _status(bot_session_factory, case) == CaseStatus.closed


async def test_unsatisfied_rating_with_a_reason_reopens_the_case(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    case = await _file(resident, bot_session_factory)
    await _resolve(bot_session_factory, case)
    assert case.id is not None
    await resident.click(RateCase(case_id=case.id, score="unsatisfied").pack())
    assert "哪里不满意" in resident.last_text
    await resident.send("水还是往我家流，根本没改。")
    assert "重新办理" in resident.texts[-2]
    assert await _status(bot_session_factory, case) == CaseStatus.reopened
    async with bot_session_factory() as session:
        [rating] = (await session.exec(select(Rating))).all()
    assert rating.score == RatingScore.unsatisfied
    assert rating.reason == "水还是往我家流，根本没改。"


async def test_unsatisfied_reason_can_be_skipped(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    case = await _file(resident, bot_session_factory)
    await _resolve(bot_session_factory, case)
    assert case.id is not None
    await resident.click(RateCase(case_id=case.id, score="unsatisfied").pack())
    await resident.press("跳过")
    assert await _status(bot_session_factory, case) == CaseStatus.reopened


async def test_rating_twice_or_someone_elses_case_is_refused(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    owner = TgUser(dp, bot, user_id=4101)
    case = await _file(owner, bot_session_factory)
    await _resolve(bot_session_factory, case)
    assert case.id is not None
    stranger = TgUser(dp, bot, user_id=4102)
    await stranger.click(RateCase(case_id=case.id, score="satisfied").pack())
    assert await _status(bot_session_factory, case) == CaseStatus.resolved
    await owner.click(RateCase(case_id=case.id, score="basically_satisfied").pack())
    await owner.click(RateCase(case_id=case.id, score="satisfied").pack())
    await owner.click(f"rt:{case.id}:excellent")  # forged: no such score
    assert await _status(bot_session_factory, case) == CaseStatus.closed
    assert len([a for a in bot.alerts() if "不能评价" in a or "失效" in a]) == 3
    async with bot_session_factory() as session:
        assert len((await session.exec(select(Rating))).all()) == 1


DRAIN = "邻居家的排水沟一直往我家院子里流水，说了好几次都不改。我叫王秀英，电话13987654321"


async def _reporter_files_with_contact(user: TgUser) -> None:
    await user.send("/start")
    await user.press("反映问题")
    await user.send(DRAIN)
    await user.press("下一步")
    await user.press("选择乡镇和村")
    await user.press("弥城镇")
    await user.press("西山村")
    await user.send_contact("13812345678")
    await user.press("确认提交")


async def _follow_similar(user: TgUser) -> None:
    await user.send("/start")
    await user.press("反映问题")
    await user.send("邻居家的排水沟一直往我家院子里流水，说了几次都不改")
    await user.press("下一步")
    await user.press("选择乡镇和村")
    await user.press("弥城镇")
    await user.press("西山村")
    await user.press("匿名反映")
    await user.press("关注此案")


PRIVATE = ("王秀英", "13987654321", "13812345678", "排水沟", "西山村", "已上门协调")


async def test_a_follower_sees_code_category_unit_and_status_only(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    reporter = TgUser(dp, bot, user_id=4201)
    await _reporter_files_with_contact(reporter)
    async with bot_session_factory() as session:
        case = (await session.exec(select(Case))).one()
    follower = TgUser(dp, bot, user_id=4202)
    await _follow_similar(follower)
    assert "已关注" in follower.texts[-2]
    await _resolve(bot_session_factory, case)

    await follower.send("/mycases")
    assert case.code in follower.last_text and "已办结" in follower.last_text
    await follower.press(f"查看 {case.code}")
    card = follower.last_text
    assert f"事项 {case.code}" in card and "办理单位" in card and "类别" in card
    assert "只显示办理进度" in card
    assert "评价" not in card  # only the reporter rates
    await follower.send(f"/start case_{case.code}")
    deep_link_card = follower.last_text
    for shown in (card, deep_link_card):
        for private in PRIVATE:
            assert private not in shown, private

    await reporter.send(f"/start case_{case.code}")  # the reporter still sees the whole case
    assert "王秀英" in reporter.last_text and "已上门协调" in reporter.last_text


async def test_a_follower_is_told_the_status_never_the_result(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    reporter = TgUser(dp, bot, user_id=4301)
    await _reporter_files_with_contact(reporter)
    async with bot_session_factory() as session:
        case = (await session.exec(select(Case))).one()
    follower = TgUser(dp, bot, user_id=4302)
    await _follow_similar(follower)
    await _resolve(bot_session_factory, case)
    async with bot_session_factory() as session:
        person = (await session.exec(select(Person).where(Person.telegram_id == 4302))).one()
        rows = (
            await session.exec(
                select(OutboxMessage).where(
                    OutboxMessage.kind == NoticeKind.case_update,
                    OutboxMessage.recipient_person_id == person.id,
                )
            )
        ).all()
        assert rows and all("result_text" not in row.payload for row in rows)
        for row in rows:
            rendered = await render_notice(row, session=session)
            assert case.code in rendered.text
            for private in PRIVATE:
                assert private not in rendered.text, private
        reporter_rows = (
            await session.exec(
                select(OutboxMessage).where(
                    OutboxMessage.kind == NoticeKind.case_update,
                    OutboxMessage.recipient_person_id == case.reporter_id,
                    OutboxMessage.payload["event"].as_string() == "resolved",
                )
            )
        ).all()
        [resolved] = reporter_rows
        assert "已上门协调" in (await render_notice(resolved, session=session)).text


def _typed_forms(code: str) -> list[str]:
    """How people type a code: as printed, lower case, spaced, without zeros, inside a sentence."""
    prefix, number = code.split("-")
    return [
        code,
        code.lower(),
        f"{prefix[:2]} {prefix[2:]} - {number}",
        f"{prefix.lower()}-{int(number)}",
        f"我的编号是{code}，帮我查一下进度",
    ]


async def test_a_case_code_typed_at_the_menu_opens_the_card_in_every_typed_form(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    case = await _file(resident, bot_session_factory)
    for typed in _typed_forms(case.code):
        await resident.send(typed)
        assert f"事项 {case.code}" in resident.last_text, typed
        assert "排水沟" in resident.last_text
    assert len(await _all_cases(bot_session_factory)) == 1  # no new report was started
    await resident.press("反映问题")
    assert "发生了什么" in resident.last_text  # nothing was parked or drafted from the codes


async def test_a_case_code_typed_inside_a_report_step_shows_the_card_and_keeps_the_step(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    case = await _file(resident, bot_session_factory)
    await resident.press("反映问题")
    await resident.send("路灯坏了好几天了，晚上走路很黑。")
    await resident.press("下一步")
    assert "发生在哪里" in resident.last_text
    await resident.send(case.code.lower())
    assert any(f"事项 {case.code}" in text for text in resident.texts[-2:])
    assert "发生在哪里" in resident.last_text  # the step's prompt again
    await resident.press("跳过")
    await resident.press("匿名反映")
    assert "路灯坏了" in resident.last_text  # the draft went on untouched
    assert case.code.lower() not in resident.last_text


async def test_a_typed_case_code_shows_a_follower_the_restricted_card_and_a_stranger_nothing(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    reporter = TgUser(dp, bot, user_id=4401)
    await _reporter_files_with_contact(reporter)
    async with bot_session_factory() as session:
        case = (await session.exec(select(Case))).one()
    follower = TgUser(dp, bot, user_id=4402)
    await _follow_similar(follower)
    await follower.send(f"查一下 {case.code.lower()}")
    card = follower.last_text
    assert f"事项 {case.code}" in card and "只显示办理进度" in card
    for private in PRIVATE:
        assert private not in card, private
    stranger = TgUser(dp, bot, user_id=4403)
    await stranger.send("/start")
    await stranger.send(case.code)
    assert "没有找到" in stranger.last_text
    assert "排水沟" not in stranger.last_text


async def test_a_long_report_that_mentions_a_case_code_is_still_a_report(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    case = await _file(resident, bot_session_factory)
    await resident.send(f"上次反映的{case.code}说已经处理了，可是排水沟的水今天又流进我家院子了。")
    assert f"事项 {case.code}" not in resident.last_text
    assert any("下一步" in label for label in resident.buttons)  # a report was started


async def _all_cases(factory: async_sessionmaker[AsyncSession]) -> list[Case]:
    async with factory() as session:
        return list((await session.exec(select(Case))).all())


@pytest.fixture(params=["embedded", "redis"])
def restart_redis_url(request: pytest.FixtureRequest) -> str | None:
    """None: the embedded storage (the FsmRecord table); else a real Redis."""
    return str(request.getfixturevalue("redis_url")) if request.param == "redis" else None


async def test_an_open_dialog_survives_a_restart_on_every_storage(
    bot: MockedBot,
    bot_settings: Settings,
    bot_session_factory: async_sessionmaker[AsyncSession],
    restart_redis_url: str | None,
) -> None:
    """The my-cases dialog and the reason step live in the FSM storage (aiogram-dialog's own
    keys): a new dispatcher on the same storage goes on where the old one stopped."""
    settings = bot_settings.model_copy(update={"redis_url": restart_redis_url})
    before = create_dispatcher(settings, session_factory=bot_session_factory)
    resident = TgUser(before, bot, user_id=4501)
    case = await _file(resident, bot_session_factory)
    await _resolve(bot_session_factory, case)
    await resident.send("/mycases")
    await resident.press(f"查看 {case.code}")
    await resident.press("不满意")
    assert "哪里不满意" in resident.last_text
    await before.storage.close()

    after = create_dispatcher(settings, session_factory=bot_session_factory)
    resident.dp = after
    await resident.send("水还是往我家流。")
    assert "重新办理" in resident.texts[-2]
    assert await _status(bot_session_factory, case) == CaseStatus.reopened
    await resident.send("/mycases")
    await resident.press(f"查看 {case.code}")  # the list of the new process works too
    assert "重新办理中" in resident.last_text
    await after.storage.close()


async def test_not_now_goes_back_to_the_card_and_a_closed_dialogs_buttons_change_nothing(
    resident: TgUser, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    case = await _file(resident, bot_session_factory)
    await _resolve(bot_session_factory, case)
    await resident.send("/mycases")
    await resident.press(f"查看 {case.code}")
    card_message = resident._last_inline_message_id()
    await resident.press("不满意")
    await resident.press("先不评价")
    assert f"事项 {case.code}" in resident.last_text  # back on the card, nothing rated
    assert await _status(bot_session_factory, case) == CaseStatus.resolved
    stale = next(
        button.callback_data
        for row in bot.session.messages[(resident.user_id, card_message)]["markup"].inline_keyboard
        for button in row
        if "满意" in button.text
    )
    await resident.press("😊 满意")
    assert "感谢您的评价" in resident.texts[-2]
    assert bot.session.messages[(resident.user_id, card_message)]["markup"] is None  # edited
    await resident.click(stale, message_id=card_message)  # the old button, pressed again
    assert bot.alerts()[-1] == t("common.button_expired", "zh")
    async with bot_session_factory() as session:
        assert len((await session.exec(select(Rating))).all()) == 1
