"""Browser tests in headless Chromium (Debian's chromium, driven by Playwright) against a real
uvicorn server: sign in with a one-time link, open the board, act on a case, see the timeline
change, download the export. Screenshots of the main pages go to tests/artifacts/.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import uvicorn
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from backend.models import CaseStatus, Person
from backend.services import web_auth
from backend.web import create_app
from tests.conftest import IN_CI
from tests.test_web.conftest import World, build_world

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _require_chromium() -> None:
    if Path(CHROMIUM).exists() or shutil.which(CHROMIUM):
        return
    message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn in a thread with its own event loop; stopped and joined at the end."""

    def __init__(self, world: World, port: int) -> None:
        settings = world.settings.model_copy(update={"web_base_url": f"http://127.0.0.1:{port}"})
        self.settings = settings
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                return
            self.thread.join(0.05)
        raise RuntimeError("uvicorn did not start")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def chromium_path() -> str:
    _require_chromium()
    return CHROMIUM


@pytest.fixture
async def live(
    sqlite_engine: AsyncEngine, chromium_path: str
) -> AsyncIterator[tuple[World, LiveServer]]:
    world = await build_world(sqlite_engine)
    server = LiveServer(world, _free_port())
    await asyncio.to_thread(server.start)
    try:
        yield world, server
    finally:
        await asyncio.to_thread(server.stop)


@pytest.fixture
def artifacts() -> Iterator[Path]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield ARTIFACTS


async def _link(world: World, server: LiveServer, who: str) -> str:
    async with world.factory() as session:
        person = await session.get(Person, world.people[who].id)
        assert person is not None
        return await web_auth.create_login_link(
            session=session, person=person, settings=server.settings
        )


async def test_sign_in_act_on_a_case_and_download_the_export(
    live: tuple[World, LiveServer], chromium_path: str, artifacts: Path, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright

    world, server = live
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
        try:
            # anonymous: the site root sends you to the sign-in page
            anon = await browser.new_page(locale="zh-CN")
            await anon.goto(server.url + "/")
            assert anon.url.endswith("/login")
            assert "/web" in await anon.inner_text("main")
            await anon.screenshot(path=str(artifacts / "login.png"), full_page=True)

            # unit staff: one-time link → own queue → case → 签收 → timeline shows it
            staff_ctx = await browser.new_context(locale="zh-CN")
            staff = await staff_ctx.new_page()
            link = await _link(world, server, "police")
            await staff.goto(link)
            assert staff.url.endswith("/queue")
            assert "MD20261127-0001" in await staff.inner_text("table.cases")
            assert "MD20261127-0002" not in await staff.content()
            await staff.screenshot(path=str(artifacts / "queue.png"), full_page=True)
            await staff.click("text=MD20261127-0001")
            timeline = staff.locator("ol.timeline")
            assert "签收" not in await timeline.inner_text()
            await staff.click("button:has-text('签收')")
            await staff.wait_for_selector(".flash")
            assert "已签收" in await staff.inner_text(".flash")
            assert "签收" in await timeline.inner_text()
            assert "派出所民警" in await timeline.inner_text()
            await staff.fill("form[action$='/note'] input[name=text]", "已约双方明天到村委会调解")
            await staff.click("form[action$='/note'] button")
            await staff.wait_for_selector("text=已约双方明天到村委会调解")
            await staff.screenshot(path=str(artifacts / "case.png"), full_page=True)
            assert (await world.case("MD20261127-0001")).status == CaseStatus.accepted

            # the same link does not work a second time, in another browser
            again = await browser.new_page()
            await again.goto(link)
            assert "已使用" in await again.inner_text("main")

            # the center: board, statistics, Excel export
            center_ctx = await browser.new_context(locale="zh-CN", accept_downloads=True)
            center = await center_ctx.new_page()
            await center.goto(await _link(world, server, "supervisor"))
            assert center.url.rstrip("/") == server.url
            board = await center.inner_text("main")
            assert "综治中心总览" in board and "待分拨" in board and "MD20261127-0003" in board
            await center.screenshot(path=str(artifacts / "board.png"), full_page=True)
            await center.click("nav >> text=研判统计")
            await center.wait_for_selector("svg.chart")
            await center.screenshot(path=str(artifacts / "stats.png"), full_page=True)
            async with center.expect_download() as download_info:
                await center.click("#export-xlsx")
            download = await download_info.value
            saved = tmp_path / download.suggested_filename
            await download.save_as(saved)
            assert saved.suffix == ".xlsx"
            book = load_workbook(saved)
            assert "按类别" in book.sheetnames
            summary = list(book["概况"].iter_rows(min_row=2, values_only=True))
            assert summary[0][0] == "受理总数" and summary[0][1] == 3
        finally:
            await browser.close()
