"""Callback data for inline buttons. Never trusted: every press is re-checked on the server.

Ids in callback data are ``RowId``: a forged id outside 1..2^31-1 (the database's integer ids)
does not unpack, so the press falls through to the stale-button answer instead of reaching
the database (where 2^63 would fail). Every new id field uses ``RowId``.
"""

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from backend.untrusted import MAX_ROW_ID, parse_int

RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


def parse_id(arg: str) -> int | None:
    """A row id from a free-form callback argument (None when forged or out of range)."""
    return parse_int(arg, low=1, high=MAX_ROW_ID)


class CaseAction(CallbackData, prefix="ca"):
    """A staff or dispatcher button on a case card: action + case id (+ an optional argument)."""

    action: str
    case_id: RowId
    arg: str = ""


class RateCase(CallbackData, prefix="rt"):
    """The resident's one-tap rating after 办结."""

    case_id: RowId
    score: str


class MenuAction(CallbackData, prefix="m"):
    """Main-menu buttons: report, legal, mycases, lang, help, menu."""

    action: str


class SetLanguage(CallbackData, prefix="lang"):
    """Language choice from /lang or the menu: "zh" or "en"."""

    language: str


class Flow(CallbackData, prefix="f"):
    """A step button in the report and grid-worker conversations: action + optional argument.

    Only pressed in the matching FSM state; indexes (not names) keep the data short and are
    checked against the county data, so a forged value is refused.
    """

    action: str
    arg: str = ""


class CaseView(CallbackData, prefix="cv"):
    """Open one case card from /mycases (access re-checked with cases.can_view)."""

    case_id: RowId


class InviteChoice(CallbackData, prefix="iv"):
    """Confirm or cancel the role change an invite would make (``/start <invite>``)."""

    action: str  # "yes" | "no"
    invite_id: RowId
