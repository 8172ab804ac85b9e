"""网格员上报: a grid worker's report from the field.

task code (矛盾纠纷 / 治安安全隐患 / 服务民生, from the grid task list) → describe (several photos)
→ where → 本人发现 or 代村民反映 (name/phone optional) → risk assessment (红/橙/黄/蓝) →
就地化解 (record only, with what was done) or 上报 → summary → 提交. The shared steps are in
report.py / steps.py.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from backend.county import County
from backend.models import Person, Role
from backend.services import catalog
from bot.callbacks import Flow, MenuAction
from bot.dialogs import steps
from bot.dialogs.flow import (
    GRID,
    Label,
    answer_query,
    is_label_of,
    new_draft,
    next_step,
    paged,
    parse_index,
    parse_page,
    reply_keyboard,
)
from bot.dialogs.report import PHONE_RE
from bot.dialogs.states import GridSG
from bot.dialogs.widgets import main_menu
from bot.filters import NOT_COMMAND, PRIVATE_CALLBACK, PRIVATE_MESSAGE, TEXT
from bot.texts import t

GROUP_LABELS = {"A": "grid.btn_group_A", "B": "grid.btn_group_B", "C": "grid.btn_group_C"}
RISK_LABELS = {
    "grid.btn_risk_red": "red",
    "grid.btn_risk_orange": "orange",
    "grid.btn_risk_yellow": "yellow",
    "grid.btn_risk_blue": "blue",
    "grid.btn_risk_auto": None,
}


def is_grid_worker(person: Person | None) -> bool:
    return person is not None and person.role == Role.grid_worker


async def start_grid_report(
    message: Message, state: FSMContext, *, lang: str, person: Person | None
) -> None:
    """The one way into the grid-worker flow: only a grid worker gets in (a forged
    ``restart:grid`` or ``m:grid`` button from anyone else is refused, nothing changes)."""
    from backend.services import runtime

    if not is_grid_worker(person):
        await message.answer(t("grid.not_grid_worker", lang), reply_markup=main_menu(lang, person))
        return
    await state.set_data(new_draft(GRID))
    await message.answer(t("grid.intro", lang))
    await steps.enter(
        "task", message, state, lang=lang, county=runtime.county(), session=None, person=None
    )


async def _begin(message: Message, state: FSMContext, person: Person, lang: str) -> None:
    if not is_grid_worker(person):
        await message.answer(t("grid.not_grid_worker", lang), reply_markup=main_menu(lang, person))
        return
    from bot.dialogs.report import begin_report

    await begin_report(message, state, lang=lang, mode=GRID, person=person)


async def on_menu_grid(query: CallbackQuery, state: FSMContext, person: Person, lang: str) -> None:
    message = await answer_query(query)
    if message is not None:
        await _begin(message, state, person, lang)


async def on_grid_command(message: Message, state: FSMContext, person: Person, lang: str) -> None:
    await _begin(message, state, person, lang)


async def _go(
    step: str,
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    await steps.enter(
        step, message, state, lang=lang, county=county, session=session, person=person
    )


# -- task code ---------------------------------------------------------------------------------
def _tasks(group: str) -> list[catalog.GridTaskChoice]:
    return [task for task in catalog.grid_tasks() if task.group == group]


async def _show_tasks(message: Message, state: FSMContext, lang: str, page: int = 0) -> None:
    group = str((await state.get_data()).get("task_group") or "A")
    tasks = _tasks(group)
    labels = [f"{task.code} {task.name_en if lang == 'en' else task.name_zh}" for task in tasks]
    await state.set_state(GridSG.task)
    markup = paged(labels, action="task", page=page, page_action="task_page", lang=lang, columns=1)
    await message.answer(t("grid.ask_task", lang), reply_markup=markup)


async def on_task_group(message: Message, state: FSMContext, lang: str) -> None:
    text = (message.text or "").strip()
    group = next(g for g, key in GROUP_LABELS.items() if text in {t(key, "zh"), t(key, "en")})
    if not _tasks(group):
        await message.answer(t("grid.no_tasks", lang))
        return
    await state.update_data(task_group=group)
    await _show_tasks(message, state, lang)


async def on_task_page(
    query: CallbackQuery, callback_data: Flow, state: FSMContext, lang: str
) -> None:
    message = await answer_query(query)
    if message is not None:
        await message.edit_reply_markup(reply_markup=None)
        page = parse_page(callback_data.arg)
        await _show_tasks(message, state, lang, page)


async def on_task(
    query: CallbackQuery,
    callback_data: Flow,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    tasks = _tasks(str((await state.get_data()).get("task_group") or "A"))
    index = parse_index(callback_data.arg, len(tasks))
    if index is None:
        await query.answer(t("common.button_expired", lang), show_alert=True)
        return
    task = tasks[index]
    message = await answer_query(query)
    known = {c.code for c in catalog.categories()}
    await state.update_data(
        grid_task=task.code,
        grid_task_name=f"{task.code} {task.name_zh}",
        category_override=task.category if task.category in known else None,
    )
    if message is None:
        return
    await message.edit_reply_markup(reply_markup=None)
    if task.report_now:
        await message.answer(t("grid.report_now", lang))
    await _go("text", message, state, session, person, lang, county)


async def on_task_skip(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    await state.update_data(grid_task=None, grid_task_name=None)
    await _go("text", message, state, session, person, lang, county)


async def on_task_other(message: Message, lang: str) -> None:
    await message.answer(t("grid.task_other", lang))


# -- on behalf of a villager -------------------------------------------------------------------
async def on_self(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    await state.update_data(on_behalf=False, villager_name=None, villager_phone=None)
    await _go(next_step(GRID, "villager"), message, state, session, person, lang, county)


async def on_behalf(message: Message, state: FSMContext, lang: str) -> None:
    await state.update_data(on_behalf=True)
    await state.set_state(GridSG.villager_name)
    await message.answer(
        t("grid.ask_villager_name", lang),
        reply_markup=reply_keyboard(lang, [t("report.btn_skip", lang)]),
    )


async def on_villager_name(message: Message, state: FSMContext, lang: str) -> None:
    text = (message.text or "").strip()
    skipped = is_label_of(text, "report.btn_skip")
    await state.update_data(villager_name=None if skipped else text[:60])
    await state.set_state(GridSG.villager_phone)
    await message.answer(
        t("grid.ask_villager_phone", lang),
        reply_markup=reply_keyboard(lang, [t("report.btn_skip", lang)]),
    )


async def on_villager_phone(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    text = (message.text or "").strip()
    if is_label_of(text, "report.btn_skip"):
        text = ""
    elif not PHONE_RE.match(text):
        await message.answer(t("grid.villager_phone_invalid", lang))
        return
    await state.update_data(villager_phone=text or None)
    await _go(next_step(GRID, "villager"), message, state, session, person, lang, county)


async def on_villager_other(message: Message, lang: str) -> None:
    await message.answer(t("grid.villager_other", lang))


# -- risk and resolution -----------------------------------------------------------------------
async def on_risk(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    text = (message.text or "").strip()
    key = next(k for k in RISK_LABELS if is_label_of(text, k))
    await state.update_data(risk=RISK_LABELS[key])
    await _go(next_step(GRID, "risk"), message, state, session, person, lang, county)


async def on_risk_other(message: Message, lang: str) -> None:
    await message.answer(t("grid.risk_other", lang))


async def on_resolved(message: Message, state: FSMContext, lang: str) -> None:
    await state.set_state(GridSG.action_text)
    await message.answer(t("grid.ask_action", lang), reply_markup=reply_keyboard(lang))


async def on_escalate(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    await state.update_data(grid_resolved=False, grid_action=None)
    await _go("confirm", message, state, session, person, lang, county)


async def on_action_text(
    message: Message,
    state: FSMContext,
    session: AsyncSession,
    person: Person,
    lang: str,
    county: County,
) -> None:
    await state.update_data(grid_resolved=True, grid_action=(message.text or "").strip()[:2000])
    await _go("confirm", message, state, session, person, lang, county)


async def on_resolution_other(message: Message, lang: str) -> None:
    await message.answer(t("grid.resolution_other", lang))


def create_router() -> Router:
    router = Router(name="grid")
    router.message.filter(PRIVATE_MESSAGE)
    router.callback_query.filter(PRIVATE_CALLBACK)
    msg, cb = router.message, router.callback_query

    cb.register(on_menu_grid, MenuAction.filter(F.action == "grid"))
    msg.register(on_grid_command, Command("grid"))

    msg.register(on_task_group, GridSG.task_group, Label(*GROUP_LABELS.values()))
    msg.register(on_task_skip, GridSG.task_group, Label("report.btn_skip"))
    msg.register(on_task_other, GridSG.task_group, NOT_COMMAND)
    msg.register(on_task_skip, GridSG.task, Label("report.btn_skip"))
    msg.register(on_task_other, GridSG.task, NOT_COMMAND)
    cb.register(on_task, GridSG.task, Flow.filter(F.action == "task"))
    cb.register(on_task_page, GridSG.task, Flow.filter(F.action == "task_page"))

    msg.register(on_self, GridSG.villager, Label("grid.btn_self"))
    msg.register(on_behalf, GridSG.villager, Label("grid.btn_behalf"))
    msg.register(on_villager_other, GridSG.villager, NOT_COMMAND)
    msg.register(on_villager_name, GridSG.villager_name, TEXT)
    msg.register(on_villager_phone, GridSG.villager_phone, TEXT)
    msg.register(on_villager_other, GridSG.villager_name, NOT_COMMAND)
    msg.register(on_villager_other, GridSG.villager_phone, NOT_COMMAND)

    msg.register(on_risk, GridSG.risk, Label(*RISK_LABELS))
    msg.register(on_risk_other, GridSG.risk, NOT_COMMAND)
    msg.register(on_resolved, GridSG.resolution, Label("grid.btn_resolved"))
    msg.register(on_escalate, GridSG.resolution, Label("grid.btn_escalate"))
    msg.register(on_resolution_other, GridSG.resolution, NOT_COMMAND)
    msg.register(on_action_text, GridSG.action_text, TEXT)
    msg.register(on_resolution_other, GridSG.action_text, NOT_COMMAND)
    return router
