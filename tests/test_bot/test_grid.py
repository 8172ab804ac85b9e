"""The grid worker's report: task code, on behalf of a villager, risk, 就地化解 vs 上报."""

from __future__ import annotations

import pytest
from aiogram import Dispatcher
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Attachment, Case, CaseStatus, Person, RiskLevel, Role
from backend.services import directory
from tests.mocked_bot import MockedBot
from tests.tg import TgUser, make_photo_update


@pytest.fixture
async def grid_worker(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> TgUser:
    """A grid worker registered through ``/start <invite>``, as in real life."""
    async with bot_session_factory() as session:
        invite = await directory.create_invite(
            session=session, role=Role.grid_worker, unit_code="township:弥城镇"
        )
    user = TgUser(dp, bot, user_id=3001, first_name="李网格")
    await user.send(f"/start {invite.code}")
    assert "登记成功" in user.texts[-2]
    return user


async def _only_case(factory: async_sessionmaker[AsyncSession]) -> Case:
    async with factory() as session:
        [case] = (await session.exec(select(Case))).all()
    return case


async def _describe_and_place(user: TgUser) -> None:
    await user.send("两家邻居为房檐水滴到对方院子吵起来了")
    before = len(user.texts)
    for number in (1, 2, 3):  # an album: three photos sent together
        await user.feed(make_photo_update(user.user_id, file_id=f"p{number}", media_group_id="a1"))
    assert len(user.texts) == before + 1  # one acknowledgement for the whole album
    assert "1 个附件" in user.last_text
    await user.press("下一步")
    await user.press("选择乡镇和村")
    await user.press("弥城镇")
    await user.press("西山村")


async def test_registration_gives_grid_worker_commands_and_menu(
    grid_worker: TgUser, bot: MockedBot
) -> None:
    scoped = [m for m in bot.calls("setMyCommands") if m.scope and m.scope.type == "chat"]
    assert scoped and any(c.command == "grid" for c in scoped[-1].commands)
    assert any("网格员上报" in b for b in grid_worker.buttons)


async def test_grid_worker_records_an_on_the_spot_resolution_for_a_villager(
    grid_worker: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await grid_worker.press("网格员上报")
    await grid_worker.press("矛盾纠纷")
    await grid_worker.press("A2")
    await _describe_and_place(grid_worker)
    await grid_worker.press("代村民反映")
    await grid_worker.send("王大妈")
    await grid_worker.send("13900001111")
    await grid_worker.press("黄")
    await grid_worker.press("已就地化解")
    await grid_worker.send("已上门调解，双方同意各自修好排水沟。")
    summary = grid_worker.last_text
    assert "A2" in summary and "王大妈" in summary and "就地化解" in summary
    await grid_worker.press("确认提交")
    assert "就地化解" in grid_worker.texts[-2]
    case = await _only_case(bot_session_factory)
    assert case.status == CaseStatus.grid_resolved
    assert case.grid_task_code == "A2"
    assert case.contact_name == "王大妈" and case.contact_phone == "13900001111"
    assert case.result_text == "已上门调解，双方同意各自修好排水沟。"
    async with bot_session_factory() as session:
        photos = (await session.exec(select(Attachment))).all()
        worker = (
            await session.exec(select(Person).where(Person.telegram_id == grid_worker.user_id))
        ).one()
    assert len(photos) == 3
    assert case.filed_by_id == worker.id


async def test_grid_worker_escalates_with_their_own_risk_assessment(
    grid_worker: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await grid_worker.send("/grid")
    await grid_worker.press("跳过")
    await _describe_and_place(grid_worker)
    await grid_worker.press("本人发现")
    assert "系统初判" in grid_worker.last_text
    await grid_worker.press("橙")
    await grid_worker.press("上报处理")
    await grid_worker.press("确认提交")
    case = await _only_case(bot_session_factory)
    assert case.status in (CaseStatus.dispatched, CaseStatus.triage)
    assert case.risk_level == RiskLevel.orange


async def test_back_and_cancel_work_in_the_grid_steps(
    grid_worker: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await grid_worker.send("/grid")
    await grid_worker.press("治安安全隐患")
    await grid_worker.press("上一步")
    assert "哪类任务" in grid_worker.last_text
    await grid_worker.press("跳过")
    await _describe_and_place(grid_worker)
    await grid_worker.press("代村民反映")
    await grid_worker.press("上一步")
    assert "替村民反映" in grid_worker.last_text
    await grid_worker.press("本人发现")
    await grid_worker.press("上一步")
    assert "替村民反映" in grid_worker.last_text
    await grid_worker.press("本人发现")
    await grid_worker.press("按系统评估")
    await grid_worker.press("已就地化解")
    await grid_worker.press("上一步")
    assert "就地化解了" in grid_worker.last_text
    await grid_worker.press("取消")
    assert "已取消" in grid_worker.texts[-2]
    async with bot_session_factory() as session:
        assert (await session.exec(select(Case))).all() == []


async def test_a_resident_cannot_open_the_grid_worker_flow(resident: TgUser) -> None:
    await resident.send("/grid")
    assert "只供登记过的网格员" in resident.last_text
    assert not any("网格员上报" in b for b in resident.buttons)


async def test_an_invalid_invite_is_explained(resident: TgUser) -> None:
    await resident.send("/start WRONGCODE1")
    assert "登记没有成功" in resident.last_text
