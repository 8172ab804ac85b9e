"""Callback data for inline buttons. Never trusted: every press is re-checked on the server."""

from aiogram.filters.callback_data import CallbackData


class CaseAction(CallbackData, prefix="ca"):
    """A staff or dispatcher button on a case card: action + case id (+ an optional argument)."""

    action: str
    case_id: int
    arg: str = ""


class RateCase(CallbackData, prefix="rt"):
    """The resident's one-tap rating after 办结."""

    case_id: int
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

    case_id: int
