"""The notifier process's periodic jobs: daily digest timing and content, deadline warnings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from backend.models import OutboxState
from backend.services import deadlines
from backend.services.outbox import NoticeKind
from bot.callbacks import Act as A
from bot.notifications.schedule import digest_due_today, next_digest_time, scan_once
from tests.test_staff.conftest import Desk, callbacks_of


def test_next_digest_time_is_the_next_local_hour() -> None:
    tz = "Asia/Shanghai"
    before = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # 07:00 on the 28th in 弥渡
    assert next_digest_time(before, 8, tz) == datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
    after = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 09:00 local
    assert next_digest_time(after, 8, tz) == datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    assert not digest_due_today(before, 8, tz) and digest_due_today(after, 8, tz)


async def test_the_digest_is_queued_once_a_day_and_delivered_to_the_center(desk: Desk) -> None:
    await desk.submit("老板欠薪三个月不给", township="弥城镇")
    await desk.deliver()
    now = datetime.now(UTC)
    async with desk.factory() as session:
        await deadlines.enqueue_daily_digest(session=session, tz="Asia/Shanghai", now=now)
        await deadlines.enqueue_daily_digest(session=session, tz="Asia/Shanghai", now=now)
    rows = await desk.outbox(NoticeKind.digest)
    assert len(rows) == 1 and rows[0].payload["new"] == 1
    await desk.deliver()
    assert "每日简报" in desk.sent_to("center")[-1]
    assert "新受理：1 件" in desk.sent_to("center")[-1]


async def test_overdue_claim_warns_the_unit_and_the_center_with_a_supervise_button(
    desk: Desk,
) -> None:
    case = await desk.submit("老板欠薪三个月不给", township="弥城镇")
    assert case.id is not None and case.accept_deadline is not None
    await desk.deliver()
    deadline = case.accept_deadline.replace(tzinfo=case.accept_deadline.tzinfo or UTC)
    result = await scan_once(desk.factory, desk.settings, now=deadline + timedelta(hours=1))
    assert result.red == 1
    await desk.deliver()
    warnings = await desk.outbox(NoticeKind.deadline_warning)
    assert warnings and all(r.state == OutboxState.sent for r in warnings)
    center_item = desk.sent_to("center")[-1]
    assert "超时" in center_item and case.code in center_item
    assert A.supervise in [c.action for c in callbacks_of(desk.markup_to("center"))]
