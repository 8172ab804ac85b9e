"""/start, /help, /cancel, /lang and the main menu."""

from __future__ import annotations

from tests.tg import TgUser


async def test_start_greets_and_shows_the_main_menu(resident: TgUser) -> None:
    await resident.send("/start")
    assert "综治中心" in resident.last_text
    assert "反映问题" in resident.last_text
    assert any("法律咨询" in b for b in resident.buttons)
    assert any("查询办理进度" in b for b in resident.buttons)


async def test_lang_switches_to_english_and_back(resident: TgUser) -> None:
    await resident.send("/lang")
    await resident.press("English")
    await resident.send("/start")
    assert "Midu County" in resident.last_text
    await resident.send("/lang")
    await resident.press("简体中文")
    await resident.send("/help")
    assert "使用帮助" in resident.last_text
