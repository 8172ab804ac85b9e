"""Tracking (/t): the private link, lookup by code + phone, the public timeline, the rating;
and staff opening a resident's web photo on the dashboard."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.models import Case, CaseStatus, Person, Rating
from backend.services import resident_web, workflow
from tests.test_web.conftest import World
from tests.test_web.resident_client import (
    csrf,
    photo_bytes,
    report,
    resident_client,
    resident_settings,
)

POW_RE = re.compile(r'name="pow_challenge" id="pow-challenge" value="([^"]+)"')
GAMBLING = "村里有几个人天天晚上聚众赌博，吵得睡不着"
RESULT = "已联合村委会查处，收缴赌具，对相关人员进行了教育。"
INTERNAL = "内部备注：线人张某提供的消息"


async def _newest(world: World) -> Case:
    async with world.factory() as session:
        rows = await session.exec(select(Case).order_by(Case.id.desc()))  # type: ignore[union-attr]
        case = rows.first()
        assert case is not None
        return case


async def _police_handles(world: World, case: Case) -> None:
    """签收, an internal note, 办结 by the police staff, all through the workflow."""
    assert case.id is not None
    async with world.factory() as session:
        staff = await session.get(Person, world.people["police"].id)
        assert staff is not None
        await workflow.accept(session=session, actor=staff, case_id=case.id)
        await workflow.add_note(session=session, actor=staff, case_id=case.id, text=INTERNAL)
        await workflow.resolve(session=session, actor=staff, case_id=case.id, result_text=RESULT)


@pytest.mark.parametrize(
    ("score", "status"), [("satisfied", "closed"), ("unsatisfied", "reopened")]
)
async def test_the_tracking_page_follows_the_case_to_its_rating(
    world_any: World, engine: AsyncEngine, tmp_path: Path, score: str, status: str
) -> None:
    async with resident_client(resident_settings(world_any, tmp_path), engine) as client:
        done = await report(client, text=GAMBLING, phone="13812345678")
        link = done.headers["location"].split("?")[0]
        case = await _newest(world_any)
        assert case.status == CaseStatus.dispatched
        await _police_handles(world_any, case)
        page = await client.get(link)
        assert "已办结待评价" in page.text and RESULT in page.text
        assert "签收" in page.text and "办结" in page.text
        for hidden in (INTERNAL, "派出所民警", "备注"):
            assert hidden not in page.text
        token = await csrf(client, link)
        rated = await client.post(f"{link}/rate", data={"csrf_token": token, "score": score})
        assert rated.status_code == 303
        after = await client.get(rated.headers["location"])
    final = await world_any.case(case.code)
    assert final.status == status
    expected = "重新办理" if status == "reopened" else "已结案"
    assert expected in after.text
    async with world_any.factory() as session:
        ratings = (await session.exec(select(Rating).where(Rating.case_id == case.id))).all()
    assert [r.score for r in ratings] == [score]


async def test_a_rating_before_the_case_is_resolved_is_refused(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        done = await report(client, text=GAMBLING)
        link = done.headers["location"].split("?")[0]
        page = await client.get(link)
        assert 'name="score"' not in page.text
        token = await csrf(client)
        rated = await client.post(f"{link}/rate", data={"csrf_token": token, "score": "satisfied"})
    assert rated.status_code == 409
    assert (await _newest(world)).status == CaseStatus.dispatched


async def test_a_forged_tracking_link_shows_nothing(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        done = await report(client, text=GAMBLING)
        link = done.headers["location"].split("?")[0]
        case_id = (await _newest(world)).id
        assert case_id is not None
        forged_id = resident_web.tracking_token(
            world.settings.model_copy(update={"web_secret_key": SecretStr("guessed")}),
            case_id=case_id,
            person_id=1,
        )
        tampered = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
        pages = [await client.get(url) for url in (f"/t/{forged_id}", tampered, "/t/x")]
    for page in pages:
        assert page.status_code == 404
        assert "查询链接无效" in page.text and GAMBLING not in page.text


async def test_an_expired_tracking_link_points_to_the_lookup(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        done = await report(client, text=GAMBLING)
        monkeypatch.setattr(resident_web, "TRACK_MAX_AGE", -1)
        page = await client.get(done.headers["location"])
    assert page.status_code == 404 and "已过期" in page.text and GAMBLING not in page.text


async def test_lookup_by_case_code_and_phone(
    world_any: World, engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world_any, tmp_path), engine) as client:
        await report(client, text=GAMBLING, phone="13812345678")
        case = await _newest(world_any)
        token = await csrf(client, "/t")
        right = await client.post(
            "/t", data={"csrf_token": token, "code": case.code.lower(), "phone": "138-1234-5678"}
        )
        wrong = await client.post(
            "/t", data={"csrf_token": token, "code": case.code, "phone": "13900000000"}
        )
        page = await client.get(right.headers["location"])
    assert right.status_code == 303 and case.code in page.text
    assert wrong.status_code == 404 and "编号或手机号不对" in wrong.text


async def test_lookup_is_rate_limited_then_challenged_then_refused(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    from backend.services.web_guard import solve_pow

    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        token = await csrf(client, "/t")
        form = {"csrf_token": token, "code": "MD20990101-0001", "phone": "13800000000"}
        statuses = [(await client.post("/t", data=form)).status_code for _ in range(10)]
        assert statuses == [404] * 10  # lookup_phone: 10 an hour
        challenged = await client.post("/t", data=form)
        assert challenged.status_code == 429 and "安全验证" in challenged.text
        challenge = POW_RE.search(challenged.text)
        assert challenge
        bad = {**form, "pow_challenge": challenge.group(1), "pow_answer": "1"}
        assert (await client.post("/t", data=bad)).status_code == 429
        solved = {**form, "pow_challenge": challenge.group(1)}
        solved["pow_answer"] = solve_pow(challenge.group(1))
        assert (await client.post("/t", data=solved)).status_code == 404  # let through
        replayed = await client.post("/t", data=solved)
        assert replayed.status_code == 429 and "安全验证" in replayed.text  # used once only
        for _ in range(19):
            fresh = POW_RE.search((await client.post("/t", data=form)).text)
            assert fresh
            answer = solve_pow(fresh.group(1))
            await client.post(
                "/t", data={**form, "pow_challenge": fresh.group(1), "pow_answer": answer}
            )
        refused = await client.post("/t", data=form)
    assert refused.status_code == 429 and "操作太频繁" in refused.text


async def test_report_rate_limit_per_ip_is_kept_in_redis(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path, redis_url: str
) -> None:
    settings = resident_settings(world, tmp_path, redis_url=redis_url)
    async with resident_client(settings, sqlite_engine, ip="10.9.9.9") as first:
        token = await csrf(first, "/ask")
        for _ in range(60):
            ok = await first.post("/ask", data={"csrf_token": token, "question": "彩礼要退吗"})
            assert ok.status_code == 200
    # a second app (another worker) shares the counter through Redis
    async with resident_client(settings, sqlite_engine, ip="10.9.9.9") as second:
        token = await csrf(second, "/ask")
        limited = await second.post("/ask", data={"csrf_token": token, "question": "彩礼要退吗"})
    assert limited.status_code == 429


async def test_staff_who_may_see_the_case_open_its_web_photo(
    world_any: World, engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world_any, tmp_path), engine) as client:
        await report(client, text=GAMBLING, photos=[("p.jpg", photo_bytes(), "image/jpeg")])
        case = await _newest(world_any)
        anonymous_get = await client.get(f"/cases/{case.code}/files/1")
        await world_any.login(client, "court")
        async with world_any.factory() as session:
            from backend.models import Attachment

            attachment = (
                await session.exec(select(Attachment).where(Attachment.case_id == case.id))
            ).one()
        url = f"/cases/{case.code}/files/{attachment.id}"
        other_unit = await client.get(url)
        await world_any.login(client, "police")
        page = await client.get(f"/cases/{case.code}")
        photo = await client.get(url)
    assert anonymous_get.status_code == 303  # sign in first
    assert other_unit.status_code == 403
    assert url in page.text
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert photo.content[:2] == b"\xff\xd8"
