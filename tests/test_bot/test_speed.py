"""What keeps an update cheap: one FSM write per update, no needless round trips, no rebuilt
pydantic classes, no full garbage collections over the start-up heap, enough connections.

Never timings (bench/ measures those): these tests count statements, commits and Redis round
trips, and check the settings that make the difference.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from aiogram import Dispatcher
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.db import create_engine
from backend.models import FsmRecord, InboxUpdate
from backend.services import inbox
from bot import tuning
from bot.dialogs.states import ReportSG
from bot.factory import CONCURRENT_UPDATES, concurrency_limit, create_dispatcher
from bot.inbox import InboxFeeder
from bot.storage import BatchingIsolation, DatabaseStorage, FsmBatch, RedisBatchStorage
from tests.mocked_bot import MockedBot
from tests.test_bot.conftest import make_settings
from tests.tg import TgUser, make_message_update

COMPLAINT = "邻居家的排水沟一直往我家院子里流水，说了好几次都不改。"


class Statements:
    """SQL statements and commits on every engine while the block runs."""

    def __init__(self) -> None:
        self.sql: list[str] = []
        self.commits = 0

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.sql.append(statement)

    def _commit(self, _conn: Any) -> None:
        self.commits += 1

    def __enter__(self) -> Statements:
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._commit)
        return self

    def __exit__(self, *_: Any) -> None:
        event.remove(Engine, "before_cursor_execute", self._statement)
        event.remove(Engine, "commit", self._commit)

    def writes_to(self, table: str) -> list[str]:
        return [
            s
            for s in self.sql
            if table in s and s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
        ]


async def test_a_report_step_writes_the_conversation_state_once(
    dp: Dispatcher, resident: TgUser
) -> None:
    await resident.send("/start")
    await resident.press("反映问题")
    with Statements() as seen:
        await resident.send(COMPLAINT)  # the draft grows: several FSM reads and writes
        await resident.press("下一步")  # state and data change together
    assert len(seen.writes_to("fsmrecord")) == 2  # one per update
    assert "发生在哪里" in resident.last_text


async def test_cancelling_a_report_deletes_its_state_in_one_statement(
    dp: Dispatcher, resident: TgUser, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await resident.send("/start")
    await resident.press("反映问题")
    await resident.send(COMPLAINT)
    with Statements() as seen:
        await resident.send("/cancel")  # state.clear(): state and data emptied
    writes = seen.writes_to("fsmrecord")
    assert len(writes) == 1 and writes[0].lstrip().upper().startswith("DELETE")
    async with bot_session_factory() as session:
        assert (await session.exec(select(FsmRecord))).all() == []


async def test_an_update_from_the_inbox_is_marked_handled_in_the_same_commit_as_its_state(
    dp: Dispatcher,
    bot: MockedBot,
    bot_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    feeder = InboxFeeder(dp, bot, bot_session_factory, concurrency=4)
    update = make_message_update(5301, "/start")
    async with bot_session_factory() as session:
        await inbox.receive(session=session, updates=[(update.update_id, {"update_id": 1})])
    with Statements() as seen:
        await feeder.handle(update)
    # the person is looked up (one commit), the state and the "handled" mark go together;
    # the duplicate guard is the inbox's, not a second claim
    assert seen.commits == 2
    assert seen.writes_to("processedupdate") == []
    async with bot_session_factory() as session:
        stored = await session.get(InboxUpdate, update.update_id)
    assert stored is not None and stored.done


async def test_an_update_straight_to_the_dispatcher_is_still_claimed_once(
    dp: Dispatcher, bot: MockedBot
) -> None:
    update = make_message_update(5302, "/start")
    with Statements() as seen:
        await dp.feed_update(bot, update)
        await dp.feed_update(bot, update)
    assert len(seen.writes_to("processedupdate")) == 1  # the second is refused from memory
    assert len(bot.calls("sendMessage", chat_id=5302)) == 1


async def test_the_embedded_storage_shares_the_bots_database_pool(
    dp: Dispatcher, bot_session_factory: async_sessionmaker[AsyncSession]
) -> None:
    storage = dp.storage
    assert isinstance(storage, DatabaseStorage)
    assert storage.session_factory is bot_session_factory  # no second SQLite engine
    assert isinstance(dp.fsm.events_isolation, BatchingIsolation)


async def test_a_write_inside_an_update_is_read_back_before_it_is_stored(
    bot_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from aiogram.fsm.storage.memory import SimpleEventIsolation

    storage = DatabaseStorage(bot_session_factory, cache=True)
    isolation = BatchingIsolation(SimpleEventIsolation(), storage)
    key = StorageKey(bot_id=42, chat_id=9, user_id=9)
    async with isolation.lock(key):
        await storage.set_state(key, ReportSG.text)
        await storage.update_data(key, {"parts": ["一"]})
        assert await storage.get_state(key) == ReportSG.text.state
        assert await storage.get_data(key) == {"parts": ["一"]}
        async with bot_session_factory() as session:
            assert (await session.exec(select(FsmRecord))).all() == []  # not yet
    again = DatabaseStorage(bot_session_factory)  # no cache: from the table
    assert await again.get_state(key) == ReportSG.text.state
    assert await again.get_data(key) == {"parts": ["一"]}


def test_fsm_batches_keep_what_was_written_apart_from_what_was_read() -> None:
    batch = FsmBatch()
    read = batch.entry(StorageKey(bot_id=1, chat_id=1, user_id=1))
    read.state, read.data = "s", {}
    written = batch.entry(StorageKey(bot_id=1, chat_id=2, user_id=2))
    written.state, written.state_written = None, True
    assert [entry for _, entry in batch.written()] == [written]


@pytest.mark.redis
async def test_a_report_step_on_redis_takes_four_round_trips(
    bot_engine: object,
    bot_session_factory: async_sessionmaker[AsyncSession],
    redis_url: str,
    bot: MockedBot,
) -> None:
    """Lock + read in one pipeline, the flood counter, the dialog stack, write + unlock."""
    from redis.asyncio.connection import AbstractConnection

    settings = make_settings(str(bot_engine.url), redis_url)  # type: ignore[attr-defined]
    dp = create_dispatcher(settings, session_factory=bot_session_factory)
    assert isinstance(dp.storage, RedisBatchStorage)
    user = TgUser(dp, bot, user_id=5401)
    await user.send("/start")
    await user.press("反映问题")
    sent: list[bytes] = []
    original = AbstractConnection.send_packed_command

    async def counted(self: Any, command: Any, check_health: bool = True) -> None:
        sent.append(command)
        await original(self, command, check_health)

    AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
    try:
        feeder = InboxFeeder(dp, bot, bot_session_factory, concurrency=4)
        update = make_message_update(5401, COMPLAINT)
        async with bot_session_factory() as session:
            await inbox.receive(session=session, updates=[(update.update_id, {"update_id": 1})])
        await feeder.handle(update)
    finally:
        AbstractConnection.send_packed_command = original  # type: ignore[method-assign]
    # The fourth is aiogram-dialog's stack lookup (aiogd:stack state + data in one pipeline),
    # made on every private update since the dialogs landed.
    assert len(sent) == 4
    await user.press("下一步")
    assert "发生在哪里" in user.last_text  # the draft text was stored
    await dp.storage.close()


def test_api_answers_are_validated_without_rebuilding_the_response_class() -> None:
    from aiogram.methods.base import Response
    from aiogram.types import Message

    tuning.keep_response_types()
    first = Response[Message]
    gc.collect()
    assert Response[Message] is first
    assert Response[list[Message]] is Response[list[Message]]


@pytest.fixture
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    gc.unfreeze()


async def test_start_up_warms_the_classifier_and_freezes_the_heap(
    dp: Dispatcher, bot: MockedBot, monkeypatch: pytest.MonkeyPatch, restore_gc: None
) -> None:
    import classifier
    import knowledge_base
    from bot.factory import warmed_up

    classified: list[str] = []
    monkeypatch.setattr(classifier, "classify", lambda text, **_: classified.append(text))
    monkeypatch.setattr(classifier, "assess_risk", lambda text: None)
    monkeypatch.setattr(knowledge_base, "preload", lambda: None)
    monkeypatch.setattr(knowledge_base, "consult", lambda text: None)
    gc.unfreeze()
    await dp.emit_startup(bot=bot, dispatcher=dp)
    await warmed_up()
    assert classified == [tuning.WARM_UP_TEXT]
    assert gc.get_freeze_count() > 0


def test_the_bot_process_collects_garbage_less_often(restore_gc: None) -> None:
    tuning.tune_gc()
    assert gc.get_threshold() == tuning.GC_THRESHOLDS
    assert gc.get_threshold()[0] > 700  # CPython's default


def test_the_postgres_pool_holds_more_connections_than_updates_handled_at_once() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url="postgresql+asyncpg://postgres@127.0.0.1:5432/test",
    )
    engine = create_engine(settings.database_url)
    assert engine.pool.size() > concurrency_limit(settings) == CONCURRENT_UPDATES  # type: ignore[attr-defined]
    engine.sync_engine.dispose()


async def test_the_duplicate_check_asks_nothing_without_a_place(
    bot_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from backend.services import intake

    async with bot_session_factory() as session:
        with Statements() as seen:
            found = await intake.find_similar_open_cases(
                session=session,
                text=COMPLAINT,
                category="D08",
                township="弥城镇",
                village=None,
                latitude=None,
                longitude=None,
            )
    assert found == [] and seen.sql == []


def test_the_same_draft_is_classified_once_and_each_caller_gets_its_own_copy() -> None:
    from backend.services import intake

    text = "包工头欠了我们三个月工钱不给，一共十二个工人。"
    intake._classify_text.cache_clear()
    first = intake.classify(text)
    first["reasons"].append("changed by a caller")
    second = intake.classify(text)
    assert "changed by a caller" not in second["reasons"]
    assert intake._classify_text.cache_info().hits == 1


async def test_a_report_is_filed_with_one_unit_query_and_one_outbox_insert(
    bot_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from backend.services import directory, intake

    async with bot_session_factory() as session:
        person = await directory.get_or_create_person(session=session, telegram_id=5501)
        with Statements() as seen:
            case = await intake.submit_report(
                session=session,
                reporter=person,
                draft=intake.ReportDraft(text="包工头欠了我们三个月工钱不给，年底了还拿不到钱。"),
            )
    assert case.code and case.id is not None
    assert len(seen.writes_to("outboxmessage")) == 1  # the card and the resident's receipt
    assert sum("FROM unit" in s for s in seen.sql) == 1, seen.sql
    assert seen.commits == 1


async def test_saving_unchanged_state_inside_an_update_writes_nothing(
    bot_session_factory: async_sessionmaker[AsyncSession],
) -> None:
    from aiogram.fsm.storage.memory import SimpleEventIsolation

    storage = DatabaseStorage(bot_session_factory, cache=True)
    isolation = BatchingIsolation(SimpleEventIsolation(), storage)
    key = StorageKey(bot_id=42, chat_id=10, user_id=10, destiny="aiogd:stack")
    await storage.set_data(key, {"intents": ["a"]})
    with Statements() as seen:
        async with isolation.lock(key):
            data = await storage.get_data(key)
            await storage.set_data(key, data)  # as aiogram-dialog does after every update
            await storage.set_state(key, await storage.get_state(key))
    assert seen.sql == []
