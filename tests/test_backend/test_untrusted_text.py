"""Text from outside never breaks a write: NUL characters are dropped before the database (both
DBs; PostgreSQL refuses U+0000 in text), and database errors never log SQL parameters."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from backend.models import Case, CaseEvent, OutboxMessage, Person
from backend.services import directory, intake, outbox, workflow
from backend.services.intake import ReportDraft

from .conftest import T0, World

NUL_NAMES = ["张\x00三", "\x00", "李四\x00\x00", "\x00王五 (村\x00委)"]


@pytest.mark.parametrize("name", NUL_NAMES)
async def test_a_display_name_with_nul_does_not_lock_the_person_out(
    world: World, name: str
) -> None:
    first = await directory.get_or_create_person(
        session=world.session, telegram_id=777, display_name=name
    )
    again = await directory.get_or_create_person(
        session=world.session, telegram_id=777, display_name=name
    )
    assert first.id == again.id
    stored = (await world.session.exec(select(Person).where(Person.telegram_id == 777))).one()
    assert "\x00" not in stored.display_name
    assert stored.display_name == name.replace("\x00", "")[:128]


async def test_a_row_written_directly_with_nul_is_stored_without_it(world: World) -> None:
    """Not only the services: any statement's parameters lose their NUL characters."""
    world.session.add(Person(telegram_id=778, display_name="直接\x00写入", village="西\x00山村"))
    await world.session.commit()
    found = (
        await world.session.exec(select(Person).where(Person.display_name == "直接\x00写入"))
    ).one()
    assert (found.display_name, found.village) == ("直接写入", "西山村")


async def test_report_texts_with_nul_are_filed(world: World) -> None:
    draft = ReportDraft(
        text="老板欠薪\x00三个月不给",
        township="弥城镇",
        village="西山\x00村",
        address="\x00街口",
        contact_phone="138\x0012345678",
    )
    case = await intake.submit_report(
        session=world.session, reporter=world["resident"], draft=draft, now=T0
    )
    stored = await world.session.get(Case, case.id, populate_existing=True)
    assert stored is not None
    assert (stored.text, stored.village, stored.address) == (
        "老板欠薪三个月不给",
        "西山村",
        "街口",
    )
    assert stored.contact_phone == "13812345678"


async def test_staff_notes_and_notice_payloads_with_nul_are_stored(world: World) -> None:
    case = await intake.submit_report(
        session=world.session,
        reporter=world["resident"],
        draft=ReportDraft(text="老板欠薪", township="弥城镇"),
        now=T0,
    )
    assert case.id is not None
    await workflow.add_note(
        session=world.session,
        actor=world["dispatcher"],
        case_id=case.id,
        text="已\x00联系",
        now=T0,
    )
    notes = (await world.session.exec(select(CaseEvent).where(CaseEvent.action == "note"))).all()
    assert [n.reason for n in notes] == ["已联系"]
    await outbox.enqueue(
        session=world.session,
        kind="staff_notice",
        case_id=case.id,
        payload={"note": "备注\x00", "list": ["a\x00"]},
        dedupe_key="nul-test",
        person=world["hrss_staff"],
    )
    await world.session.commit()
    row = (
        await world.session.exec(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == "nul-test")
        )
    ).one()
    assert row.payload["note"].replace("\x00", "") == "备注"


async def test_a_database_error_logs_no_sql_parameters(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """hide_parameters: the exception text names the statement, never the values (at the
    production log level; aiosqlite's own DEBUG trace is not for production)."""
    secret_name, secret_phone = "机密姓名赵六", "13987654321"
    taken = world["resident"].telegram_id  # a duplicate key: the INSERT fails
    world.session.add(Person(telegram_id=taken, display_name=secret_name, phone=secret_phone))
    log = logging.getLogger("test.db_error")
    with caplog.at_level(logging.INFO), pytest.raises(IntegrityError) as err:
        try:
            await world.session.commit()
        except IntegrityError:
            log.exception("write failed")
            raise
    await world.session.rollback()
    for text in (str(err.value), caplog.text):
        assert secret_name not in text and secret_phone not in text
    assert "SQL parameters hidden" in str(err.value)
    # PostgreSQL's own DETAIL may still name a duplicated key value: that is why the bot's and
    # the web's error handlers log the exception type and frames only (tests in test_bot and
    # test_web).
