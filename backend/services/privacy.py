"""Who may see a person's number and name, and the one masking function for every screen.

The rule (个人信息保护法: the minimum necessary, shown to the fewest people):
- numbers (mobile, landline, ID card) in the contact field *and inside the text* are masked
  everywhere: group chats, web pages of unit staff, exports, search results, public APIs;
- they are shown in full only to the person handling the case in private (the staff member who
  claimed it, 签收), to center roles (dispatcher, supervisor, admin) in private or on the web,
  and to the reporter or the filing grid worker, whose case it is;
- an anonymous report shows nobody on the staff side who sent it: no name, no number, no
  "提交 … 张三" in the history; its numbers stay masked for every staff role;
- residents are never named to staff by their Telegram name (history shows 群众).
"""

from __future__ import annotations

import re

from backend.models import Case, Person, Role
from backend.services.directory import CENTER_ROLES


def _digit(chars: str) -> str:
    """A character class for these ASCII digits and their full-width forms (１３８…)."""
    return "[" + chars + "".join(chr(ord(c) + 0xFEE0) for c in chars) + "]"


_D = _digit("0123456789")
_SEP = "[ \\-－\u3000]?"
_NOT_DIGIT_BEFORE = "(?<![0-9０-９])"
_NOT_DIGIT_AFTER = "(?![0-9０-９])"
ID_CARD_RE = re.compile(_NOT_DIGIT_BEFORE + _D + "{17}[0-9０-９XxＸｘ]" + "(?![0-9０-９A-Za-z])")
MOBILE_RE = re.compile(
    _NOT_DIGIT_BEFORE
    + f"(?:[+＋]?(?:{_digit('0')}{{2}})?{_digit('8')}{_digit('6')}{_SEP})?"
    + f"{_digit('1')}{_SEP}{_digit('3456789')}"
    + f"(?:{_SEP}{_D}){{9}}"
    + _NOT_DIGIT_AFTER
)
LANDLINE_RE = re.compile(
    _NOT_DIGIT_BEFORE
    + f"(?:[(（]{_digit('0')}{_D}{{2,3}}[)）]|{_digit('0')}{_D}{{2,3}})"
    + _SEP
    + f"{_D}{{3,4}}{_SEP}{_D}{{4}}"
    + _NOT_DIGIT_AFTER
)
FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９Ｘｘ", "0123456789Xx")
MASK = "****"


def _digits(text: str) -> str:
    return re.sub(r"[^0-9Xx]", "", text.translate(FULL_WIDTH_DIGITS))


def _mask_mobile(match: re.Match[str]) -> str:
    digits = _digits(match.group(0))[-11:]
    return f"{digits[:3]}{MASK}{digits[-4:]}"


def _mask_landline(match: re.Match[str]) -> str:
    digits = _digits(match.group(0))
    area_len = 3 if digits[1] in "12" else 4  # 010, 02x: three digits; others four
    return f"{digits[:area_len]}-{MASK}{digits[-3:]}"


def _mask_id_card(match: re.Match[str]) -> str:
    digits = _digits(match.group(0)).upper()
    return f"{digits[:3]}{'*' * 11}{digits[-4:]}"


def mask_text(text: str | None) -> str:
    """Mask every mobile (1[3-9]…, spaced, dashed, full-width, +86), landline (0872-…) and
    ID-card number (18 digits / 17+X) inside free text; everything else is left as it is."""
    if not text:
        return ""
    text = ID_CARD_RE.sub(_mask_id_card, text)
    text = MOBILE_RE.sub(_mask_mobile, text)
    return LANDLINE_RE.sub(_mask_landline, text)


def mask_phone(phone: str | None) -> str:
    """A contact number field: ``13812345678`` → ``138****5678``; anything short → ``****``."""
    if not phone:
        return ""
    masked = mask_text(phone.strip())
    if masked != phone.strip():
        return masked
    digits = _digits(phone)
    if len(digits) < 7:
        return MASK
    return f"{digits[:3]}{MASK}{digits[-4:]}"


def is_party(viewer: Person | None, case: Case) -> bool:
    """The reporter or the grid worker who filed the case: it is their own case."""
    return (
        viewer is not None
        and viewer.id is not None
        and viewer.id in (case.reporter_id, case.filed_by_id)
    )


def may_see_contact(viewer: Person | None, case: Case, *, private: bool) -> bool:
    """Whether ``viewer`` sees numbers (contact and inside the text) of ``case`` unmasked.

    ``private`` is True in a private chat with the bot or on the signed-in web, False in a
    group chat (everyone in the group reads it) and in any export or public output.
    """
    if viewer is None or not private:
        return False
    if is_party(viewer, case):
        return True
    if case.anonymous:
        return False
    if viewer.role in CENTER_ROLES:
        return True
    return viewer.id is not None and viewer.id == case.accepted_by_id


def shown_text(text: str | None, *, reveal: bool) -> str:
    """The text as this viewer may read it."""
    return (text or "") if reveal else mask_text(text)


def shown_phone(phone: str | None, *, reveal: bool) -> str:
    return (phone or "") if reveal else mask_phone(phone)


def actor_hidden(case: Case, *, actor_id: int | None, actor_role: str) -> bool:
    """Whether staff must not see who did this (a resident, or an anonymous reporter)."""
    if actor_role in (Role.resident, "resident"):
        return True
    return case.anonymous and actor_id is not None and actor_id == case.reporter_id
