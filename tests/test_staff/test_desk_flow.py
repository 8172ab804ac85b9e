"""The whole desk flow through the real dispatcher and the notifier, with a recording bot."""

from __future__ import annotations

from sqlmodel import select

from backend.models import CaseStatus, CaseTask, OutboxState, Person, RatingScore, TaskStatus
from backend.services import workflow
from bot.callbacks import Act as A
from bot.callbacks import DeskMenu, StaffMenu
from tests.mocked_bot import button_texts
from tests.test_staff.conftest import GROUPS, Desk, callbacks_of
from tests.tg import make_callback_update


async def card_message_id(desk: Desk, case_id: int, kind: str = "case_card") -> int:
    rows = [r for r in await desk.outbox(kind) if r.case_id == case_id]
    assert rows and rows[-1].state == OutboxState.sent
    message_id = rows[-1].telegram_message_id
    assert message_id is not None
    return message_id


async def claimed_case(desk: Desk, text: str = "老板欠薪三个月不给") -> int:
    case = await desk.submit(text, township="弥城镇")
    assert case.id is not None
    await desk.deliver()
    await desk.press(
        "hrss_staff",
        A.claim,
        case.id,
        chat="hrss",
        message_id=await card_message_id(desk, case.id),
    )
    return case.id


async def test_new_case_card_reaches_the_unit_group_with_claim_return_detail(desk: Desk) -> None:
    case = await desk.submit(
        "老板欠薪三个月不给，电话13812345678",
        township="弥城镇",
        contact_phone="13812345678",
        contact_name="李四",
    )
    await desk.deliver()

    card = desk.sent_to("hrss")[-1]
    assert case.code in card
    assert "劳动争议" in card and "弥城镇" in card
    assert "138****5678" in card and "13812345678" not in card.replace("138****5678", "")
    assert "关键词：欠薪" in card
    actions = [c.action for c in callbacks_of(desk.markup_to("hrss"))]
    assert actions == [A.claim, A.ret, A.detail]


async def test_a_card_says_where_a_case_came_from_unless_it_is_the_bot(desk: Desk) -> None:
    from_web = await desk.submit("老板欠薪两个月不给", township="弥城镇", channel="web")
    await desk.deliver()
    assert from_web.code in desk.sent_to("hrss")[-1] and "来源：网页" in desk.sent_to("hrss")[-1]
    from_bot = await desk.submit("老板欠薪三个月不给", township="弥城镇")
    await desk.deliver()
    assert from_bot.code in desk.sent_to("hrss")[-1] and "来源" not in desk.sent_to("hrss")[-1]


async def test_claim_edits_the_card_in_place_and_sends_the_private_panel(desk: Desk) -> None:
    case = await desk.submit("老板欠薪三个月不给", township="弥城镇")
    assert case.id is not None
    await desk.deliver()
    message_id = await card_message_id(desk, case.id)

    await desk.press("hrss_staff", A.claim, case.id, chat="hrss", message_id=message_id)

    edits = desk.bot.calls("editMessageText", chat_id=GROUPS["hrss"])
    assert edits and edits[-1].message_id == message_id
    headline = edits[-1].text.splitlines()[0]
    assert headline.startswith("🔧 办理中 · 张三 签收") and "前办结" in headline
    assert "新案件待签收" not in edits[-1].text
    assert [c.action for c in callbacks_of(edits[-1].reply_markup)] == [A.detail]
    panel = desk.bot.calls("sendMessage", chat_id=desk.tg("hrss_staff"))[-1]
    assert case.code in panel.text
    labels = button_texts(panel.reply_markup)
    for label in ("办结", "延期申请", "申请联办", "备注", "上传材料"):
        assert any(label in b for b in labels), label
    assert (await desk.case(case.id)).status == CaseStatus.accepted


async def test_resolve_with_result_and_photos_notifies_the_resident_who_rates(desk: Desk) -> None:
    case_id = await claimed_case(desk)
    await desk.press("hrss_staff", A.resolve, case_id)
    await desk.say("hrss_staff", "已协调用人单位于11月30日前结清工资。")
    await desk.photo("hrss_staff", "evidence-1")
    await desk.photo("hrss_staff", "evidence-2")
    await desk.press("hrss_staff", A.evidence_done, case_id)

    case = await desk.case(case_id)
    assert case.status == CaseStatus.resolved
    assert case.result_text == "已协调用人单位于11月30日前结清工资。"
    await desk.deliver()
    resident = desk.sent_to(desk.tg("resident"))
    assert any("已办结" in text and "结清工资" in text for text in resident)
    rating_markup = desk.bot.last_markup(desk.tg("resident"))
    assert {"满意", "不满意"} <= {label.split(" ")[-1] for label in button_texts(rating_markup)}

    async with desk.factory() as session:
        resident_person = await session.get(type(desk["resident"]), desk["resident"].id)
        assert resident_person is not None
        closed = await workflow.rate(
            session=session, actor=resident_person, case_id=case_id, score=RatingScore.satisfied
        )
    assert closed.status == CaseStatus.closed


async def test_return_then_center_approves_and_reassigns(desk: Desk) -> None:
    case = await desk.submit("老板欠薪三个月不给", township="弥城镇")
    assert case.id is not None
    await desk.deliver()
    await desk.press("hrss_staff", A.ret, case.id, chat="hrss")
    reasons = callbacks_of(desk.bot.last_markup(desk.tg("hrss_staff")))  # type: ignore[arg-type]
    assert [c.action for c in reasons][:4] == [A.ret_reason] * 4
    await desk.press("hrss_staff", A.ret_reason, case.id, "1")  # 权属不清
    await desk.say("hrss_staff", "用工主体是建筑工地，应由住建局处理")
    assert (await desk.case(case.id)).status == CaseStatus.returned

    await desk.deliver()
    request = desk.sent_to("center")[-1]
    assert "退单申请" in request and "权属不清" in request and "住建局" in request
    await desk.press("dispatcher", A.approve_return, case.id, chat="center")
    picker = callbacks_of(desk.markup_to("center"))
    housing = desk.units["housing"].id
    assert any(c.action == A.return_to and c.arg == housing for c in picker)
    await desk.press("dispatcher", A.return_to, case.id, str(housing), chat="center")

    case_now = await desk.case(case.id)
    assert case_now.status == CaseStatus.dispatched
    assert case_now.lead_unit_id == housing
    await desk.deliver()
    assert any(case.code in text for text in desk.sent_to("housing"))
    assert any("退单申请已同意" in text for text in desk.sent_to(desk.tg("hrss_staff")))


async def test_return_overruled_goes_back_to_the_same_unit(desk: Desk) -> None:
    case = await desk.submit("老板欠薪三个月不给", township="弥城镇")
    assert case.id is not None
    await desk.deliver()
    await desk.press("hrss_staff", A.ret, case.id, chat="hrss")
    await desk.press("hrss_staff", A.ret_reason, case.id, "0")
    await desk.say("hrss_staff", "不在本县")
    await desk.deliver()
    await desk.press("dispatcher", A.overrule, case.id, chat="center")

    case_now = await desk.case(case.id)
    assert case_now.status == CaseStatus.dispatched
    assert case_now.lead_unit_id == desk.units["hrss"].id
    await desk.deliver()
    assert "退单未获批准" in desk.sent_to("hrss")[-1]
    assert any("未获批准" in text for text in desk.sent_to(desk.tg("hrss_staff")))


async def test_extension_request_and_approval(desk: Desk) -> None:
    case_id = await claimed_case(desk)
    before = (await desk.case(case_id)).handle_deadline
    await desk.press("hrss_staff", A.extend, case_id)
    await desk.press("hrss_staff", A.extend, case_id, "5")
    await desk.say("hrss_staff", "需要等待劳动监察调查结果")
    await desk.deliver()
    assert "延期申请" in desk.sent_to("center")[-1]

    await desk.press("dispatcher", A.extension_yes, case_id, chat="center")
    case = await desk.case(case_id)
    assert before is not None and case.handle_deadline is not None
    assert case.handle_deadline > before and case.extension_count == 1
    await desk.deliver()
    assert any("延期申请已批准" in text for text in desk.sent_to(desk.tg("hrss_staff")))
    assert any("延长至" in text for text in desk.sent_to(desk.tg("resident")))


async def test_joint_handling_assisting_unit_claims_and_completes_its_part(desk: Desk) -> None:
    case_id = await claimed_case(desk)
    housing = desk.units["housing"].id
    police = desk.units["police"].id
    await desk.press("hrss_staff", A.joint, case_id)
    await desk.press("hrss_staff", A.joint_toggle, case_id, str(housing))
    await desk.press("hrss_staff", A.joint_toggle, case_id, str(police))
    await desk.press("hrss_staff", A.joint_toggle, case_id, str(police))  # untoggle
    await desk.press("hrss_staff", A.joint_send, case_id)
    await desk.say("hrss_staff", "涉及建筑工地，需住建局协助")
    await desk.deliver()
    request = desk.sent_to("center")[-1]
    assert "联办申请" in request and "住房" in request

    approve = [c for c in callbacks_of(desk.markup_to("center")) if c.action == A.joint_approve]
    await desk.press("dispatcher", A.joint_approve, case_id, approve[0].arg, chat="center")
    await desk.deliver()
    task_card_id = await card_message_id(desk, case_id, "joint_task")
    assert "联办任务" in desk.sent_to("housing")[-1]

    # The lead cannot resolve while the assisting part is open.
    await desk.press("hrss_staff", A.resolve, case_id)
    await desk.say("hrss_staff", "已处理")
    await desk.press("hrss_staff", A.evidence_done, case_id)
    assert "协办单位未完成" in desk.alerts()[-1]

    await desk.press("housing_staff", A.claim, case_id, chat="housing", message_id=task_card_id)
    await desk.press("housing_staff", A.task_done, case_id)
    await desk.say("housing_staff", "已约谈工地负责人")
    async with desk.factory() as session:
        task = (await session.exec(select(CaseTask).where(CaseTask.case_id == case_id))).one()
    assert task.status == TaskStatus.done and task.result_text == "已约谈工地负责人"

    await desk.press("hrss_staff", A.resolve, case_id)
    await desk.say("hrss_staff", "工资已结清")
    await desk.press("hrss_staff", A.evidence_done, case_id)
    assert (await desk.case(case_id)).status == CaseStatus.resolved


async def test_triage_case_is_dispatched_from_the_center(desk: Desk) -> None:
    case = await desk.submit("村口路灯坏了好几天")  # the fake classifier abstains
    assert case.id is not None
    await desk.deliver()
    assert "待人工分派" in desk.sent_to("center")[-1]
    await desk.press("dispatcher", A.pick_unit, case.id, chat="center")
    await desk.press(
        "dispatcher", A.dispatch_to, case.id, str(desk.units["hrss"].id), chat="center"
    )
    assert (await desk.case(case.id)).status == CaseStatus.dispatched
    await desk.deliver()
    assert case.code in desk.sent_to("hrss")[-1]


async def test_supervise_sends_a_recorded_reminder_to_the_unit_and_its_head(desk: Desk) -> None:
    case_id = await claimed_case(desk)
    await desk.press("dispatcher", A.supervise, case_id, chat="center")
    await desk.deliver()
    assert "督办通知" in desk.sent_to("hrss")[-1]
    assert any("督办通知" in text for text in desk.sent_to(desk.tg("hrss_head")))
    async with desk.factory() as session:
        from backend.models import CaseEvent

        events = (await session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id))).all()
    assert [e.action for e in events].count("supervise") == 1


async def test_note_and_material_are_recorded(desk: Desk) -> None:
    case_id = await claimed_case(desk)
    await desk.press("hrss_staff", A.note, case_id)
    await desk.say("hrss_staff", "已电话联系当事人")
    await desk.press("hrss_staff", A.material, case_id)
    await desk.photo("hrss_staff", "material-1")
    async with desk.factory() as session:
        from backend.models import Attachment, CaseEvent

        events = (await session.exec(select(CaseEvent).where(CaseEvent.case_id == case_id))).all()
        files = (await session.exec(select(Attachment).where(Attachment.case_id == case_id))).all()
    assert any(e.action == "note" and e.reason == "已电话联系当事人" for e in events)
    assert [(f.telegram_file_id, f.purpose) for f in files] == [("material-1", "material")]


async def test_bind_in_a_group_makes_it_the_unit_desk(desk: Desk) -> None:
    from backend.models import Role
    from backend.services import directory

    async with desk.factory() as session:
        invite = await directory.create_invite(session=session, role=Role.staff, unit_code="water")
    from tests.tg import make_message_update

    await desk.dp.feed_update(
        desk.bot,
        make_message_update(6001, f"/bind {invite.code}", chat_id=-900, chat_title="水务局工作群"),
    )
    assert "工作群" in desk.bot.last_text(-900)
    async with desk.factory() as session:
        unit = await directory.get_unit_by_chat(session=session, chat_id=-900)
    assert unit is not None and unit.code == "water"


async def test_red_risk_case_alerts_the_center_at_once_with_supervise(desk: Desk) -> None:
    case = await desk.submit("有人拿刀威胁要砍人", township="弥城镇")
    await desk.deliver()
    alert = next(text for text in desk.sent_to("center") if "红色风险预警" in text)
    assert case.code in alert
    assert any(case.code in text for text in desk.sent_to("police"))
    center_buttons = [
        c
        for m in desk.bot.calls("sendMessage", chat_id=GROUPS["center"])
        for c in callbacks_of(m.reply_markup)
    ]
    assert A.supervise in [c.action for c in center_buttons]


async def test_unsatisfied_rating_reaches_the_center_and_reopens_at_the_unit(desk: Desk) -> None:
    case_id = await claimed_case(desk)
    await desk.press("hrss_staff", A.resolve, case_id)
    await desk.say("hrss_staff", "已调解")
    await desk.press("hrss_staff", A.evidence_done, case_id)
    async with desk.factory() as session:
        resident_person = await session.get(type(desk["resident"]), desk["resident"].id)
        assert resident_person is not None
        await workflow.rate(
            session=session,
            actor=resident_person,
            case_id=case_id,
            score=RatingScore.unsatisfied,
            reason="工资还是没拿到",
        )
    await desk.deliver()
    item = desk.sent_to("center")[-1]
    assert "群众不满意" in item and "工资还是没拿到" in item
    assert "重办案件" in desk.sent_to("hrss")[-1]
    assert [c.action for c in callbacks_of(desk.markup_to("hrss"))] == [A.claim, A.ret, A.detail]


async def test_a_long_text_is_shortened_on_the_card_and_whole_in_details(desk: Desk) -> None:
    text = "老板欠薪" + "情况说明" * 150 + "结尾在此"
    case = await desk.submit(text, township="弥城镇")
    assert case.id is not None
    await desk.deliver()
    card = desk.sent_to("hrss")[-1]
    assert "…" in card and "结尾在此" not in card
    await desk.press("hrss_staff", A.detail, case.id, chat="hrss")
    assert "结尾在此" in desk.sent_to("hrss")[-1]


async def test_after_a_return_the_group_card_no_longer_offers_claim(desk: Desk) -> None:
    case = await desk.submit("老板欠薪三个月不给", township="弥城镇")
    assert case.id is not None
    await desk.deliver()
    message_id = await card_message_id(desk, case.id)
    await desk.press("hrss_staff", A.ret, case.id, chat="hrss", message_id=message_id)
    await desk.press("hrss_staff", A.ret_reason, case.id, "2")
    await desk.say("hrss_staff", "职能交叉，应由住建局牵头")
    await desk.deliver()  # the workflow's card_update edits the card through the notifier
    edit = desk.bot.calls("editMessageText", chat_id=GROUPS["hrss"])[-1]
    assert edit.message_id == message_id and edit.text.startswith("↩️ 已退单 · 待综治中心审核")
    assert [c.action for c in callbacks_of(edit.reply_markup)] == [A.detail]


async def _press_menu(desk: Desk, name: str, action: DeskMenu) -> None:
    await desk.dp.feed_update(
        desk.bot, make_callback_update(desk.tg(name), StaffMenu(action=action).pack())
    )


async def test_staff_get_the_staff_menu_with_their_queue_cases_in_hand_and_bind_steps(
    desk: Desk,
) -> None:
    await desk.say("hrss_staff", "/start")
    labels = [b.text for row in desk.markup_to(desk.tg("hrss_staff")).inline_keyboard for b in row]  # type: ignore[union-attr]
    assert labels[:4] == ["📥 本单位待签收", "🔧 我的在办", "🔗 绑定工作群", "💻 网页登录"]

    case = await desk.submit("老板欠薪三个月不给", township="弥城镇")
    await _press_menu(desk, "hrss_staff", DeskMenu.queue)
    assert case.code in desk.sent_to(desk.tg("hrss_staff"))[-1]
    await _press_menu(desk, "hrss_staff", DeskMenu.in_hand)
    assert "没有在办" in desk.sent_to(desk.tg("hrss_staff"))[-1]

    assert case.id is not None
    await desk.deliver()
    await desk.press("hrss_staff", A.claim, case.id, chat="hrss")
    await _press_menu(desk, "hrss_staff", DeskMenu.in_hand)
    assert case.code in desk.sent_to(desk.tg("hrss_staff"))[-1]
    await _press_menu(desk, "hrss_staff", DeskMenu.queue)
    assert "没有等待签收" in desk.sent_to(desk.tg("hrss_staff"))[-1]

    await _press_menu(desk, "hrss_staff", DeskMenu.bind)
    assert "/bind 邀请码" in desk.sent_to(desk.tg("hrss_staff"))[-1]


async def test_a_resident_keeps_the_resident_menu(desk: Desk) -> None:
    await desk.say("resident", "/start")
    labels = [b.text for row in desk.markup_to(desk.tg("resident")).inline_keyboard for b in row]  # type: ignore[union-attr]
    assert "📥 本单位待签收" not in labels and any("反映问题" in label for label in labels)


async def test_a_detail_longer_than_a_telegram_message_is_split(desk: Desk) -> None:
    text = "老板欠薪" + "情况说明很长。" * 800 + "结尾在此"
    case = await desk.submit(text, township="弥城镇")
    assert case.id is not None
    before = len(desk.sent_to("hrss"))
    await desk.press("hrss_staff", A.detail, case.id, chat="hrss")
    parts = desk.sent_to("hrss")[before:]
    assert len(parts) >= 2 and all(len(part) <= 4096 for part in parts)
    assert "结尾在此" in parts[-1]


async def test_forged_case_buttons_get_an_answer_and_change_nothing(desk: Desk) -> None:
    case = await desk.submit("老板欠薪三个月不给", township="弥城镇")
    for data in (f"ca:claim:{case.id}:zz", "ca:nope:1:0", f"ca:claim:{2**63}:0", "sm:nothing"):
        await desk.dp.feed_update(
            desk.bot, make_callback_update(desk.tg("hrss_staff"), data, chat_id=GROUPS["hrss"])
        )
    answers = desk.bot.calls("answerCallbackQuery")
    assert len(answers) == 4 and all(a.show_alert for a in answers)
    assert (await desk.case(case.id)).status == CaseStatus.dispatched  # type: ignore[arg-type]


async def test_a_refusal_is_answered_in_the_users_language(desk: Desk) -> None:
    case = await desk.submit("老板欠薪三个月不给", township="弥城镇")
    assert case.id is not None
    async with desk.factory() as session:
        person = await session.get(Person, desk.people["police_staff"].id)
        assert person is not None
        person.language = "en"
        await session.commit()
    await desk.press("police_staff", A.claim, case.id, chat="hrss")
    answer = desk.bot.calls("answerCallbackQuery")[-1]
    assert answer.text == "This case is not handled by your unit."
    await desk.press("hrss_staff", A.resolve, case.id)
    answer = desk.bot.calls("answerCallbackQuery")[-1]
    assert answer.text == "该事项尚未签收，请先签收。"


async def test_a_dispatcher_reassigns_an_open_case_from_the_center_desk(desk: Desk) -> None:
    case_id = await claimed_case(desk)
    await desk.press("dispatcher", A.transfer, case_id, chat="center")
    picker = callbacks_of(desk.markup_to("center"))
    police = desk.units["police"].id
    assert any(c.action == A.transfer_to and c.arg == police for c in picker)
    assert not any(c.arg == desk.units["hrss"].id for c in picker)  # not to where it is

    await desk.press("dispatcher", A.transfer_to, case_id, police, chat="center")

    case = await desk.case(case_id)
    assert case.lead_unit_id == police and case.status == CaseStatus.dispatched
    assert "已改派" in desk.sent_to("center")[-1]
    await desk.deliver()
    assert any(case.code in text and "转派案件待签收" in text for text in desk.sent_to("police"))
    old_card = desk.bot.calls("editMessageText", chat_id=GROUPS["hrss"])[-1]
    assert old_card.text.startswith("🔀 已转由县公安局办理")  # the old unit's card says where
    assert [c.action for c in callbacks_of(old_card.reply_markup)] == [A.detail]
    await desk.press("hrss_staff", A.transfer, case_id, chat="center")
    assert desk.bot.calls("answerCallbackQuery")[-1].text == "该事项不在您单位的办理范围内。"
