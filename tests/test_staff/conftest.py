"""Fixtures for the department desk: units with bound groups, people in roles, a MockedBot, the
real dispatcher, and a notifier that delivers the outbox into the MockedBot.

The classifier is replaced by a small table so these tests do not depend on keyword details.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiogram import Dispatcher
from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.config import Settings
from backend.county import load_county
from backend.db import create_session_factory
from backend.models import Case, OutboxMessage, OutboxState, Person, Role, Unit
from backend.services import directory, intake
from bot.callbacks import Act, CaseAction
from bot.factory import create_dispatcher
from bot.notifications.limits import Limits
from bot.notifications.worker import Notifier, NotifierConfig
from tests.fakes import FakeCategory, FakeClassification, taking_category
from tests.mocked_bot import MockedBot
from tests.tg import make_callback_update, make_message_update, make_photo_update

RULES = [
    ("欠薪", FakeClassification("hrss", "D08", "劳动争议", reasons=["关键词：欠薪"])),
    ("拿刀", FakeClassification("police", "D14", "损害赔偿", risk_level="red", reasons=["拿刀"])),
]
CATEGORIES = {
    "D08": FakeCategory("D08", "劳动争议", "Labour dispute", "hrss"),
    "D14": FakeCategory("D14", "损害赔偿", "Injury", "police"),
}


def fake_classify(text: str) -> FakeClassification:
    for word, result in RULES:
        if word in text:
            return result
    return FakeClassification(None, None, "", confidence=0.1)


@pytest.fixture(autouse=True)
def fake_classifier(monkeypatch: pytest.MonkeyPatch) -> None:
    import classifier

    monkeypatch.setattr(
        classifier, "classify", taking_category(fake_classify, CATEGORIES), raising=False
    )
    monkeypatch.setattr(classifier, "categories", lambda: CATEGORIES, raising=False)


GROUPS = {"center": -100, "hrss": -200, "police": -300, "housing": -400}


def make_settings(database_url: str) -> Settings:
    return Settings(_env_file=None, bot_token=None, database_url=database_url)  # type: ignore[call-arg]


@dataclass
class Desk:
    """A county with bound groups, people in roles, the dispatcher and a MockedBot."""

    dp: Dispatcher
    bot: MockedBot
    factory: async_sessionmaker[AsyncSession]
    settings: Settings
    units: dict[str, Unit]
    people: dict[str, Person]
    notifier: Notifier

    def __getitem__(self, name: str) -> Person:
        return self.people[name]

    def tg(self, name: str) -> int:
        telegram_id = self.people[name].telegram_id
        assert telegram_id is not None
        return telegram_id

    async def submit(self, text: str, **draft: Any) -> Case:
        async with self.factory() as session:
            reporter = await session.get(Person, self.people["resident"].id)
            assert reporter is not None
            return await intake.submit_report(
                session=session, reporter=reporter, draft=intake.ReportDraft(text=text, **draft)
            )

    async def case(self, case_id: int) -> Case:
        async with self.factory() as session:
            case = await session.get(Case, case_id)
            assert case is not None
            return case

    async def deliver(self) -> int:
        """Run the notifier until the outbox has nothing due; returns rows handled."""
        total = 0
        while handled := await self.notifier.run_once():
            total += handled
        return total

    async def outbox(self, kind: str | None = None) -> list[OutboxMessage]:
        async with self.factory() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)  # type: ignore[arg-type]
            rows = list((await session.exec(query)).all())
        return [r for r in rows if kind is None or r.kind == kind]

    async def pending(self) -> list[OutboxMessage]:
        return [r for r in await self.outbox() if r.state == OutboxState.pending]

    async def press(
        self,
        name: str,
        action: Act,
        case_id: int,
        arg: int | str = 0,
        *,
        chat: str | int | None = None,
        message_id: int | None = None,
    ) -> None:
        """``name`` presses a CaseAction button on a message in ``chat`` (a unit code or a chat id;
        default: their private chat)."""
        chat_id = GROUPS[chat] if isinstance(chat, str) else chat
        data = CaseAction(action=action, case_id=case_id, arg=int(arg or 0)).pack()
        await self.dp.feed_update(
            self.bot,
            make_callback_update(self.tg(name), data, chat_id=chat_id, message_id=message_id or 1),
        )

    async def say(self, name: str, text: str, *, chat: str | None = None) -> None:
        await self.dp.feed_update(
            self.bot,
            make_message_update(self.tg(name), text, chat_id=GROUPS[chat] if chat else None),
        )

    async def photo(self, name: str, file_id: str) -> None:
        await self.dp.feed_update(self.bot, make_photo_update(self.tg(name), file_id=file_id))

    def alerts(self) -> list[str]:
        return self.bot.alerts()

    def sent_to(self, chat: str | int) -> list[str]:
        chat_id = GROUPS[chat] if isinstance(chat, str) else chat
        return self.bot.texts(chat_id)

    def markup_to(self, chat: str | int) -> InlineKeyboardMarkup | None:
        chat_id = GROUPS[chat] if isinstance(chat, str) else chat
        markup = self.bot.last_markup(chat_id)
        return markup if isinstance(markup, InlineKeyboardMarkup) else None


def callbacks_of(markup: InlineKeyboardMarkup | None) -> list[CaseAction]:
    """The CaseAction of every button (other callback kinds skipped)."""
    result = []
    for row in markup.inline_keyboard if markup else []:
        for button in row:
            if button.callback_data and button.callback_data.startswith("ca:"):
                result.append(CaseAction.unpack(button.callback_data))
    return result


PEOPLE: list[tuple[str, Role, str | None, int]] = [
    ("resident", Role.resident, None, 5001),
    ("dispatcher", Role.dispatcher, "center", 5002),
    ("supervisor", Role.supervisor, None, 5003),
    ("hrss_staff", Role.staff, "hrss", 5004),
    ("hrss_staff2", Role.staff, "hrss", 5005),
    ("hrss_head", Role.unit_head, "hrss", 5006),
    ("police_staff", Role.staff, "police", 5007),
    ("housing_staff", Role.staff, "housing", 5008),
    ("stranger", Role.resident, None, 5009),
]


async def build_world(
    engine: AsyncEngine,
) -> tuple[async_sessionmaker[AsyncSession], dict[str, Unit], dict[str, Person]]:
    factory = create_session_factory(engine)
    async with factory() as session:
        await directory.sync_units(session=session, county=load_county())
        units = {u.code: u for u in (await session.exec(select(Unit))).all()}
        for code, chat_id in GROUPS.items():
            units[code].chat_id = chat_id
            session.add(units[code])
        people: dict[str, Person] = {}
        for name, role, unit, telegram_id in PEOPLE:
            person = Person(
                telegram_id=telegram_id,
                display_name=name,
                role=role,
                unit_id=units[unit].id if unit else None,
            )
            session.add(person)
            people[name] = person
        await session.commit()
        for person in people.values():
            await session.refresh(person)
        for unit in units.values():
            await session.refresh(unit)
    return factory, units, people


@pytest.fixture
async def desk(sqlite_engine: AsyncEngine) -> AsyncIterator[Desk]:
    factory, units, people = await build_world(sqlite_engine)
    settings = make_settings(str(sqlite_engine.url))
    dp = create_dispatcher(settings, session_factory=factory)
    bot = MockedBot()
    notifier = Notifier(
        bot,
        factory,
        settings,
        NotifierConfig(limits=Limits.unlimited(), poll_interval=0.01),
    )
    yield Desk(dp, bot, factory, settings, units, people, notifier)
    await dp.storage.close()
