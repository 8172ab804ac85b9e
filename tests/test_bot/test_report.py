"""The resident's report conversation, step by step, including every way back out."""

from __future__ import annotations

import pytest
from aiogram import Dispatcher
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Attachment, Case, CaseFollower, OutboxMessage, RiskLevel
from bot.callbacks import Flow
from tests.mocked_bot import MockedBot
from tests.tg import TgUser

MIDU = (25.34, 100.49)  # 弥城镇, inside the county
KUNMING = (25.04, 102.71)  # far outside 弥渡
COMPLAINT = "邻居家的排水沟一直往我家院子里流水，说了好几次都不改。"


async def _cases(factory: async_sessionmaker[AsyncSession]) -> list[Case]:
    async with factory() as session:
        return list((await session.exec(select(Case))).all())


async def _to_place(user: TgUser, text: str = COMPLAINT) -> None:
    await user.send("/start")
    await user.press("反映问题")
    await user.send(text)
    await user.press("下一步")


async def _to_summary(user: TgUser, text: str = COMPLAINT) -> None:
    await _to_place(user, text)
    await user.press("选择乡镇和村")
    await user.press("弥城镇")
    await user.press("西山村")
    await user.press("匿名反映")


async def test_resident_files_a_report_from_start_to_case_code(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await resident.send("/start")
    await resident.press("反映问题")
    assert "发生了什么" in resident.last_text
    await resident.send(COMPLAINT)
    await resident.send_photo(file_id="photo-1")
    await resident.send_document(file_id="doc-1", file_name="协议.pdf")
    assert "2 个附件" in resident.last_text
    await resident.press("下一步")
    assert "发生在哪里" in resident.last_text
    await resident.press("选择乡镇和村")
    await resident.press("弥城镇")
    await resident.press("西山村")
    assert "联系方式" in resident.last_text
    await resident.send_contact("13812345678")
    summary = resident.last_text
    assert "请核对" in summary
    assert "138****5678" in summary
    assert "弥城镇 西山村" in summary
    assert "办理单位" in summary
    await resident.press("确认提交")
    submitted = resident.texts[-2]
    assert "已提交" in submitted
    [case] = await _cases(bot_session_factory)
    assert case.code in submitted
    assert (case.township, case.village) == ("弥城镇", "西山村")
    assert case.contact_phone == "13812345678"
    assert not case.anonymous
    async with bot_session_factory() as session:
        files = (await session.exec(select(Attachment))).all()
    assert {(a.kind, a.telegram_file_id) for a in files} == {
        ("photo", "photo-1"),
        ("document", "doc-1"),
    }


async def test_follow_up_messages_are_appended_and_a_long_text_is_stored_whole(
    resident: TgUser, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    long_text = "邻居占了我家的承包地" + "很" * 4990
    assert len(long_text) == 5000
    await resident.send("/start")
    await resident.press("反映问题")
    await resident.send(long_text)
    await resident.send("补充：去年就开始了。")
    await resident.press("下一步")
    await resident.press("跳过")
    await resident.press("匿名反映")
    assert all(len(text) <= 4096 for text in bot.texts())
    await resident.press("确认提交")
    [case] = await _cases(bot_session_factory)
    assert case.text == long_text + "\n补充：去年就开始了。"


async def test_html_in_the_description_is_escaped_before_it_is_shown(resident: TgUser) -> None:
    await _to_summary(resident, text="<b>邻居</b> 乱排水 <script>alert(1)</script>")
    assert "&lt;script&gt;" in resident.last_text
    assert "<script>" not in resident.last_text


async def test_location_outside_the_county_gets_a_polite_notice_and_another_chance(
    resident: TgUser,
) -> None:
    await _to_place(resident)
    await resident.send_location(*KUNMING)
    assert "不在弥渡县" in resident.last_text
    await resident.send_location(*MIDU)
    assert "弥城镇" in resident.texts[-2]
    assert "联系方式" in resident.last_text


async def test_a_typed_address_finds_the_township_and_village(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _to_place(resident)
    await resident.send("弥城镇西山村三组 王家门口")
    await resident.press("匿名反映")
    await resident.press("确认提交")
    [case] = await _cases(bot_session_factory)
    assert (case.township, case.village) == ("弥城镇", "西山村")
    assert case.address == "弥城镇西山村三组 王家门口"


async def test_back_goes_to_the_previous_step_from_every_step(resident: TgUser) -> None:
    await _to_place(resident)
    await resident.press("上一步")
    assert "已经写了" in resident.last_text  # back at the description, text kept
    await resident.press("下一步")
    await resident.press("选择乡镇和村")
    await resident.press("上一步")
    assert "发生在哪里" in resident.last_text
    await resident.press("跳过")
    assert "联系方式" in resident.last_text
    await resident.press("上一步")
    assert "发生在哪里" in resident.last_text
    await resident.press("跳过")
    await resident.press("匿名反映")
    assert "请核对" in resident.last_text
    await resident.press("换一个")
    await resident.press("上一步")
    assert "请核对" in resident.last_text
    await resident.press("上一步")
    assert "联系方式" in resident.last_text


async def test_back_on_the_first_step_leaves_without_submitting(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await resident.send("/start")
    await resident.press("反映问题")
    await resident.press("上一步")
    assert "已取消" in resident.texts[-2]
    assert await _cases(bot_session_factory) == []


async def test_back_on_the_first_step_keeps_the_written_draft_for_later(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await resident.send("/start")
    await resident.press("反映问题")
    await resident.send(COMPLAINT)
    await resident.send_photo(file_id="photo-1")
    await resident.press("上一步")
    assert "已取消" not in " ".join(resident.texts[-2:])
    assert "已经保存" in resident.texts[-2]
    assert any("反映问题" in label for label in resident.buttons)  # the menu: no dead end
    await resident.press("反映问题")
    await resident.press("继续填写")
    assert "1 个附件" in resident.last_text or "已经写了" in resident.last_text
    await resident.press("下一步")
    await resident.press("跳过")
    await resident.press("匿名反映")
    assert "排水沟" in resident.last_text  # the kept text reached the summary
    assert await _cases(bot_session_factory) == []


@pytest.mark.parametrize("step", ["text", "place", "township", "village", "contact", "summary"])
async def test_cancel_at_any_step_submits_nothing(
    step: str,
    resident: TgUser,
    dp: Dispatcher,
    bot: MockedBot,
    bot_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await resident.send("/start")
    await resident.press("反映问题")
    await resident.send(COMPLAINT)
    if step != "text":
        await resident.press("下一步")
    if step in {"township", "village"}:
        await resident.press("选择乡镇和村")
    if step == "village":
        await resident.press("弥城镇")
    if step in {"contact", "summary"}:
        await resident.press("跳过")
    if step == "summary":
        await resident.press("匿名反映")
    await resident.press("取消")
    assert "已取消" in resident.texts[-2]
    assert await _cases(bot_session_factory) == []
    state = dp.fsm.get_context(bot, resident.user_id, resident.user_id)
    assert await state.get_state() is None


async def test_slash_cancel_works_in_the_middle_of_a_report(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _to_place(resident)
    await resident.send("/cancel")
    assert "已取消" in resident.texts[-2]
    await resident.send("/cancel")
    assert "没有进行中的操作" in resident.last_text
    assert await _cases(bot_session_factory) == []


async def test_stickers_and_voice_get_clear_answers(resident: TgUser) -> None:
    await resident.send_sticker()
    assert "表情" in resident.last_text
    await resident.send_voice()
    assert "语音" in resident.last_text
    await resident.send("/start")
    await resident.press("反映问题")
    await resident.send_sticker()
    assert "无法作为问题描述" in resident.last_text
    await resident.send_voice()
    assert "语音已作为附件保存" in resident.last_text
    await resident.press("下一步")
    assert "用文字" in resident.last_text  # voice alone is not enough: asked to type


async def test_next_without_any_text_asks_for_a_few_words(resident: TgUser) -> None:
    await resident.send("/start")
    await resident.press("反映问题")
    await resident.press("下一步")
    assert "先用文字" in resident.last_text


async def test_double_tapped_submit_files_one_case(
    resident: TgUser, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _to_summary(resident)
    submit = Flow(action="submit").pack()
    await resident.click(submit)
    await resident.click(submit)
    assert len(await _cases(bot_session_factory)) == 1
    assert any("失效" in alert for alert in bot.alerts())


async def test_forged_callback_data_is_refused_and_changes_nothing(
    resident: TgUser, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _to_place(resident)
    await resident.press("选择乡镇和村")
    await resident.click(Flow(action="township", arg="999").pack())
    await resident.click(Flow(action="township", arg="-1").pack())
    await resident.click(Flow(action="submit").pack())  # not at the summary yet
    await resident.click("definitely-not-ours")
    assert len([a for a in bot.alerts() if "失效" in a]) == 4
    assert await _cases(bot_session_factory) == []
    await resident.press("弥城镇")  # the real buttons still work
    assert "请选择 弥城镇 的村" in resident.last_text


async def test_red_risk_text_shows_safety_numbers_first_and_alerts_the_center(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await resident.send("/start")
    await resident.press("反映问题")
    await resident.send("我邻居拿着刀说要砍人，现在就在村口！")
    safety, ack = resident.texts[-2:]
    assert "110" in safety and "120" in safety and "12356" in safety
    assert "已记下" in ack
    await resident.press("立即报告综治中心")
    [case] = await _cases(bot_session_factory)
    assert case.risk_level == RiskLevel.red
    assert "紧急" in resident.texts[-2]
    async with bot_session_factory() as session:
        kinds = {m.kind for m in (await session.exec(select(OutboxMessage))).all()}
    assert "red_alert" in kinds


async def test_a_similar_open_case_nearby_can_be_followed_instead(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    first = TgUser(dp, bot, user_id=2001)
    await _to_summary(first)
    await first.press("确认提交")
    [case] = await _cases(bot_session_factory)

    second = TgUser(dp, bot, user_id=2002)
    await _to_summary(second, text="邻居家的排水沟一直往我家院子里流水，说了几次都不改")
    shown = second.last_text
    assert case.code in shown
    assert "说了几次" not in shown  # no description text (may hold personal data)
    await second.press("关注此案")
    assert "已关注" in second.texts[-2]
    async with bot_session_factory() as session:
        followers = (await session.exec(select(CaseFollower))).all()
        refreshed = await session.get(Case, case.id)
    assert len(await _cases(bot_session_factory)) == 1
    assert len(followers) == 1
    assert refreshed is not None and refreshed.reporter_count == 2


async def test_submit_anyway_after_seeing_a_similar_case(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    first = TgUser(dp, bot, user_id=2101)
    await _to_summary(first)
    await first.press("确认提交")
    second = TgUser(dp, bot, user_id=2102)
    await _to_summary(second)
    await second.press("仍要提交")
    assert "请核对" in second.last_text
    await second.press("确认提交")
    assert len(await _cases(bot_session_factory)) == 2


async def test_a_wrong_category_can_be_changed_before_submitting(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _to_summary(resident)
    await resident.press("换一个")
    await resident.press("欠薪、劳动纠纷")
    assert "欠薪、劳动纠纷" in resident.last_text
    assert "人力资源" in resident.last_text
    await resident.press("确认提交")
    [case] = await _cases(bot_session_factory)
    assert case.category == "D08"
    assert case.department == "hrss"


async def test_free_text_outside_any_flow_starts_a_report(resident: TgUser) -> None:
    await resident.send("村里的路灯坏了两个月了，晚上很黑，老人出门不方便")
    assert "记下来" in resident.last_text
    await resident.press("下一步")
    assert "发生在哪里" in resident.last_text


async def test_an_unfinished_report_is_offered_to_resume(resident: TgUser) -> None:
    await _to_place(resident)
    await resident.send("/mycases")  # a command mid-report keeps the draft
    assert "还没有反映过" in resident.last_text
    await resident.press("反映问题")
    assert "没有提交的反映" in resident.last_text
    await resident.press("继续填写")
    assert "发生在哪里" in resident.last_text


async def test_the_report_works_in_english(resident: TgUser) -> None:
    await resident.send("/lang")
    await resident.press("English")
    await resident.press("Report a problem")
    assert "describe what happened" in resident.last_text
    await resident.send(COMPLAINT)
    await resident.press("next step")
    await resident.press("Skip")
    await resident.press("Stay anonymous")
    assert "Please check your report" in resident.last_text
    await resident.press("Submit")
    assert "Submitted!" in resident.texts[-2]


async def test_back_from_the_similar_cases_returns_to_the_contact_step(
    dp: Dispatcher, bot: MockedBot
) -> None:
    first = TgUser(dp, bot, user_id=2201)
    await _to_summary(first)
    await first.press("确认提交")
    second = TgUser(dp, bot, user_id=2202)
    await _to_summary(second)
    assert "相似的事项" in second.texts[-2]
    await second.press("上一步")
    assert "联系方式" in second.last_text


async def test_start_mid_report_parks_the_draft_and_a_text_typed_then_can_join_it(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await _to_place(resident)
    await resident.send("/start")
    assert "已经保存" in resident.texts[-2]
    await resident.send("村口的桥裂了好大一条缝，车子过的时候晃得很厉害")
    assert "没有提交的反映" in resident.last_text
    await resident.press("补充到上次的反映")
    assert "已经补充" in resident.texts[-2]
    assert "发生在哪里" in resident.last_text
    await resident.press("跳过")
    await resident.press("匿名反映")
    await resident.press("确认提交")
    [case] = await _cases(bot_session_factory)
    assert case.text == COMPLAINT + "\n村口的桥裂了好大一条缝，车子过的时候晃得很厉害"


async def test_start_over_discards_the_parked_draft(resident: TgUser) -> None:
    await _to_place(resident)
    await resident.send("/start")
    await resident.press("反映问题")
    await resident.press("重新开始")
    assert "发生了什么" in resident.last_text


@pytest.mark.parametrize("spacing", [" ", "", "  "])
async def test_a_typed_address_that_names_its_township_is_shown_once_for_every_township(
    spacing: str,
) -> None:
    from backend.county import load_county
    from backend.models import Case as CaseRow
    from bot.dialogs.flow import new_draft, place_text
    from bot.notifications.cards import place_label

    county = load_county()
    for township, villages in county.townships.items():
        for village in [*villages[:3], "不在名册的村"]:
            typed = spacing.join([township, village, "三组"])
            found_village = village if village in villages else None
            data = {
                **new_draft("resident"),
                "township": township,
                "village": found_village,
                "address": typed,
            }
            shown = place_text(data, "zh")
            assert shown.count(township) == 1, shown
            assert shown.count(village) == 1, shown
            card = place_label(
                CaseRow(
                    code="X", text="-", township=township, village=found_village, address=typed
                ),
                "zh",
            )
            assert card.count(township) == 1, card


async def test_a_typed_address_without_the_township_gets_it_in_front(resident: TgUser) -> None:
    await _to_place(resident)
    await resident.send("西山村三组 王家门口")
    await resident.press("匿名反映")
    assert "弥城镇 西山村 西山村三组" not in resident.last_text
    assert "弥城镇 西山村三组 王家门口" in resident.last_text


async def test_a_typed_address_with_an_unknown_village_is_not_doubled(resident: TgUser) -> None:
    await _to_place(resident)
    await resident.send("弥城镇 红岩村 三组")
    await resident.press("匿名反映")
    assert "地点：弥城镇 红岩村 三组" in resident.last_text


RED_TEXT = "他拿着菜刀在我家门口说要砍死我全家，现在还没走"


async def _to_screen(user: TgUser, screen: str) -> str:
    """Open a screen with inline buttons; the label of one of them."""
    if screen == "summary":
        await _to_summary(user)
        return "确认提交"
    await _to_place(user)
    await user.press("选择乡镇和村")
    if screen == "townships":
        return "弥城镇"
    await user.press("弥城镇")
    return "西山村"


@pytest.mark.parametrize("leave_by", ["取消", "/cancel", "/start"])
@pytest.mark.parametrize("screen", ["summary", "townships", "villages"])
async def test_buttons_of_a_left_report_are_edited_away(
    screen: str,
    leave_by: str,
    resident: TgUser,
    bot_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    label = await _to_screen(resident, screen)
    if screen == "summary":
        await resident.press("换一个")  # the category list too
        await resident.press("上一步")
    if leave_by == "取消":
        await resident.press("取消")
    else:
        await resident.send(leave_by)
    for stale in (label, "换一个", "邻里纠纷"):
        with pytest.raises(AssertionError, match="no visible button"):
            await resident.press(stale)
    assert await _cases(bot_session_factory) == []


async def test_the_urgent_button_goes_when_the_report_it_belongs_to_is_cancelled(
    resident: TgUser, bot: MockedBot, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await resident.send("/start")
    await resident.send(RED_TEXT)
    alert_id = resident._last_inline_message_id()
    assert any("立即报告" in label for label in resident.buttons)
    await resident.press("取消")
    with pytest.raises(AssertionError, match="no visible button"):
        await resident.press("立即报告")
    await resident.click(Flow(action="urgent").pack(), message_id=alert_id)  # an old client
    assert "失效" in bot.alerts()[-1]
    assert await _cases(bot_session_factory) == []


async def test_the_urgent_button_still_files_when_the_report_is_not_cancelled(
    resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await resident.send("/start")
    await resident.send(RED_TEXT)
    await resident.press("立即报告")
    [case] = await _cases(bot_session_factory)
    assert RED_TEXT in case.text
