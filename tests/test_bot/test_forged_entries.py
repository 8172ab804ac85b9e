"""A resident cannot enter any staff, center or grid-only entry with a forged button or a command.

The entries are enumerated from the dispatcher itself (every command filter, every callback-data
filter with the values its magic filter accepts), so a new button or command is covered without
editing this file. Each forged press comes from a fresh resident, in a private chat and in a
group, with real, huge and malformed ids; afterwards nothing changed (role, cases, events), the
resident is in no staff or grid state, saw nothing of someone else's case, got an answer, and
the error handler never ran.

The resident conversations run on aiogram-dialog: their buttons carry an intent id and a widget
id. Those are enumerated from the dialogs themselves (every widget of every window) and pressed
with made-up intents, and, inside a resident's own open dialog, with forged item ids.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest
from aiogram import Dispatcher, Router
from aiogram.filters import Command
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram_dialog import Dialog
from aiogram_dialog.utils import CB_SEP
from magic_filter import MagicFilter
from magic_filter.operations import (
    CombinationOperation,
    ComparatorOperation,
    FunctionOperation,
    GetAttributeOperation,
)
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.models import Case, CaseEvent, Person, Role
from backend.services import directory, intake
from backend.services.intake import ReportDraft
from bot.texts import t
from tests.mocked_bot import MockedBot
from tests.tg import make_callback_update, make_message_update

Factory = async_sessionmaker[AsyncSession]

VICTIM_TEXT = "邻居老周在村道上堆了柴草，把路堵住了，车过不去"
MARKER = "老周"
HUGE_IDS = ("99999999999", "9223372036854775808", "0", "-1", "²")
FREE_ARGS = ("", "grid", "0", "²", "99999999999")
# States a resident may legitimately be in after pressing a resident button.
RESIDENT_STATE_GROUPS = {"ReportSG", "LegalSG", "RateSG"}
ERROR_TEXT = t("common.error", "zh")
GROUP_CHAT = -4242


def _routers(router: Router) -> Iterator[Router]:
    yield router
    for sub in router.sub_routers:
        yield from _routers(sub)


def _filters(dp: Dispatcher, event: str) -> Iterator[Any]:
    for router in _routers(dp):
        for handler in router.observers[event].handlers:
            for flt in handler.filters or []:
                yield flt.callback


def commands(dp: Dispatcher) -> set[str]:
    found: set[str] = set()
    for flt in _filters(dp, "message"):
        if isinstance(flt, Command):
            found.update(c for c in flt.commands if isinstance(c, str))
    return found


def dialog_widget_ids(dp: Dispatcher) -> set[str]:
    """Every widget id of every window of every dialog in the dispatcher."""

    def walk(widget: Any) -> Iterator[str]:
        if widget is None:
            return
        widget_id = getattr(widget, "widget_id", None)
        if widget_id:
            yield widget_id
        for child in getattr(widget, "buttons", ()):
            yield from walk(child)

    found: set[str] = set()
    for router in _routers(dp):
        if isinstance(router, Dialog):
            for window in router.windows.values():
                found.update(walk(getattr(window, "keyboard", None)))
                found.update(walk(getattr(window, "on_message", None)))
    return found


def forged_dialog_callbacks(dp: Dispatcher, case_id: int, intent: str = "aBcD1234") -> list[str]:
    """Dialog presses: each widget alone and with forged item values, under ``intent``."""
    out = []
    for widget_id in sorted(dialog_widget_ids(dp)):
        for item in ("", *HUGE_IDS, str(case_id), "satisfied", "abc"):
            data = f"{intent}{CB_SEP}{widget_id}" + (f":{item}" if item else "")
            if len(data.encode()) <= 64:
                out.append(data)
    return out


def _accepted_values(rule: MagicFilter | None) -> dict[str, set[str]]:
    """Field → values a callback-data magic filter compares with (``==`` and ``in_``)."""
    values: dict[str, set[str]] = defaultdict(set)

    def walk(magic: MagicFilter) -> None:
        name = None
        for op in magic._operations:
            if isinstance(op, GetAttributeOperation):
                name = op.name
            elif isinstance(op, ComparatorOperation) and name and isinstance(op.right, str):
                values[name].add(op.right)
            elif isinstance(op, FunctionOperation) and name:
                for arg in op.args:
                    if isinstance(arg, set | frozenset | list | tuple):
                        values[name].update(str(a) for a in arg)
            elif isinstance(op, CombinationOperation) and isinstance(op.right, MagicFilter):
                walk(op.right)

    if rule is not None:
        walk(rule)
    return values


def forged_callbacks(dp: Dispatcher, case_id: int) -> dict[str, list[str]]:
    """Prefix → raw callback data strings for every callback-data handler in the dispatcher."""
    out: dict[str, set[str]] = defaultdict(set)
    for flt in _filters(dp, "callback_query"):
        if not isinstance(flt, CallbackQueryFilter):
            continue
        data_class: type[CallbackData] = flt.callback_data
        prefix = data_class.__prefix__
        accepted = _accepted_values(flt.rule)
        # Every accepted value of the filtered fields (the action); the other fields vary one
        # at a time around a real value (a full product would be thousands of presses).
        fixed: list[tuple[str, ...]] = []
        free: list[tuple[str, ...]] = []
        names = list(data_class.model_fields)
        for name, field in data_class.model_fields.items():
            if name in accepted:
                fixed.append(tuple(sorted(accepted[name])))
                free.append(())
            elif field.annotation is int:
                fixed.append((str(case_id),))
                free.append(HUGE_IDS)
            else:
                fixed.append(("",))
                free.append((*FREE_ARGS[1:], str(case_id)))
        for base in itertools.product(*fixed):
            variants = [base]
            for index, alternatives in enumerate(free):
                variants += [(*base[:index], alt, *base[index + 1 :]) for alt in alternatives]
            for combo in variants:
                data = ":".join((prefix, *combo))
                if len(data.encode()) <= 64 and len(combo) == len(names):
                    out[prefix].add(data)
    return {prefix: sorted(items) for prefix, items in out.items()}


async def _victim_case(factory: Factory) -> int:
    async with factory() as session:
        reporter = await directory.get_or_create_person(session=session, telegram_id=99001)
        case = await intake.submit_report(
            session=session,
            reporter=reporter,
            draft=ReportDraft(text=VICTIM_TEXT, township="弥城镇", contact_phone="13812345678"),
        )
        assert case.id is not None
        return case.id


async def _counts(factory: Factory) -> tuple[Any, ...]:
    """Cases, events and every case's status and update time, in one query."""
    async with factory() as session:
        row = (
            await session.exec(
                select(
                    select(func.count()).select_from(Case).scalar_subquery(),
                    select(func.count()).select_from(CaseEvent).scalar_subquery(),
                    select(func.group_concat(Case.status)).scalar_subquery(),
                    select(func.max(Case.updated_at)).scalar_subquery(),
                )
            )
        ).one()
    return tuple(row)


async def _role(factory: Factory, telegram_id: int) -> Role | None:
    async with factory() as session:
        person = (
            await session.exec(select(Person).where(Person.telegram_id == telegram_id))
        ).first()
        return person.role if person else None


async def _state(dp: Dispatcher, bot: MockedBot, user_id: int, chat_id: int) -> str | None:
    return await dp.fsm.get_context(bot, chat_id=chat_id, user_id=user_id).get_state()


def _texts_to(bot: MockedBot, chat_id: int, since: int) -> list[str]:
    return [text for text in bot.texts(chat_id)[since:]]


class Checker:
    def __init__(self, dp: Dispatcher, bot: MockedBot, factory: Factory) -> None:
        self.dp, self.bot, self.factory = dp, bot, factory
        self.users = itertools.count(700_001)
        self.failures: list[str] = []

    async def check(self, what: str, update_for: Any, *, group: bool, is_callback: bool) -> None:
        user_id = next(self.users)
        chat_id = GROUP_CHAT if group else user_id
        before = await _counts(self.factory)
        answered = len(self.bot.calls("answerCallbackQuery"))
        seen = len(self.bot.session.requests)
        await self.dp.feed_update(self.bot, update_for(user_id, chat_id))
        after = await _counts(self.factory)
        new_calls = self.bot.session.requests[seen:]
        texts = [
            str(getattr(m, "text", None) or getattr(m, "caption", None) or "") for m in new_calls
        ]
        problems = []
        if after != before:
            problems.append(f"cases/events changed {before} → {after}")
        if (await _role(self.factory, user_id)) not in (None, Role.resident):
            problems.append("role changed")
        state = await _state(self.dp, self.bot, user_id, chat_id)
        if state is not None and state.split(":")[0] not in RESIDENT_STATE_GROUPS:
            problems.append(f"entered {state}")
        if any(MARKER in text for text in texts):
            problems.append("saw someone else's case")
        if any(ERROR_TEXT in text for text in texts):
            problems.append("error handler ran")
        if is_callback and len(self.bot.calls("answerCallbackQuery")) == answered:
            problems.append("button press not answered")
        if problems:
            self.failures.append(f"{what} ({'group' if group else 'private'}): {problems}")


@pytest.fixture
async def victim(bot_session_factory: Factory) -> int:
    return await _victim_case(bot_session_factory)


async def test_every_button_enumerated_includes_the_staff_grid_and_invite_ones(
    dp: Dispatcher, victim: int
) -> None:
    forged = forged_callbacks(dp, victim)
    assert {"ca", "m", "f", "iv", "rt", "lang"} <= set(forged)
    widgets = dialog_widget_ids(dp)
    assert {"case", "pages", "score", "to_list", "skip", "later"} <= widgets  # my cases, rating
    assert {"good", "lawyer", "entry", "topic", "question", "confirm", "anonymous"} <= widgets
    assert "m:grid" in forged["m"] and "f:restart:grid" in forged["f"]
    assert {"grid", "web", "bind", "start", "mycases"} <= commands(dp)


async def test_a_resident_cannot_enter_any_entry_with_forged_buttons(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: Factory, victim: int
) -> None:
    checker = Checker(dp, bot, bot_session_factory)
    forged = forged_callbacks(dp, victim)
    for items in forged.values():
        for data in items:
            # Staff and center cards live in groups; every other button only in private.
            for group in (False, True) if data.startswith("ca:") else (False,):

                def update(user_id: int, chat_id: int, data: str = data) -> Any:
                    return make_callback_update(user_id, data, chat_id=chat_id, message_id=7)

                await checker.check(data, update, group=group, is_callback=True)
    assert checker.failures == [], "\n".join(checker.failures[:40])
    assert sum(len(items) for items in forged.values()) > 200  # the enumeration found them all


async def test_forged_dialog_buttons_change_nothing(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: Factory, victim: int
) -> None:
    """Made-up intents (a closed dialog, someone else's, or none at all) on every widget."""
    checker = Checker(dp, bot, bot_session_factory)
    forged = forged_dialog_callbacks(dp, victim)
    assert len(forged) > 50
    for data in forged:

        def update(user_id: int, chat_id: int, data: str = data) -> Any:
            return make_callback_update(user_id, data, chat_id=chat_id, message_id=7)

        await checker.check(repr(data), update, group=False, is_callback=True)
    assert checker.failures == [], "\n".join(checker.failures[:40])


async def test_forged_items_inside_a_residents_own_dialog_change_nothing(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: Factory, victim: int
) -> None:
    """A resident with an open my-cases dialog forges case ids, pages and scores into it: the
    victim's case is never shown or rated, and the error handler never runs."""
    resident = 730_001
    async with bot_session_factory() as session:
        reporter = await directory.get_or_create_person(session=session, telegram_id=resident)
        await intake.submit_report(
            session=session,
            reporter=reporter,
            draft=ReportDraft(text="村口的路灯坏了好几天了，晚上很黑", township="弥城镇"),
        )
    await dp.feed_update(bot, make_message_update(resident, "/mycases"))
    markup = bot.last_markup(resident)
    assert markup is not None
    own = markup.inline_keyboard[0][0].callback_data  # type: ignore[union-attr]
    assert own and CB_SEP in own
    intent = own.split(CB_SEP)[0]
    before = await _counts(bot_session_factory)
    seen = len(bot.session.requests)
    for data in forged_dialog_callbacks(dp, victim, intent=intent):
        if data.split(CB_SEP)[1].split(":")[0] in {"menu", "to_list"}:
            continue  # real navigation buttons (they close or switch the dialog)
        await dp.feed_update(bot, make_callback_update(resident, data, message_id=7))
    texts = [str(getattr(m, "text", None) or "") for m in bot.session.requests[seen:]]
    assert await _counts(bot_session_factory) == before
    assert not any(MARKER in text for text in texts)
    assert not any(ERROR_TEXT in text for text in texts)


async def test_a_resident_cannot_enter_any_staff_or_grid_command(
    dp: Dispatcher, bot: MockedBot, bot_session_factory: Factory, victim: int
) -> None:
    checker = Checker(dp, bot, bot_session_factory)
    async with bot_session_factory() as session:
        victim_code = (await session.get(Case, victim)).code  # type: ignore[union-attr]
    for command in sorted(commands(dp)):
        for args in ("", " NOSUCHCODE1", f" case_{victim_code}", " 99999999999"):
            for group in (False, True):

                def update(user_id: int, chat_id: int, text: str = f"/{command}{args}") -> Any:
                    title = "群" if chat_id < 0 else None
                    return make_message_update(user_id, text, chat_id=chat_id, chat_title=title)

                await checker.check(f"/{command}{args}", update, group=group, is_callback=False)
    assert checker.failures == [], "\n".join(checker.failures[:40])


async def test_the_grid_flow_is_refused_to_a_resident_in_every_way_in(
    dp: Dispatcher, bot: MockedBot
) -> None:
    """The reported defect: a forged 重新开始 (restart:grid) let a resident set the risk level."""
    refusal = t("grid.not_grid_worker", "zh")
    for number, (kind, data) in enumerate(
        [("cb", "f:restart:grid"), ("cb", "m:grid"), ("msg", "/grid")]
    ):
        user_id = 710_000 + number
        update = (
            make_callback_update(user_id, data)
            if kind == "cb"
            else make_message_update(user_id, data)
        )
        await dp.feed_update(bot, update)
        assert bot.last_text(user_id) == refusal
        assert await _state(dp, bot, user_id, user_id) is None


@pytest.mark.parametrize(
    "data",
    [
        "cv:9223372036854775808",
        "cv:99999999999",
        "rt:9223372036854775808:5",
        "ca:claim:99999999999:",
        "ca:detail:2147483648:",
        "iv:yes:9223372036854775808",
        "f:task:²",
        "lg:good:99999999999",
    ],
)
async def test_huge_or_malformed_ids_in_buttons_get_the_stale_button_answer(
    dp: Dispatcher, bot: MockedBot, data: str
) -> None:
    await dp.feed_update(bot, make_callback_update(720_001, data))
    [answer] = bot.calls("answerCallbackQuery")
    assert answer.text and ERROR_TEXT not in answer.text
    assert answer.text in {t("common.button_expired", "zh"), t("legal.stale_button", "zh")}
