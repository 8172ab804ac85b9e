"""Shared machinery of the report and grid-worker conversations.

The draft lives in FSM data (plain JSON, so it survives a restart in Redis or the database).
Steps run in a fixed order per mode; every step has ⬅️ 上一步 and ✖ 取消 on its reply keyboard,
and entering a step always (re)sends its prompt, so "back" simply enters the previous step.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from backend.county import County, names_before_address
from backend.models import Person
from backend.services import intake
from backend.untrusted import parse_int
from bot.callbacks import Flow
from bot.dialogs.states import GridSG, ReportSG
from bot.texts import LANGUAGES, t

RESIDENT = "resident"
GRID = "grid"
STEPS: dict[str, list[str]] = {
    RESIDENT: ["text", "place", "contact", "confirm"],
    GRID: ["task", "text", "place", "villager", "risk", "resolution", "confirm"],
}
# Sub-steps go back to their parent step.
PARENT_STEP = {
    ReportSG.township.state: "place",
    ReportSG.village.state: "place",
    ReportSG.category.state: "confirm",
    ReportSG.duplicates.state: "confirm",
    GridSG.task.state: "task",
    GridSG.villager_name.state: "villager",
    GridSG.villager_phone.state: "villager",
    GridSG.action_text.state: "resolution",
}
STATE_STEP = {
    ReportSG.text.state: "text",
    ReportSG.place.state: "place",
    ReportSG.contact.state: "contact",
    ReportSG.confirm.state: "confirm",
    GridSG.task_group.state: "task",
    GridSG.villager.state: "villager",
    GridSG.risk.state: "risk",
    GridSG.resolution.state: "resolution",
}
EXCERPT_CHARS = 300
LIVE_BUTTONS = "live_buttons"  # ids of this dialog's messages whose inline buttons still apply
KEPT_BUTTONS = 8
PAGE_SIZE = 8
MAX_PAGES = 10_000


# -- labels of reply-keyboard buttons ---------------------------------------------------------
class Label(Filter):
    """Matches a message whose text is one of the given button labels, in any language."""

    def __init__(self, *keys: str, extra: tuple[str, ...] = ()) -> None:
        self.texts = {t(key, lang) for key in keys for lang in LANGUAGES} | set(extra)

    async def __call__(self, message: Message) -> bool:
        return (message.text or "").strip() in self.texts


def is_label_of(text: str | None, *keys: str) -> bool:
    """True when the text is the label of one of these buttons, in any language."""
    value = (text or "").strip()
    return any(value == t(key, lang) for key in keys for lang in LANGUAGES)


def is_label(text: str | None) -> bool:
    """True for the label of any flow button (so it is never appended to the description)."""
    return is_label_of(text, *ALL_LABELS)


ALL_LABELS = (
    "report.btn_next",
    "report.btn_back",
    "report.btn_cancel",
    "report.btn_location",
    "report.btn_pick_place",
    "report.btn_skip",
    "report.btn_share_phone",
    "report.btn_anonymous",
    "grid.btn_self",
    "grid.btn_behalf",
    "grid.btn_resolved",
    "grid.btn_escalate",
    "grid.btn_risk_auto",
    "grid.btn_risk_red",
    "grid.btn_risk_orange",
    "grid.btn_risk_yellow",
    "grid.btn_risk_blue",
    "grid.btn_group_A",
    "grid.btn_group_B",
    "grid.btn_group_C",
)


def reply_keyboard(lang: str, *rows: list[KeyboardButton | str]) -> ReplyKeyboardMarkup:
    """A reply keyboard with the given rows plus ⬅️ 上一步 / ✖ 取消."""
    keyboard = [
        [b if isinstance(b, KeyboardButton) else KeyboardButton(text=b) for b in row]
        for row in rows
    ]
    keyboard.append(
        [
            KeyboardButton(text=t("report.btn_back", lang)),
            KeyboardButton(text=t("report.btn_cancel", lang)),
        ]
    )
    return ReplyKeyboardMarkup(keyboard=keyboard, resize_keyboard=True, is_persistent=True)


def flow_button(text: str, action: str, arg: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=Flow(action=action, arg=arg).pack())


def paged(
    labels: list[str], *, action: str, page: int, page_action: str, lang: str, columns: int = 2
) -> InlineKeyboardMarkup:
    """Inline buttons for a long list: ``action`` with the item index, ◀ ▶ to page."""
    pages = max(1, (len(labels) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    start = page * PAGE_SIZE
    buttons = [
        flow_button(label, action, str(start + i))
        for i, label in enumerate(labels[start : start + PAGE_SIZE])
    ]
    rows = [buttons[i : i + columns] for i in range(0, len(buttons), columns)]
    nav = []
    if page > 0:
        nav.append(flow_button(t("report.btn_prev_page", lang), page_action, str(page - 1)))
    if page < pages - 1:
        nav.append(flow_button(t("report.btn_next_page", lang), page_action, str(page + 1)))
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows)


def parse_page(arg: str) -> int:
    """A page number from callback data (0 when forged; ``paged`` clamps it to the last page)."""
    return parse_int(arg, low=0, high=MAX_PAGES) or 0


def parse_index(arg: str, size: int) -> int | None:
    """A list index from callback data, or None when it is forged or out of range."""
    return parse_int(arg, low=0, high=size - 1)


# -- the draft ---------------------------------------------------------------------------------
def new_draft(mode: str, text: str = "") -> dict[str, Any]:
    return {
        "mode": mode,
        "parts": [text] if text.strip() else [],
        "attachments": [],
        "township": None,
        "village": None,
        "address": None,
        "lat": None,
        "lon": None,
        "anonymous": None,
        "phone": None,
        "category_override": None,
        "dup_seen": False,
        # grid worker
        "grid_task": None,
        "on_behalf": False,
        "villager_name": None,
        "villager_phone": None,
        "risk": None,
        "grid_resolved": None,
        "grid_action": None,
    }


def draft_text(data: dict[str, Any]) -> str:
    return "\n".join(part for part in data.get("parts") or [] if part).strip()


def to_report_draft(data: dict[str, Any]) -> intake.ReportDraft:
    grid = data.get("mode") == GRID
    on_behalf = bool(grid and data.get("on_behalf"))
    return intake.ReportDraft(
        text=draft_text(data),
        attachments=[
            intake.AttachmentIn(kind=a["kind"], file_id=a["file_id"], file_name=a.get("file_name"))
            for a in data.get("attachments") or []
        ],
        township=data.get("township"),
        village=data.get("village"),
        address=data.get("address"),
        latitude=data.get("lat"),
        longitude=data.get("lon"),
        anonymous=bool(data.get("anonymous")) and not grid,
        contact_name=data.get("villager_name") if on_behalf else None,
        contact_phone=(data.get("villager_phone") if on_behalf else data.get("phone")),
        phone_visible=False,
        category_override=data.get("category_override"),
        on_behalf=on_behalf,
        grid_task_code=data.get("grid_task") if grid else None,
        grid_resolved=bool(grid and data.get("grid_resolved")),
        grid_action_text=data.get("grid_action") if grid else None,
        risk_override=data.get("risk") if grid else None,
    )


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[:limit].rstrip() + "……"


def place_text(data: dict[str, Any], lang: str) -> str:
    address = data.get("address")
    parts = names_before_address(data.get("township"), data.get("village"), address)
    if address:
        parts.append(address)
    if parts:
        return " ".join(parts)
    if data.get("lat") is not None:
        return t("report.place_location", lang)
    return t("report.place_unknown", lang)


def local_time(value: datetime | None, tz: str, lang: str) -> str:
    if value is None:
        return ""
    local = value.astimezone(ZoneInfo(tz))
    if lang == "en":
        return local.strftime("%d %b %H:%M")
    return f"{local.month}月{local.day}日 {local:%H:%M}"


def natural_deadline(value: datetime | None, tz: str, lang: str) -> str:
    """A deadline as residents say it: "12月7日（周一）下班前", "12月7日（周一）15:30前".

    Deadlines counted in working days end at local midnight: that is the end of the previous
    working day, never "12月8日 00:00". The one formatter of deadlines shown to residents.
    """
    from backend.models.base import aware
    from backend.services.deadlines import is_working_day

    moment = aware(value)
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(tz))
    day = local.date()
    end_of_day = local.time() == time(0, 0)
    if end_of_day:
        day -= timedelta(days=1)
        while not is_working_day(day):
            day -= timedelta(days=1)
    weekday = t(f"common.weekday_{day.weekday()}", lang)
    return t(
        "common.deadline_end_of_day" if end_of_day else "common.deadline_at",
        lang,
        month=day.month,
        day=day.day,
        weekday=weekday,
        month_name=day.strftime("%b"),
        time=f"{local:%H:%M}",
    )


def preview(data: dict[str, Any], county: County) -> intake.RoutingPreview:
    return intake.preview_routing(
        text=draft_text(data) or "-",
        township=data.get("township"),
        county=county,
        category_override=data.get("category_override"),
    )


# -- navigation --------------------------------------------------------------------------------
def step_of(state_name: str | None) -> str | None:
    if state_name is None:
        return None
    return STATE_STEP.get(state_name) or PARENT_STEP.get(state_name)


def previous_step(mode: str, state_name: str | None) -> str | None:
    """The step "⬅️ 上一步" leads to (None: before the first step, i.e. leave the flow)."""
    if state_name == ReportSG.duplicates.state:  # shown instead of the summary: back = before it
        state_name = ReportSG.confirm.state
    elif state_name in PARENT_STEP:
        return PARENT_STEP[state_name]
    step = step_of(state_name)
    order = STEPS.get(mode, STEPS[RESIDENT])
    if step not in order:
        return None
    index = order.index(step)
    return order[index - 1] if index > 0 else None


def next_step(mode: str, step: str) -> str:
    order = STEPS.get(mode, STEPS[RESIDENT])
    return order[min(order.index(step) + 1, len(order) - 1)]


async def keep_buttons(state: FSMContext, sent: Message) -> None:
    """Note a message whose inline buttons belong to this dialog (edited away when it ends)."""
    ids = [*((await state.get_data()).get(LIVE_BUTTONS) or []), sent.message_id]
    await state.update_data({LIVE_BUTTONS: ids[-KEPT_BUTTONS:]})


async def drop_buttons(target: Message, state: FSMContext, *, alerts: bool = False) -> None:
    """The dialog ends: its messages lose their buttons (edited in place), so ✅ 确认提交 or
    ✏️ 类别不对 cannot be pressed after 取消. ``alerts``: the 🚨 buttons of the safety
    messages go too (the resident cancelled what they were about)."""
    from bot.middlewares.risk_gate import forget_alerts

    ids: list[int] = list((await state.get_data()).get(LIVE_BUTTONS) or [])
    if alerts:
        ids += await forget_alerts(state)
    if not ids:
        return
    await state.update_data({LIVE_BUTTONS: []})
    assert target.bot is not None
    for message_id in dict.fromkeys(ids):
        with suppress(TelegramBadRequest):  # already without buttons, or too old to edit
            await target.bot.edit_message_reply_markup(
                chat_id=target.chat.id, message_id=message_id, reply_markup=None
            )


async def leave(
    target: Message, state: FSMContext, lang: str, person: Person | None = None
) -> None:
    """✖ 取消: drop the draft (nothing submitted) and show the main menu."""
    from bot.dialogs.widgets import main_menu

    await drop_buttons(target, state, alerts=True)
    await state.clear()
    await target.answer(t("common.cancelled", lang), reply_markup=ReplyKeyboardRemove())
    await target.answer(t("common.menu_title", lang), reply_markup=main_menu(lang, person))


async def answer_query(query: CallbackQuery) -> Message | None:
    """Acknowledge a button press; the message it was on (None for very old messages)."""
    await query.answer()
    return query.message if isinstance(query.message, Message) else None
