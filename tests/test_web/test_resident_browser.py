"""The residents' web page in headless Chromium on a phone-sized screen, end to end:
report with a photo and a township pick → case code → the unit's staff card is queued → staff
签收 and 办结 on the dashboard → the tracking page shows the result → rating. Screenshots of each
page go to tests/artifacts/resident_*.png.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.models import CaseStatus, OutboxMessage, Person
from backend.services import web_auth
from tests.test_web.conftest import World, build_world
from tests.test_web.resident_client import photo_bytes
from tests.test_web.test_browser import (
    ARTIFACTS,
    CHROMIUM,
    LAUNCH_ARGS,
    LiveServer,
    _free_port,
    _require_chromium,
)

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}
GAMBLING = "村里有几个人天天晚上聚众赌博，吵得睡不着"
RESULT = "已联合村委会查处，收缴赌具，对相关人员进行了教育。"


@pytest.fixture
def phone_chromium() -> str:
    _require_chromium()
    return CHROMIUM


@pytest.fixture
async def live_resident(
    sqlite_engine: AsyncEngine, phone_chromium: str, tmp_path: Path
) -> AsyncIterator[tuple[World, LiveServer]]:
    world = await build_world(sqlite_engine)
    world.settings = world.settings.model_copy(update={"upload_dir": tmp_path / "uploads"})
    server = LiveServer(world, _free_port())
    await asyncio.to_thread(server.start)
    try:
        yield world, server
    finally:
        await asyncio.to_thread(server.stop)


async def _staff_link(world: World, server: LiveServer, who: str) -> str:
    async with world.factory() as session:
        person = await session.get(Person, world.people[who].id)
        assert person is not None
        return await web_auth.create_login_link(
            session=session, person=person, settings=server.settings
        )


async def test_a_resident_reports_from_a_phone_and_rates_the_result(
    live_resident: tuple[World, LiveServer], phone_chromium: str, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    world, server = live_resident
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(photo_bytes(exif_gps=True, size=(800, 600)))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=phone_chromium, args=LAUNCH_ARGS)
        try:
            phone_ctx = await browser.new_context(
                viewport=PHONE,
                device_scale_factor=2,
                is_mobile=True,
                has_touch=True,
                locale="zh-CN",
            )
            page = await phone_ctx.new_page()
            await page.goto(server.url + "/r")
            await page.screenshot(path=str(ARTIFACTS / "resident_report.png"), full_page=True)
            await page.fill("#text", GAMBLING)
            await page.set_input_files("#photos", str(photo))
            await page.select_option("#township", "弥城镇")
            # the village list shows only the chosen township's villages
            assert await page.locator("optgroup[data-township='德苴乡']").is_hidden()
            await page.select_option("#village", "城南社区")
            await page.fill("#phone", "13812345678")
            await page.click("button[type=submit]")
            await page.wait_for_selector("text=请确认")
            review = await page.inner_text("main")
            assert "县公安局" in review and "您提到了" in review
            await page.screenshot(path=str(ARTIFACTS / "resident_review.png"), full_page=True)
            await page.click("form[action='/r/submit'] button")
            await page.wait_for_selector("#case-code")
            code = (await page.inner_text("#case-code")).strip()
            link = await page.get_attribute("#track-link", "href")
            assert link and "/t/" in link
            await page.screenshot(path=str(ARTIFACTS / "resident_submitted.png"), full_page=True)

            case = await world.case(code)
            assert case.channel == "web" and case.village == "城南社区"
            async with world.factory() as session:
                cards = (
                    await session.exec(
                        select(OutboxMessage).where(
                            OutboxMessage.case_id == case.id, OutboxMessage.kind == "case_card"
                        )
                    )
                ).all()
            assert [c.recipient_unit_id for c in cards] == [case.lead_unit_id]

            # staff: 签收 and 办结 on the dashboard, the photo viewable there
            staff = await (await browser.new_context(locale="zh-CN")).new_page()
            await staff.goto(await _staff_link(world, server, "police"))
            await staff.goto(f"{server.url}/cases/{code}")
            assert "网页" in await staff.inner_text("main")
            async with staff.expect_popup() as popup_info:
                await staff.click("text=查看")
            photo_page = await popup_info.value
            await photo_page.wait_for_load_state()
            assert photo_page.url.endswith(".jpg") or "/files/" in photo_page.url
            await staff.click("button:has-text('签收')")
            await staff.wait_for_selector(".flash")
            await staff.fill("form[action$='/resolve'] textarea[name=text]", RESULT)
            await staff.click("form[action$='/resolve'] button")
            await staff.wait_for_selector("text=已办结")
            assert (await world.case(code)).status == CaseStatus.resolved

            # the resident's link shows the result and asks for a rating
            await page.goto(link)
            assert RESULT in await page.inner_text("#case-result")
            assert "派出所民警" not in await page.content()
            await page.screenshot(path=str(ARTIFACTS / "resident_resolved.png"), full_page=True)
            await page.check("input[name=score][value=satisfied]")
            await page.click("#rate button")
            await page.wait_for_selector("text=谢谢您的评价")
            assert "已结案" in await page.inner_text("#case-status")
            await page.screenshot(path=str(ARTIFACTS / "resident_rated.png"), full_page=True)
            assert (await world.case(code)).status == CaseStatus.closed

            # lookup and legal questions
            await page.goto(server.url + "/t")
            await page.screenshot(path=str(ARTIFACTS / "resident_lookup.png"), full_page=True)
            await page.goto(server.url + "/ask")
            await page.fill("#question", "别人借了我两万块钱一直不还，我该怎么办")
            await page.click("form[action='/ask'] button")
            await page.wait_for_selector("text=法律依据")
            await page.screenshot(path=str(ARTIFACTS / "resident_ask.png"), full_page=True)

            # 200% zoom on the same phone: a 180 px wide layout, nothing cut off sideways
            zoomed = await browser.new_context(
                viewport={"width": 180, "height": 370}, locale="zh-CN"
            )
            small = await zoomed.new_page()
            await small.goto(server.url + "/r")
            overflow = await small.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0
            await small.screenshot(path=str(ARTIFACTS / "resident_report_200.png"), full_page=True)
        finally:
            await browser.close()
