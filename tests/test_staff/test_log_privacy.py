"""A full run with every logger at DEBUG: report, desk 签收/办结, legal hand-off, web pages.

The logs may carry ids and case codes; never a name, a phone or ID number, the text of a report,
a login token or the bot token.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.models import Case, Person
from backend.services import legal, web_auth
from backend.web import create_app
from bot.callbacks import Act as A
from tests.fakes import FakeCategory
from tests.test_staff.conftest import CATEGORIES, Desk
from tests.test_staff.test_desk_flow import card_message_id
from tests.tg import TgUser

REPORT = "老板欠薪三个月不给，我叫王秀英，手机139-8765-4321，身份证532925199001011234"
RESULT = "已联系王秀英本人，工资已于11月30日结清"
QUESTION = "离婚后孩子抚养费对方不给怎么办？我电话0872-1234567"
LOGGERS = (
    "",
    "aiogram",
    "aiohttp",
    "bot",
    "backend",
    "sqlalchemy",
    "sqlalchemy.engine",
    "uvicorn",
)
TEST_CLIENT = "httpx"  # the test's own HTTP client logs the URLs it requests; not the product


async def test_no_personal_data_or_token_reaches_the_logs(
    desk: Desk,
    sqlite_engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import classifier

    legal_category = FakeCategory("C10", "法律咨询", "Legal advice", "justice")
    monkeypatch.setattr(classifier, "categories", lambda: {**CATEGORIES, "C10": legal_category})
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)

    # The resident reports through the bot, with a contact phone.
    resident = TgUser(desk.dp, desk.bot, user_id=5100, first_name="王秀英")
    await resident.send("/start")
    await resident.press("反映问题")
    await resident.send(REPORT)
    await resident.press("下一步")
    await resident.press("选择乡镇和村")
    await resident.press("弥城镇")
    await resident.press("西山村")
    await resident.send_contact("13812345678")
    await resident.press("确认提交")
    async with desk.factory() as session:
        case = (await session.exec(select(Case))).one()
    assert case.id is not None and case.contact_phone == "13812345678"
    await desk.deliver()

    # The desk claims in the group, reads the details in private and resolves.
    message_id = await card_message_id(desk, case.id)
    await desk.press("hrss_staff", A.claim, case.id, chat="hrss", message_id=message_id)
    await desk.press("hrss_staff", A.detail, case.id)
    await desk.press("hrss_staff", A.resolve, case.id)
    await desk.say("hrss_staff", RESULT)
    await desk.press("hrss_staff", A.evidence_done, case.id)
    await desk.deliver()
    assert any("结清" in text for text in desk.bot.texts(resident.user_id))

    # A legal question handed to a lawyer, with a phone to call back.
    async with desk.factory() as session:
        person = (await session.exec(select(Person).where(Person.telegram_id == 5100))).one()
        await legal.handoff_to_lawyer(
            session=session, person=person, question=QUESTION, contact_phone="13812345678"
        )
    await desk.deliver()

    # The web: a one-time login link, the case page, a search.
    async with desk.factory() as session:
        dispatcher = await session.get(Person, desk["dispatcher"].id)
        assert dispatcher is not None
        link = await web_auth.create_login_link(
            session=session, person=dispatcher, settings=desk.settings
        )
    token = link.rsplit("/", 1)[-1]
    app = create_app(desk.settings, engine=sqlite_engine)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        login = await client.get("/" + link.split("://", 1)[1].partition("/")[2])
        assert login.status_code == 303
        page = await client.get(f"/cases/{case.code}")
        assert page.status_code == 200 and "139-8765-4321" in page.text
        assert (await client.get("/search?q=13812345678")).status_code == 200

    formatter = logging.Formatter("%(message)s")  # messages and tracebacks, not logger names
    records = [r for r in caplog.records if not r.name.startswith(TEST_CLIENT)]
    logged = "\n".join(formatter.format(record) for record in records)
    assert len(records) > 20  # DEBUG was really captured (aiogram, sqlalchemy, bot …)
    for private in (
        "王秀英",
        "13812345678",
        "13987654321",
        "139-8765-4321",
        "532925199001011234",
        "0872-1234567",
        "欠薪三个月",
        "抚养费",
        "工资已于",
        "hrss_staff",  # a staff member's display name
        token,
        desk.bot.token,
    ):
        assert private not in logged, private
