"""End to end over HTTP: the real bot and notifier processes against the Bot API stand-in.

resident reports → card appears in the unit group → staff claims → closes with a result →
resident is told and rates; the card's headline shows the case's state after each step (edited
in place). Database: a temporary SQLite file (the embedded default).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlmodel import select

from backend.db import create_engine, create_session_factory
from backend.models import Case, CaseStatus
from tests.telegram_stub import TelegramStub
from tests.test_staff.processes import (
    REPO,
    TOKEN,
    all_logs,
    cli,
    environment,
    invite,
    running,
    tail,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

STAFF, RESIDENT, GROUP = 7001, 7002, -5005
WAIT = 45.0  # generous: the machine may be busy; the flow itself takes a few seconds


@pytest.fixture
async def stub() -> AsyncIterator[TelegramStub]:
    server = TelegramStub()
    await server.start()
    yield server
    await server.stop()


async def step(stub: TelegramStub, chat: int, contains: str) -> dict:  # type: ignore[type-arg]
    return await stub.wait_for_message(chat, contains, after=0, timeout=WAIT)


async def test_report_claim_resolve_rate_over_http(stub: TelegramStub, tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}"
    env = environment(database_url, stub.url)
    cli(["init"], env, REPO)
    join_code = invite("staff", "hrss", env, REPO)
    bind_code = await _invite_in_process(database_url)

    commands = [["bot"], ["bot", "notifier"]]
    async with running(commands, env, tmp_path, REPO) as processes:
        try:
            # Staff joins in private, then binds the unit's group.
            await stub.user_message(STAFF, f"/start {join_code}", first_name="王科员")
            mark = stub.seq
            await stub.user_message(
                STAFF,
                f"/bind {bind_code}",
                chat_id=GROUP,
                chat_title="人社局工作群",
                first_name="王科员",
            )
            await stub.wait_for_message(GROUP, "工作群", after=mark, timeout=WAIT)

            # The resident reports.
            await stub.user_message(RESIDENT, "/start")
            await _press_when_shown(stub, RESIDENT, "反映问题")
            await step(stub, RESIDENT, "发生了什么")
            await stub.user_message(RESIDENT, "老板拖欠我工资三个月不给，多次讨要无果")
            mark = stub.seq
            await stub.wait_for_message(RESIDENT, "下一步", after=0, timeout=WAIT)
            await _press_when_shown(stub, RESIDENT, "下一步")
            await step(stub, RESIDENT, "发生在哪里")
            await _press_when_shown(stub, RESIDENT, "选择乡镇和村")
            await _press_when_shown(stub, RESIDENT, "弥城镇")
            await _press_when_shown(stub, RESIDENT, "西山村")
            await step(stub, RESIDENT, "联系方式")
            await _press_when_shown(stub, RESIDENT, "匿名反映")
            await step(stub, RESIDENT, "请核对")
            mark = stub.seq
            await _press_when_shown(stub, RESIDENT, "确认提交")
            submitted = await stub.wait_for_message(RESIDENT, "已提交", after=mark, timeout=WAIT)

            # The card reaches the unit group (via the notifier process).
            code = await _case_code(database_url)
            assert code in submitted["text"]
            card = await stub.wait_for_message(GROUP, code, timeout=WAIT)
            assert "签收" in str(card.get("reply_markup"))
            assert _headline(card) == "📋 新案件待签收"

            # Staff claims in the group: card edited in place, panel in private.
            mark = stub.seq
            await stub.press(STAFF, "签收", chat_id=GROUP)
            claimed = await stub.wait_for_message(GROUP, "办理中", after=mark, timeout=WAIT)
            assert re.fullmatch(r"🔧 办理中 · \S+ 签收 · .+ 前办结", _headline(claimed))
            assert claimed["message_id"] == card["message_id"]
            await stub.wait_for_message(STAFF, "办理时限", after=mark, timeout=WAIT)

            # … and resolves with a result.
            await _press_when_shown(stub, STAFF, "办结")
            await stub.wait_for_message(STAFF, "办理结果", after=mark, timeout=WAIT)
            await stub.user_message(STAFF, "已责令用人单位于本月底前结清全部工资。")
            await stub.wait_for_message(STAFF, "提交办结", after=mark, timeout=WAIT)
            await _press_when_shown(stub, STAFF, "提交办结")
            await stub.wait_for_message(STAFF, "已办结", after=mark, timeout=WAIT)
            resolved = await stub.wait_for_message(GROUP, "待群众评价", after=mark, timeout=WAIT)
            assert _headline(resolved) == "☑️ 已办结 · 待群众评价"
            assert resolved["message_id"] == card["message_id"]

            # The resident is told the result and rates.
            told = await stub.wait_for_message(RESIDENT, "结清全部工资", after=mark, timeout=WAIT)
            assert code in told["text"]
            await stub.wait_for_message(RESIDENT, "评价", after=mark, timeout=WAIT)
            mark = stub.seq
            await _press_when_shown(stub, RESIDENT, "满意")
            rated = await stub.wait_for_message(GROUP, "群众满意", after=mark, timeout=WAIT)
            assert _headline(rated) == "😊 群众满意 · 已关闭"
            assert rated["message_id"] == card["message_id"]
            assert "签收" not in str(rated.get("reply_markup"))
            case = await _wait_status(database_url, code, CaseStatus.closed)
            assert case.result_text == "已责令用人单位于本月底前结清全部工资。"
            assert all(p.returncode is None for p in processes), "a process died"
        except (TimeoutError, AssertionError, LookupError) as exc:
            raise AssertionError(f"{exc}\n{tail(tmp_path)}") from exc

    # The processes' own logs (INFO, as run in production) carry ids and codes only.
    logged = all_logs(tmp_path)
    assert code in logged  # the logs were written, with the case code
    for private in (TOKEN, join_code, bind_code, "王科员", "拖欠我工资", "结清全部工资", "西山村"):
        assert private not in logged, private


def _headline(message: dict) -> str:  # type: ignore[type-arg]
    """The card's first line without the case code: the state it shows."""
    first = str(message["text"]).splitlines()[0]
    return first.split("  ")[0].strip()


async def _invite_in_process(database_url: str) -> str:
    """A second invite straight from the service (the CLI path is covered by the first)."""
    from backend.models import Role
    from backend.services import directory

    engine = create_engine(database_url)
    try:
        async with create_session_factory(engine)() as session:
            created = await directory.create_invite(
                session=session, role=Role.staff, unit_code="hrss"
            )
            return created.code
    finally:
        await engine.dispose()


async def _press_when_shown(stub: TelegramStub, user: int, label: str) -> None:
    """Press a button as soon as the bot shows it (the bot answers asynchronously)."""
    import asyncio

    for _ in range(int(WAIT * 10)):
        try:
            await stub.press(user, label)
            return
        except LookupError:
            await asyncio.sleep(0.1)
    raise LookupError(f"button {label!r} never appeared for {user}: {stub.texts(user)[-2:]}")


async def _case_code(database_url: str) -> str:
    case = await _wait_status(database_url, None, None)
    return case.code


async def _wait_status(database_url: str, code: str | None, status: CaseStatus | None) -> Case:
    import asyncio

    engine = create_engine(database_url)
    try:
        factory = create_session_factory(engine)
        for _ in range(int(WAIT * 5)):
            async with factory() as session:
                query = select(Case)
                if code:
                    query = query.where(Case.code == code)
                case = (await session.exec(query)).first()
            if case is not None and (status is None or case.status == status):
                return case
            await asyncio.sleep(0.2)
    finally:
        await engine.dispose()
    raise TimeoutError(f"case {code} never reached {status}")
