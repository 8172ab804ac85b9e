"""Legal questions on the web (/ask): the bot's search, the legal basis, the lawyer hand-off."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.models import Case, LegalQuestionLog
from tests.test_web.conftest import World
from tests.test_web.resident_client import csrf, resident_client, resident_settings

LOAN = "别人借了我两万块钱一直不还，我该怎么办"


async def test_a_question_gets_the_answer_with_its_legal_basis_and_is_logged(
    world_any: World, engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world_any, tmp_path), engine) as client:
        token = await csrf(client, "/ask")
        page = await client.post("/ask", data={"csrf_token": token, "question": LOAN})
    assert page.status_code == 200
    assert "借钱不还" in page.text and "法律依据" in page.text and "《民法典》" in page.text
    assert "请律师回答" in page.text
    async with world_any.factory() as session:
        logged = (await session.exec(select(LegalQuestionLog))).all()
    assert [(row.question, row.answered) for row in logged] == [(LOAN, True)]


async def test_an_unanswerable_question_offers_the_lawyer_desk(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    question = "我家祖坟旁边的古树被人砍了要怎么追究"
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        token = await csrf(client, "/ask")
        unanswered = "邻居在我家祖坟边上挖沙，法律上怎么办"
        page = await client.post("/ask", data={"csrf_token": token, "question": unanswered})
        assert "还没有现成的答复" in page.text and "请律师回答" in page.text
        # the weather is no legal question: declined, and no lawyer is offered for it
        page = await client.post("/ask", data={"csrf_token": token, "question": "今天天气怎么样"})
        assert "不属于法律咨询" in page.text and "请律师回答" not in page.text
        handed = await client.post(
            "/ask/lawyer",
            data={"csrf_token": token, "question": question, "phone": "13812345678"},
        )
        assert handed.status_code == 303
        tracking = await client.get(handed.headers["location"])
    async with world.factory() as session:
        case = (await session.exec(select(Case).where(Case.text == question))).one()
    assert case.category == "C10" and case.department == "justice" and case.channel == "web"
    assert case.contact_phone == "13812345678"
    assert case.code in tracking.text


async def test_an_anonymous_hand_off_keeps_no_phone(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        token = await csrf(client, "/ask")
        await client.post(
            "/ask/lawyer",
            data={"csrf_token": token, "question": LOAN, "phone": "13812345678", "anonymous": "1"},
        )
    async with world.factory() as session:
        case = (await session.exec(select(Case).where(Case.text == LOAN))).one()
    assert case.anonymous and case.contact_phone is None


async def test_a_dangerous_question_shows_the_safety_numbers(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        token = await csrf(client, "/ask")
        page = await client.post(
            "/ask", data={"csrf_token": token, "question": "我老公拿着刀说要杀了我，离婚怎么办"}
        )
    assert "110" in page.text and "12356" in page.text


async def test_an_empty_question_or_a_bad_phone_is_refused(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        token = await csrf(client, "/ask")
        empty = await client.post("/ask", data={"csrf_token": token, "question": "  "})
        bad_phone = await client.post(
            "/ask/lawyer", data={"csrf_token": token, "question": LOAN, "phone": "123"}
        )
    assert empty.status_code == 400 and "请先写下您想咨询的问题" in empty.text
    assert bad_phone.status_code == 400 and "手机号格式不对" in bad_phone.text


async def test_helpful_or_not_is_stored_on_the_logged_question_only_with_its_signed_id(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        token = await csrf(client, "/ask")
        page = await client.post("/ask", data={"csrf_token": token, "question": LOAN})
        log = re.search(r'name="log" value="([^"]+)"', page.text)
        assert log
        forged = await client.post(
            "/ask/feedback", data={"csrf_token": token, "log": "1", "helpful": "0"}
        )
        thanks = await client.post(
            "/ask/feedback", data={"csrf_token": token, "log": log.group(1), "helpful": "0"}
        )
    assert forged.status_code == 400
    assert thanks.status_code == 200 and "谢谢您的反馈" in thanks.text
    async with world.factory() as session:
        row = (await session.exec(select(LegalQuestionLog))).one()
    assert row.helpful is False
