"""Callback data for inline buttons. Never trusted: every press is re-checked on the server.

Ids in callback data are ``RowId``: a forged id outside 1..2^31-1 (the database's integer ids)
does not unpack, so the press falls through to the stale-button answer instead of reaching
the database (where 2^63 would fail). Every new id field uses ``RowId``. Data that does not
unpack into its factory (unknown action, a non-number, an id out of range) matches no handler
and gets the fallback's "button expired" answer.
"""

from enum import StrEnum
from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from backend.models import RatingScore
from backend.untrusted import MAX_ROW_ID, parse_int

RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]
MAX_ARG = MAX_ROW_ID


def parse_id(arg: str) -> int | None:
    """A row id from a free-form callback argument (None when forged or out of range)."""
    return parse_int(arg, low=1, high=MAX_ROW_ID)


class Act(StrEnum):
    """Staff and center button actions (values short: callback data is at most 64 bytes)."""

    claim = "claim"
    ret = "ret"  # 退单: show the reasons
    ret_reason = "retr"  # arg = index in RETURN_REASONS
    detail = "det"
    open = "open"  # open a card from a coalesced summary
    resolve = "res"
    evidence_done = "evd"
    extend = "ext"  # arg = days, or 0 to show the choices
    joint = "jnt"  # show the unit picker
    joint_toggle = "jtg"  # arg = unit id
    joint_send = "jok"
    note = "note"
    material = "mat"
    task_done = "tdn"
    pick_unit = "pick"  # center: show the unit picker to dispatch
    dispatch_to = "dto"  # arg = unit id
    transfer = "trf"  # center: show the unit picker to transfer (reassign) an open case
    transfer_to = "tto"  # arg = unit id
    approve_return = "rok"  # show the unit picker (or back to triage)
    return_to = "rto"  # arg = unit id, 0 = back to triage
    overrule = "rno"
    extension_yes = "xok"
    extension_no = "xno"
    joint_approve = "jap"  # arg = outbox message id of the request
    supervise = "sup"
    cancel = "cxl"


class CaseAction(CallbackData, prefix="ca"):
    """A staff or dispatcher button on a case card: action + case id (+ a number argument)."""

    action: Act
    case_id: RowId
    arg: int = Field(default=0, ge=0, le=MAX_ARG)


class DeskMenu(StrEnum):
    """The staff menu (instead of the resident menu for registered staff and the center)."""

    queue = "queue"  # 本单位待签收 (the center: 待分派 and 退单待审)
    in_hand = "mine"  # 我的在办
    bind = "bind"  # 绑定工作群: the exact steps
    web = "web"  # 网页登录


class StaffMenu(CallbackData, prefix="sm"):
    action: DeskMenu


class RateCase(CallbackData, prefix="rt"):
    """The resident's one-tap rating after 办结."""

    case_id: RowId
    score: RatingScore


class MenuItem(StrEnum):
    """Main-menu entries (resident menu and the shared rows of the staff menu)."""

    report = "report"
    grid = "grid"
    legal = "legal"
    mycases = "mycases"
    help = "help"
    lang = "lang"
    menu = "menu"


class MenuAction(CallbackData, prefix="m"):
    """Main-menu buttons: report, grid, legal, mycases, help, lang, menu."""

    action: MenuItem


class SetLanguage(CallbackData, prefix="lang"):
    """Language choice from /lang or the menu: "zh" or "en"."""

    language: Literal["zh", "en"]


class Flow(CallbackData, prefix="f"):
    """A step button in the report and grid-worker conversations: action + optional argument.

    Only pressed in the matching FSM state; indexes (not names) keep the data short and are
    checked against the county data, so a forged value is refused.
    """

    action: str
    arg: str = ""


class InviteChoice(CallbackData, prefix="iv"):
    """Confirm or cancel the role change an invite would make (``/start <invite>``)."""

    action: str  # "yes" | "no"
    invite_id: RowId
