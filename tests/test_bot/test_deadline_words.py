"""Deadlines shown to residents read as people say them (one formatter for every resident text)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from backend.services.deadlines import is_working_day
from bot.dialogs.flow import natural_deadline
from tests.tg import TgUser

TZ = "Asia/Shanghai"
WEEKDAYS = "一二三四五六日"


def _local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(TZ)).astimezone(UTC)


@pytest.mark.parametrize("offset", range(0, 60))
def test_a_deadline_at_local_midnight_is_the_end_of_the_previous_working_day(offset: int) -> None:
    day = date(2026, 9, 20) + timedelta(days=offset)  # crosses 国庆 and ordinary weekends
    words = natural_deadline(_local_midnight(day), TZ, "zh")
    end = day - timedelta(days=1)
    while not is_working_day(end):
        end -= timedelta(days=1)
    assert words == f"{end.month}月{end.day}日（周{WEEKDAYS[end.weekday()]}）下班前"
    assert "00:00" not in words


def test_the_issues_example_reads_naturally() -> None:
    assert (
        natural_deadline(_local_midnight(date(2026, 12, 8)), TZ, "zh") == "12月7日（周一）下班前"
    )
    assert "end of the working day" in natural_deadline(
        _local_midnight(date(2026, 12, 8)), TZ, "en"
    )


def test_a_deadline_during_the_day_keeps_its_hour() -> None:
    moment = datetime(2026, 12, 7, 15, 30, tzinfo=ZoneInfo(TZ))
    assert natural_deadline(moment, TZ, "zh") == "12月7日（周一）15:30前"


async def test_resident_texts_show_no_clock_midnight(resident: TgUser) -> None:
    await resident.send("/start")
    await resident.press("反映问题")
    await resident.send("邻居家的排水沟一直往我家院子里流水，说了好几次都不改。")
    await resident.press("下一步")
    await resident.press("跳过")
    await resident.press("匿名反映")
    summary = resident.last_text
    await resident.press("确认提交")
    submitted = resident.texts[-2]
    await resident.send("/mycases")
    listing = resident.last_text
    for text in (summary, submitted, listing):
        assert "00:00" not in text
        assert re.search(r"\d+月\d+日（周[一二三四五六日]）(下班前|\d\d:\d\d前)", text), text
