"""The notifier against a fake Bot API: 429, 5xx, 403, timeouts, crashes, coalescing, limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.models import OutboxState, Person
from backend.services import outbox
from backend.services.outbox import NoticeKind
from bot.callbacks import Act as A
from bot.notifications.limits import Limits, SendLimiter
from bot.notifications.render import render_notice
from bot.notifications.worker import Notifier, NotifierConfig
from tests.mocked_bot import MockedBot
from tests.test_staff.conftest import GROUPS, Desk, callbacks_of


def later(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def queue_digests(desk: Desk, count: int, *, chat_ids: list[int] | None = None) -> list[int]:
    """``count`` simple notices (digest kind needs no case), one per person chat by default."""
    ids = []
    people: dict[int, Person] = {}
    async with desk.factory() as session:
        for index in range(count):
            chat_id = chat_ids[index] if chat_ids else 70_000 + index
            person = people.get(chat_id)
            if person is None:
                person = people[chat_id] = Person(telegram_id=chat_id)
                session.add(person)
                await session.flush()
            await outbox.enqueue(
                session=session,
                kind=NoticeKind.digest,
                case_id=None,
                payload={"day": "2026-11-27", "new": index, "overdue": 0, "due_today": 0},
                dedupe_key=f"test-digest-{index}",
                person=person,
            )
        await session.commit()
    for row in await desk.outbox(NoticeKind.digest):
        assert row.id is not None
        ids.append(row.id)
    return ids


async def test_429_waits_retry_after_then_delivers_once(desk: Desk) -> None:
    await queue_digests(desk, 1)
    desk.bot.session.fail_next("sendMessage", retry_after=7)

    await desk.notifier.run_once()
    [row] = await desk.outbox(NoticeKind.digest)
    assert row.state == OutboxState.pending and "429" in (row.last_error or "")
    assert await desk.notifier.run_once(now=later(3)) == 0  # not before retry_after
    assert desk.notifier.limiter.chat_delay(row.chat_id or 0) > 6  # the chat's bucket waits too
    desk.notifier.limiter = SendLimiter(Limits.unlimited())  # (as if the 7 s had passed)
    assert await desk.notifier.run_once(now=later(8)) == 1
    [row] = await desk.outbox(NoticeKind.digest)
    assert row.state == OutboxState.sent
    assert len(desk.bot.calls("sendMessage")) == 2  # the refused call and the delivery


async def test_server_errors_and_timeouts_are_retried_with_backoff(desk: Desk) -> None:
    desk.notifier.config = NotifierConfig(limits=Limits.unlimited(), request_timeout=0.2)
    await queue_digests(desk, 2)
    desk.bot.session.fail_next("sendMessage", error_code=500)
    desk.bot.session.fail_next("sendMessage", hang=True)

    await desk.notifier.run_once()
    rows = await desk.outbox(NoticeKind.digest)
    assert [r.state for r in rows] == [OutboxState.pending, OutboxState.pending]
    assert {r.last_error for r in rows} == {"TelegramServerError", "TimeoutError"}
    assert all(r.next_attempt_at.replace(tzinfo=UTC) > datetime.now(UTC) for r in rows)

    await desk.notifier.run_once(now=later(30))
    rows = await desk.outbox(NoticeKind.digest)
    assert [r.state for r in rows] == [OutboxState.sent, OutboxState.sent]


async def test_403_marks_the_row_blocked_and_the_person_bot_blocked(desk: Desk) -> None:
    await queue_digests(desk, 1)
    desk.bot.session.fail_next("sendMessage", error_code=403)
    await desk.notifier.run_once()
    [row] = await desk.outbox(NoticeKind.digest)
    assert row.state == OutboxState.blocked
    async with desk.factory() as session:
        person = await session.get(Person, row.recipient_person_id)
    assert person is not None and person.bot_blocked
    assert await desk.notifier.run_once(now=later(3600)) == 0  # never retried


async def test_gives_up_after_the_attempt_budget(desk: Desk) -> None:
    await queue_digests(desk, 1)
    desk.bot.session.fail_next("sendMessage", error_code=502, times=20)
    for hour in range(1, 15):
        await desk.notifier.run_once(now=later(hour * 3600))
    [row] = await desk.outbox(NoticeKind.digest)
    assert row.state == OutboxState.failed
    assert len(desk.bot.calls("sendMessage")) == outbox.MAX_ATTEMPTS


class Crash(BaseException):
    """Stands for the process dying (not an error the notifier may catch)."""


async def test_crash_mid_batch_loses_nothing_and_sends_nothing_twice(desk: Desk) -> None:
    await queue_digests(desk, 5, chat_ids=[8000] * 5)  # one chat: sent in order
    crashing = MockedBot()
    original = crashing.session.make_request
    calls = 0

    async def make_request(bot, method, timeout=None):  # type: ignore[no-untyped-def]  # noqa: ASYNC109
        nonlocal calls
        calls += 1
        if calls == 3:
            raise Crash
        return await original(bot, method, timeout)

    crashing.session.make_request = make_request  # type: ignore[method-assign]
    first = Notifier(
        crashing, desk.factory, desk.settings, NotifierConfig(limits=Limits.unlimited())
    )
    with pytest.raises(Crash):
        await first.run_once()
    states = [r.state for r in await desk.outbox(NoticeKind.digest)]
    assert states.count(OutboxState.sent) == 2

    # A fresh process after the lease expired delivers the rest exactly once.
    second = Notifier(
        desk.bot, desk.factory, desk.settings, NotifierConfig(limits=Limits.unlimited())
    )
    await second.run_once(now=later(outbox.LEASE_SECONDS + 1))
    rows = await desk.outbox(NoticeKind.digest)
    assert all(r.state == OutboxState.sent for r in rows)
    delivered = [m.text for m in crashing.calls("sendMessage")[:2]] + [
        m.text for m in desk.bot.calls("sendMessage")
    ]
    assert len(delivered) == 5 and len(set(delivered)) == 5


async def test_send_succeeded_but_recording_failed_is_recorded_later_not_resent(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    await queue_digests(desk, 1)
    real_mark_sent = outbox.mark_sent
    failures = iter([True])

    async def flaky_mark_sent(**kwargs):  # type: ignore[no-untyped-def]
        if next(failures, False):
            raise ConnectionError("database went away")
        return await real_mark_sent(**kwargs)

    monkeypatch.setattr(outbox, "mark_sent", flaky_mark_sent)
    await desk.notifier.run_once()
    [row] = await desk.outbox(NoticeKind.digest)
    assert row.state == OutboxState.pending  # the lease still holds it
    # Even after the lease expires, the row is recorded, not sent again.
    await desk.notifier.run_once(now=later(outbox.LEASE_SECONDS + 1))
    [row] = await desk.outbox(NoticeKind.digest)
    assert row.state == OutboxState.sent
    assert len(desk.bot.calls("sendMessage")) == 1


async def test_a_burst_of_cards_to_one_group_becomes_one_summary(desk: Desk) -> None:
    cases = [await desk.submit(f"老板欠薪第{i}个月", township="弥城镇") for i in range(12)]
    await desk.deliver()
    to_group = desk.bot.calls("sendMessage", chat_id=GROUPS["hrss"])
    assert len(to_group) == 1
    summary = to_group[0]
    assert all(case.code in summary.text for case in cases)
    opens = callbacks_of(summary.reply_markup)
    assert {c.case_id for c in opens if c.action == A.open} == {c.id for c in cases}
    assert all(r.state == OutboxState.sent for r in await desk.outbox("case_card"))

    # Opening one posts its full card with the claim buttons.
    await desk.press("hrss_staff", A.open, cases[4].id or 0, chat="hrss")
    card = desk.bot.calls("sendMessage", chat_id=GROUPS["hrss"])[-1]
    assert cases[4].code in card.text and "签收时限" in card.text
    assert [c.action for c in callbacks_of(card.reply_markup)] == [A.claim, A.ret, A.detail]


async def test_a_few_cards_are_sent_one_by_one(desk: Desk) -> None:
    for i in range(3):
        await desk.submit(f"老板欠薪第{i}个月", township="弥城镇")
    await desk.deliver()
    assert len(desk.bot.calls("sendMessage", chat_id=GROUPS["hrss"])) == 3


async def test_a_unit_without_a_group_falls_back_to_the_center(desk: Desk) -> None:
    case = await desk.submit("有人拿刀威胁", township="弥城镇")
    async with desk.factory() as session:
        from backend.models import Unit

        police = await session.get(Unit, desk.units["police"].id)
        assert police is not None
        police.chat_id = None
        session.add(police)
        await session.commit()
    await desk.deliver()
    assert any(case.code in text for text in desk.sent_to("center"))


async def test_saturated_chat_is_deferred_without_blocking_others(desk: Desk) -> None:
    desk.notifier.config = NotifierConfig(limits=Limits(), max_hold=1.0)
    await queue_digests(desk, 3, chat_ids=[9000, 9000, 9001])
    desk.notifier.limiter.penalise(9000, 30)
    await desk.notifier.run_once()
    rows = {r.id: r for r in await desk.outbox(NoticeKind.digest)}
    states = [r.state for r in rows.values()]
    assert states == [OutboxState.pending, OutboxState.pending, OutboxState.sent]
    assert [m.chat_id for m in desk.bot.calls("sendMessage")] == [9001]


def test_limiter_enforces_per_chat_per_group_and_bot_rates() -> None:
    now = [0.0]
    limiter = SendLimiter(Limits(), clock=lambda: now[0])
    # A notifier that has just started (or taken over) begins with an empty bot-wide bucket.
    assert limiter.delay(5) == pytest.approx(1 / 30)
    now[0] += 1.0
    limiter.take(5)
    assert limiter.delay(5) == pytest.approx(1.0)  # 1 message/s per chat
    assert limiter.delay(6) == 0
    sent_to_group = 0
    while now[0] < 60.0:  # a group, sent to as fast as allowed for a minute
        if limiter.delay(-1) == 0:
            limiter.take(-1)
            sent_to_group += 1
        now[0] += 0.01
    assert 17 <= sent_to_group <= 20
    busy = SendLimiter(Limits(bot_rate=30), clock=lambda: now[0])
    now[0] += 1.0  # the bot-wide bucket fills to its burst of 30
    for chat in range(30):
        busy.take(1000 + chat)
    assert busy.delay(2000) == pytest.approx(1 / 30)


async def test_every_notice_kind_renders(desk: Desk) -> None:
    case = await desk.submit(
        "老板欠薪，匿名反映",
        township="弥城镇",
        anonymous=True,
        contact_phone="13800001111",
        contact_name="王五",
    )
    payloads = {
        NoticeKind.case_card: {"reason": "reopen"},
        NoticeKind.triage: {},
        NoticeKind.red_alert: {},
        NoticeKind.return_request: {
            "reason_code": "其他",
            "text": "<b>x</b>",
            "unit_code": "hrss",
        },
        NoticeKind.extension_request: {"days": 5, "reason": "等待鉴定"},
        NoticeKind.joint_request: {"unit_codes": ["housing"], "reason": "需协助"},
        NoticeKind.joint_task: {"lead_unit_code": "hrss"},
        NoticeKind.unsatisfied: {"reason": "没解决"},
        NoticeKind.case_update: {"event": "resolved", "result_text": "已处理"},
        NoticeKind.rating_request: {},
        NoticeKind.deadline_warning: {
            "clock": "accept",
            "level": "red",
            "deadline": "2026-11-27T08:00:00+00:00",
        },
        NoticeKind.supervision: {"note": "请加快", "by": "调度员"},
        NoticeKind.staff_notice: {"event": "extension_denied", "note": "按原时限"},
        NoticeKind.digest: {
            "day": "2026-11-27",
            "new": 3,
            "overdue": 1,
            "due_today": 2,
            "satisfaction": 0.9,
        },
        NoticeKind.card_update: {"outbox_id_of_card": 1},
        NoticeKind.desk_changed: {"event": "taken", "unit": "公安局", "previous": "<b>x</b>"},
    }
    assert set(payloads) == set(NoticeKind)
    from backend.models import OutboxMessage

    async with desk.factory() as session:
        for kind, payload in payloads.items():
            message = OutboxMessage(
                kind=kind, case_id=case.id, payload=payload, dedupe_key=f"r-{kind}"
            )
            for language in ("zh", "en"):
                rendered = await render_notice(message, session=session, language=language)
                if kind == NoticeKind.card_update:
                    continue  # the card was never sent alone: nothing to edit
                assert rendered.text, kind
                assert "王五" not in rendered.text and "13800001111" not in rendered.text
                assert "<b>x</b>" not in rendered.text  # user text is escaped


async def test_cards_to_a_group_out_of_room_wait_and_then_go_as_one_summary(desk: Desk) -> None:
    desk.notifier.config = NotifierConfig(limits=Limits())
    first = await desk.submit("老板欠薪第1个月", township="弥城镇")
    await desk.deliver()  # an idle group: the card goes at once
    assert first.code in desk.sent_to("hrss")[-1]
    desk.notifier.limiter.penalise(GROUPS["hrss"], 20)  # the group has used its minute
    later_cases = [await desk.submit(f"老板欠薪第{i}个月", township="弥城镇") for i in (2, 3)]
    await desk.notifier.run_once()
    assert len(desk.bot.calls("sendMessage", chat_id=GROUPS["hrss"])) == 1  # held back
    assert all(r.state == OutboxState.pending for r in (await desk.outbox("case_card"))[1:])

    # Time has passed: the group has room for one message now, and two cards are waiting.
    clock = [0.0]
    desk.notifier.limiter = SendLimiter(Limits(), clock=lambda: clock[0])
    desk.notifier.limiter.penalise(GROUPS["hrss"], 20)
    clock[0] = 24.0
    assert desk.notifier.limiter.room(GROUPS["hrss"]) == 1
    desk.notifier._held.clear()  # (the held-back cards' moment has come)
    await desk.notifier.run_once(now=later(30))
    to_group = desk.bot.calls("sendMessage", chat_id=GROUPS["hrss"])
    assert len(to_group) == 2
    assert all(case.code in to_group[-1].text for case in later_cases)
    assert all(r.state == OutboxState.sent for r in await desk.outbox("case_card"))


async def test_a_new_card_joins_the_cards_held_for_its_group(desk: Desk) -> None:
    desk.notifier.config = NotifierConfig(limits=Limits())
    desk.notifier.limiter.penalise(GROUPS["hrss"], 5)
    first = await desk.submit("老板欠薪第1个月", township="弥城镇")
    await desk.notifier.run_once()
    desk.notifier.limiter = SendLimiter(Limits())  # the group has room again …
    second = await desk.submit("老板欠薪第2个月", township="弥城镇")
    await desk.notifier.run_once()  # … but the new card waits with the held one
    rows = await desk.outbox("case_card")
    assert [r.state for r in rows] == [OutboxState.pending, OutboxState.pending]
    due = [r.next_attempt_at for r in rows]
    assert abs((due[0] - due[1]).total_seconds()) < 0.1
    assert not desk.bot.calls("sendMessage", chat_id=GROUPS["hrss"])

    desk.notifier._held.clear()  # (their moment has come)
    await desk.notifier.run_once(now=later(10))
    sent = " ".join(m.text for m in desk.bot.calls("sendMessage", chat_id=GROUPS["hrss"]))
    assert first.code in sent and second.code in sent  # together, in one batch
    assert all(r.state == OutboxState.sent for r in await desk.outbox("case_card"))
