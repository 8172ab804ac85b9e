"""A location between two townships: the resident confirms which one with two buttons."""

from __future__ import annotations

from aiogram import Dispatcher
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.county import load_county
from backend.models import Case, Role
from backend.services import directory
from bot.callbacks import Flow
from tests.mocked_bot import MockedBot
from tests.tg import TgUser

COMPLAINT = "邻居家的排水沟一直往我家院子里流水，说了好几次都不改。"


def _between(a: str, b: str, share_of_a: float = 0.52) -> tuple[float, float]:
    """A point on the line between two township seats, a little nearer to ``a``."""
    county = load_county()
    first, second = county.township_data[a].center, county.township_data[b].center
    assert first is not None and second is not None
    w = share_of_a
    return first[0] * w + second[0] * (1 - w), first[1] * w + second[1] * (1 - w)


async def _cases(factory: async_sessionmaker[AsyncSession]) -> list[Case]:
    async with factory() as session:
        return list((await session.exec(select(Case))).all())


async def _to_place(user: TgUser) -> None:
    await user.send("/start")
    await user.press("反映问题")
    await user.send(COMPLAINT)
    await user.press("下一步")


async def test_a_location_between_two_townships_asks_which_and_uses_the_choice(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _to_place(resident)
    lat, lon = _between("弥城镇", "新街镇")
    await resident.send_location(lat, lon)
    assert "弥城镇" in resident.last_text and "新街镇" in resident.last_text
    assert {"弥城镇", "新街镇"} <= set(resident.buttons)
    await resident.press("新街镇")  # the farther one: the resident knows best
    assert "新街镇" in resident.texts[-2]
    assert "联系方式" in resident.last_text
    await resident.press("匿名反映")
    assert "新街镇" in resident.last_text  # the summary shows the chosen township
    await resident.press("确认提交")
    [case] = await _cases(bot_session_factory)
    assert case.township == "新街镇"
    assert (round(case.latitude or 0, 4), round(case.longitude or 0, 4)) == (
        round(lat, 4),
        round(lon, 4),
    )


async def test_the_two_choices_are_nearest_first_in_english_too(
    dp: Dispatcher, bot: MockedBot
) -> None:
    user = TgUser(dp, bot, user_id=4242, first_name="Ann")
    await user.send("/start")
    await user.press("English")
    await user.press("English")
    await user.send("/start")
    await user.press("Report a problem")
    await user.send(COMPLAINT)
    await user.press("Done, next step")
    await user.send_location(*_between("寅街镇", "苴力镇", share_of_a=0.45))
    assert "between 苴力镇 and 寅街镇" in user.last_text
    await user.press("寅街镇")
    assert "寅街镇" in user.texts[-2]


async def test_neither_opens_the_township_list_and_back_leaves_the_choice(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _to_place(resident)
    await resident.send_location(*_between("寅街镇", "弥城镇"))
    await resident.press("都不是")
    assert "选择乡镇" in resident.last_text or "哪个乡镇" in resident.last_text
    await resident.press("苴力镇")
    await resident.press("苴力村")
    assert "联系方式" in resident.last_text
    # ⬅️ back from the contact step returns to "where", and a new location asks again
    await resident.press("上一步")
    assert "发生在哪里" in resident.last_text
    await resident.send_location(*_between("寅街镇", "弥城镇"))
    await resident.press("上一步")  # back from the two buttons: to the description
    assert "已经写了" in resident.last_text
    await resident.press("下一步")
    await resident.press("跳过")
    await resident.press("匿名反映")
    await resident.press("确认提交")
    [case] = await _cases(bot_session_factory)
    # the newer location replaced the earlier choice; skipped unconfirmed, the nearest seat counts
    assert case.township == "寅街镇"


async def test_a_clear_location_needs_no_question(resident: TgUser) -> None:
    await _to_place(resident)
    seat = load_county().township_data["牛街彝族乡"].center
    assert seat is not None
    await resident.send_location(seat[0] + 0.003, seat[1])
    assert "牛街彝族乡" in resident.texts[-2]
    assert "联系方式" in resident.last_text


async def test_double_pressed_or_forged_choices_are_refused(
    resident: TgUser, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _to_place(resident)
    await resident.send_location(*_between("弥城镇", "新街镇"))
    await resident.click(Flow(action="near", arg="7").pack())
    await resident.click(Flow(action="near", arg="-1").pack())
    assert len([a for a in bot.alerts() if "失效" in a]) == 2
    choice = Flow(action="near", arg="0").pack()
    await resident.click(choice)
    await resident.click(choice)  # a double tap: the second finds nothing to choose
    assert len([a for a in bot.alerts() if "失效" in a]) == 3
    await resident.press("匿名反映")
    await resident.press("确认提交")
    [case] = await _cases(bot_session_factory)
    assert case.township == "弥城镇"


async def test_a_grid_worker_confirms_the_township_too(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with bot_session_factory() as session:
        invite = await directory.create_invite(
            session=session, role=Role.grid_worker, unit_code="township:弥城镇"
        )
    worker = TgUser(dp, bot, user_id=3101, first_name="李网格")
    await worker.send(f"/start {invite.code}")
    await worker.send("/grid")
    await worker.press("跳过")
    await worker.send(COMPLAINT)
    await worker.press("下一步")
    await worker.send_location(*_between("寅街镇", "弥城镇"))
    await worker.press("寅街镇")
    assert "替村民反映" in worker.last_text
    await worker.press("本人发现")
    await worker.press("按系统评估")
    await worker.press("上报处理")
    await worker.press("确认提交")
    [case] = await _cases(bot_session_factory)
    assert case.township == "寅街镇"  # the choice, not the worker's own 弥城镇
