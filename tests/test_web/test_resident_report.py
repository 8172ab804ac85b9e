"""The residents' report page (/r): fill in → review → submit, and every refusal on the way."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from backend.models import Attachment, Case, OutboxMessage, Person
from backend.services import resident_web
from tests.test_web.conftest import World
from tests.test_web.resident_client import (
    DRAFT_RE,
    STREETLIGHT,
    csrf,
    photo_bytes,
    report,
    resident_client,
    resident_settings,
    review,
)

RED_TEXT = "我老公拿着刀说要杀了我，现在躲在邻居家"


def _visible(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def _case(world: World, location: str) -> Case:
    async with world.factory() as session:
        rows = await session.exec(select(Case).order_by(Case.id.desc()))  # type: ignore[union-attr]
        case = rows.first()
        assert case is not None
        assert location.startswith("/t/")
        return case


async def test_report_page_is_chinese_first_with_a_label_for_every_control(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        page = await client.get("/r")
        english = await client.get("/r?lang=en")
        browser_en = await client.get("/t", headers={"accept-language": "en-US,en;q=0.9"})
    assert page.status_code == 200
    assert "我要反映问题" in page.text and 'lang="zh-CN"' in page.text
    for control in re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page.text):
        if control in ("lat", "lon"):
            continue
        assert f'for="{control}"' in page.text, control
    assert "Report a problem" in english.text and 'lang="en"' in english.text
    assert "Track progress" in browser_en.text


async def test_report_with_a_photo_becomes_a_web_case_queued_for_the_unit(
    world_any: World, engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = resident_settings(world_any, tmp_path)
    async with resident_client(settings, engine) as client:
        token = await csrf(client)
        page = await review(
            client,
            token,
            photos=[("p.jpg", photo_bytes(exif_gps=True), "image/jpeg")],
            township="弥城镇",
            phone="138 1234 5678",
        )
        assert page.status_code == 200
        text = _visible(page.text)
        assert "环境卫生、市容、路灯" in text and "县住房和城乡建设局" in text
        assert "您提到了“路灯”" in text
        draft = DRAFT_RE.search(page.text)
        assert draft
        done = await client.post("/r/submit", data={"csrf_token": token, "draft": draft.group(1)})
        assert done.status_code == 303
        tracking = await client.get(done.headers["location"])
    case = await _case(world_any, done.headers["location"])
    assert case.channel == "web" and case.township == "弥城镇"
    assert case.contact_phone == "13812345678"
    assert case.code in tracking.text and "请保存这个链接" in tracking.text
    async with world_any.factory() as session:
        photos = (
            await session.exec(select(Attachment).where(Attachment.case_id == case.id))
        ).all()
        cards = (
            await session.exec(select(OutboxMessage).where(OutboxMessage.case_id == case.id))
        ).all()
    assert [a.telegram_file_id for a in photos] == [f"web:{case.code}/1.jpg"]
    stored = tmp_path / case.code / "1.jpg"
    with Image.open(stored) as image:
        assert image.format == "JPEG"
        assert not image.getexif()  # the location (and all EXIF) is gone
    assert any(c.kind == "case_card" and c.recipient_unit_id == case.lead_unit_id for c in cards)
    # the web reporter has no Telegram chat: they read updates on the tracking page instead
    assert not [c for c in cards if c.recipient_person_id == case.reporter_id]


async def test_shared_location_keeps_the_photo_exif(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        done = await report(
            client,
            photos=[("p.jpg", photo_bytes(exif_gps=True), "image/jpeg")],
            share_location="1",
        )
    case = await _case(world, done.headers["location"])
    with Image.open(tmp_path / case.code / "1.jpg") as image:
        assert image.getexif().get(0x8825) is not None


@pytest.mark.parametrize(
    ("files", "status", "message"),
    [
        ([("x.jpg", b"MZ\x90\x00 not a picture", "image/jpeg")], 400, "只能上传照片"),
        ([("x.txt", b"hello", "text/plain")], 400, "只能上传照片"),
        ([("p.jpg", photo_bytes(), "image/jpeg")] * 7, 400, "最多上传 6 张照片"),
    ],
)
async def test_bad_uploads_are_refused_with_a_plain_message(
    world: World,
    sqlite_engine: AsyncEngine,
    tmp_path: Path,
    files: list[tuple[str, bytes, str]],
    status: int,
    message: str,
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        token = await csrf(client)
        page = await review(client, token, photos=files)
    assert page.status_code == status
    assert message in page.text
    async with world.factory() as session:
        assert (await session.exec(select(Case).where(Case.channel == "web"))).first() is None


async def test_an_oversized_photo_is_refused(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    big = io.BytesIO()
    Image.effect_noise((2600, 2600), 90).convert("RGB").save(big, "PNG")
    blob = big.getvalue() + b"\0" * max(0, 8 * 1024 * 1024 + 1 - len(big.getvalue()))
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        token = await csrf(client)
        page = await review(client, token, photos=[("big.png", blob, "image/png")])
    assert page.status_code == 400
    assert "照片太大了" in page.text


async def test_a_form_without_the_csrf_token_changes_nothing(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        await csrf(client)
        page = await client.post("/r", data={"csrf_token": "forged", "text": STREETLIGHT})
        other = await client.post("/ask", data={"question": "欠钱不还怎么办"})
    assert page.status_code == 403 and "安全校验未通过" in page.text
    assert other.status_code == 403


async def test_a_red_risk_text_shows_the_safety_numbers_at_once(
    world_any: World, engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world_any, tmp_path), engine) as client:
        token = await csrf(client)
        page = await review(client, token, text=RED_TEXT)
        draft = DRAFT_RE.search(page.text)
        assert draft
        done = await client.post("/r/submit", data={"csrf_token": token, "draft": draft.group(1)})
        result = await client.get(done.headers["location"])
    for html in (page.text, result.text):
        assert "110" in html and "120" in html and "12356" in html
    case = await _case(world_any, done.headers["location"])
    assert case.risk_level == "red"


async def test_an_anonymous_report_shows_no_identity_to_staff(
    world_any: World, engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = resident_settings(world_any, tmp_path)
    async with resident_client(settings, engine) as client:
        done = await report(
            client, text="村里的垃圾堆了半个月没人清运，臭得很", phone="13977776666", anonymous="1"
        )
        case = await _case(world_any, done.headers["location"])
        await world_any.login(client, "dispatcher")
        staff_page = await client.get(f"/cases/{case.code}")
    assert staff_page.status_code == 200
    assert case.anonymous and case.contact_phone is None and case.contact_name is None
    async with world_any.factory() as session:
        reporter = await session.get(Person, case.reporter_id)
    assert reporter is not None and reporter.phone is None and reporter.display_name == ""
    assert "13977776666" not in staff_page.text and "7777" not in staff_page.text


async def test_a_similar_open_case_offers_follow_instead_of_a_duplicate(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        first = await report(client, township="弥城镇", village="城南社区")
        original = await _case(world, first.headers["location"])
        token = await csrf(client)
        page = await review(client, token, township="弥城镇", village="城南社区")
        assert "关注此案" in page.text and original.code in page.text
        assert "仍要提交" in page.text
        assert "路灯坏了" not in page.text.split("similar-title")[1]  # no other resident's text
        draft = DRAFT_RE.search(page.text)
        assert draft
        followed = await client.post(
            "/r/follow",
            data={"csrf_token": token, "draft": draft.group(1), "code": original.code},
        )
        assert followed.status_code == 303
        view = await client.get(followed.headers["location"])
    assert original.code in view.text and "已关注该事项" in view.text
    assert STREETLIGHT not in view.text  # a follower sees the restricted view
    after = await world.case(original.code)
    assert after.reporter_count == 2


async def test_wrong_category_can_be_changed_before_submitting(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        token = await csrf(client)
        page = await review(client, token)
        draft = DRAFT_RE.search(page.text)
        assert draft and "类别不对？" in page.text
        again = await client.post(
            "/r/review", data={"csrf_token": token, "draft": draft.group(1), "category": "D04"}
        )
        assert "邻里纠纷" in _visible(again.text)
        second = DRAFT_RE.search(again.text)
        assert second
        done = await client.post(
            "/r/submit",
            data={"csrf_token": token, "draft": second.group(1), "category": "D04"},
        )
    case = await _case(world, done.headers["location"])
    assert case.category == "D04"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"township": "弥城镇", "village": "不存在的村"}, "所选的村不属于这个乡镇"),
        ({"lat": "39.9", "lon": "116.4"}, "位置不在有效范围内"),
        ({"phone": "12345"}, "手机号格式不对"),
    ],
)
async def test_bad_place_or_phone_is_refused(
    world: World,
    sqlite_engine: AsyncEngine,
    tmp_path: Path,
    fields: dict[str, str],
    message: str,
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        token = await csrf(client)
        page = await review(client, token, **fields)
    assert page.status_code == 400 and message in page.text


async def test_a_forged_draft_is_refused(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        token = await csrf(client)
        page = await client.post("/r/submit", data={"csrf_token": token, "draft": "x.y.z"})
    assert page.status_code == 400 and "表单已失效" in page.text


def test_chinese_and_english_texts_have_the_same_keys() -> None:
    from backend.web.resident_texts import EN, ZH

    assert set(ZH) == set(EN)
    assert all(value.strip() for value in (*ZH.values(), *EN.values()))


async def test_a_long_report_survives_the_review_step(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    text = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(5000))
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        done = await report(client, text=text)
    assert done.status_code == 303
    case = await _case(world, done.headers["location"])
    assert case.text == text


async def test_the_language_switch_of_a_posted_page_leads_to_a_page_that_exists(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        token = await csrf(client)
        page = await review(client, token)
        draft = DRAFT_RE.search(page.text)
        assert draft
        again = await client.post(
            "/r/review", data={"csrf_token": token, "draft": draft.group(1), "category": "D04"}
        )
        switch = re.search(r'href="([^"]+\?lang=en)"', again.text)
        assert switch and switch.group(1) == "/r?lang=en"
        english = await client.get(switch.group(1))
    assert english.status_code == 200 and "Report a problem" in english.text


async def test_past_the_hourly_limit_a_report_needs_the_browser_challenge(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    from backend.services.web_guard import solve_pow

    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        token = await csrf(client)
        for _ in range(10):  # report_ip: 10 an hour
            assert (await review(client, token)).status_code == 200
        challenged = await review(client, token, township="弥城镇")
        assert challenged.status_code == 429 and "安全验证" in challenged.text
        # the challenge page carries the answers already given, and asks for photos again
        assert 'value="弥城镇"' in challenged.text and 'name="photos"' in challenged.text
        challenge = re.search(r'id="pow-challenge" value="([^"]+)"', challenged.text)
        assert challenge
        solved = await review(
            client,
            token,
            township="弥城镇",
            pow_challenge=challenge.group(1),
            pow_answer=solve_pow(challenge.group(1)),
        )
    assert solved.status_code == 200 and "请确认" in solved.text


async def test_a_draft_submitted_twice_makes_one_case_and_shows_it_both_times(
    world_any: World, engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world_any, tmp_path), engine) as client:
        token = await csrf(client)
        page = await review(client, token, phone="13812345678")
        draft = DRAFT_RE.search(page.text)
        assert draft
        form = {"csrf_token": token, "draft": draft.group(1)}
        first, second = await asyncio.gather(
            client.post("/r/submit", data=form), client.post("/r/submit", data=form)
        )
    assert first.status_code == second.status_code == 303
    keys = [
        resident_web.read_tracking_token(
            world_any.settings, r.headers["location"][3:].split("?")[0]
        )
        for r in (first, second)
    ]
    assert keys[0] == keys[1]
    async with world_any.factory() as session:
        made = (await session.exec(select(Case).where(Case.channel == "web"))).all()
    assert len(made) == 1


async def test_the_review_step_speaks_english_when_asked(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        await client.get("/r?lang=en")  # remembered in a cookie
        token = await csrf(client)
        page = await review(client, token)
    text = _visible(page.text)
    assert "Please check" in text and "You mentioned 路灯" in text
    assert "确认提交" not in text and "Submit" in text


async def test_every_control_of_every_resident_page_has_a_label(
    world: World, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    async with resident_client(resident_settings(world, tmp_path), sqlite_engine) as client:
        token = await csrf(client)
        review_page = await review(client, token)
        asked = await client.post("/ask", data={"csrf_token": token, "question": "欠钱不还怎么办"})
        pages = [review_page, asked, await client.get("/t"), await client.get("/ask")]
    for page in pages:
        html = page.text
        for control in re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*>', html):
            found = re.search(r'\bid="([^"]+)"', control)
            inside_label = re.search(r"<label[^>]*>\s*" + re.escape(control), html)
            assert inside_label or (found and f'for="{found.group(1)}"' in html), control
