"""Admin pages: units, invites (create and revoke through the directory), rules test box, KB."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlmodel import select

from backend.models import Invite, Role
from tests.test_web.conftest import World


async def test_admin_creates_and_revokes_an_invite(
    client: httpx.AsyncClient, world: World
) -> None:
    csrf = await world.login(client, "admin")
    created = await client.post(
        "/admin/invites",
        data={"csrf_token": csrf, "role": "staff", "unit_code": "police", "ttl_days": "7"},
    )
    assert created.status_code == 303
    async with world.factory() as session:
        invite = (await session.exec(select(Invite))).one()
    assert invite.role == Role.staff and invite.unit_id == world.units["police"].id
    page = await client.get("/admin/invites")
    assert f"已生成邀请码 {invite.code}" in page.text
    assert f"?start={invite.code}" in page.text
    revoked = await client.post(f"/admin/invites/{invite.code}/revoke", data={"csrf_token": csrf})
    assert revoked.status_code == 303
    async with world.factory() as session:
        assert (await session.get(Invite, invite.id)).revoked  # type: ignore[union-attr]
    page = await client.get("/admin/invites")
    assert "已撤销" in page.text


async def test_an_invite_held_for_a_role_change_shows_as_held(
    client: httpx.AsyncClient, world: World
) -> None:
    from backend.services import directory

    await world.login(client, "admin")
    async with world.factory() as session:
        invite = await directory.create_invite(session=session, role="staff", unit_code="police")
        grid = await session.get(type(world.people["grid"]), world.people["grid"].id)
        assert grid is not None
        result = await directory.redeem_invite(session=session, person=grid, code=invite.code)
    assert result.pending
    page = await client.get("/admin/invites")
    assert "等待持码人确认变更身份" in page.text


async def test_invite_errors_are_shown_not_raised(client: httpx.AsyncClient, world: World) -> None:
    csrf = await world.login(client, "admin")
    await client.post(
        "/admin/invites",
        data={"csrf_token": csrf, "role": "staff", "unit_code": "", "ttl_days": "7"},
    )
    page = await client.get("/admin/invites")
    assert 'class="flash error"' in page.text
    async with world.factory() as session:
        assert (await session.exec(select(Invite))).first() is None


@pytest.mark.parametrize("who", ["supervisor", "dispatcher", "police"])
async def test_only_admins_create_invites(
    client: httpx.AsyncClient, world: World, who: str
) -> None:
    csrf = await world.login(client, who)
    response = await client.post(
        "/admin/invites",
        data={"csrf_token": csrf, "role": "admin", "unit_code": "center", "ttl_days": "7"},
    )
    assert response.status_code == 403
    async with world.factory() as session:
        assert (await session.exec(select(Invite))).first() is None


async def test_units_page_shows_bound_chats(client: httpx.AsyncClient, world: World) -> None:
    async with world.factory() as session:
        unit = world.units["police"]
        unit.chat_id, unit.chat_title = -100123, "公安局综治工作群"
        session.add(unit)
        await session.commit()
    await world.login(client, "admin")
    page = await client.get("/admin")
    assert "公安局综治工作群" in page.text and "未绑定" in page.text


@pytest.mark.usefixtures("fake_classifier")
async def test_rules_test_box_shows_the_decision_and_reasons(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.login(client, "dispatcher")
    page = await client.get("/admin/rules", params={"text": "包工头欠薪三个月不给"})
    assert page.status_code == 200
    decision = re.search(r'<dl class="facts" id="decision">(.*?)</dl>', page.text, re.S)
    assert decision
    assert "人力资源和社会保障局" in decision.group(1)
    assert "关键词：欠薪 → 人社局" in decision.group(1)
    unsure = await client.get("/admin/rules", params={"text": "你好"})
    assert "中心人工分拨" in unsure.text


async def test_knowledge_base_is_browsable(client: httpx.AsyncClient, world: World) -> None:
    import knowledge_base

    await world.login(client, "supervisor")
    topic = knowledge_base.topics()[0]
    page = await client.get("/admin/kb", params={"topic": topic})
    assert page.status_code == 200
    entry = knowledge_base.entries_for_topic(topic)[0]
    assert entry.question in page.text


async def test_unanswered_legal_questions_are_the_admins_worklist(
    client: httpx.AsyncClient, world: World
) -> None:
    from backend.services import legal

    async with world.factory() as session:
        await legal.log_question(
            session=session, person=None, question="公司股权代持协议有效吗", hits=[]
        )
    await world.login(client, "supervisor")
    page = await client.get("/admin/kb")
    assert page.status_code == 200
    assert "待补充的问题" in page.text
    assert "公司股权代持协议有效吗" in page.text
    assert "未回答" in page.text
