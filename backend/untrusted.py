"""Input from outside (callback data, URLs, forms, Telegram names): bounded numbers, NUL-free text.

The one place both transports (``bot/callbacks.py``, ``backend/web/deps.py``) and the database
layer (``backend/db.py``) take these rules from.
"""

from __future__ import annotations

from typing import Any

# Row ids are INTEGER (int4 on PostgreSQL): an id from outside above this can name no row, and
# would make PostgreSQL (past 2^31) or SQLite (past 2^63) fail instead of finding nothing.
MAX_ROW_ID = 2**31 - 1


def parse_int(text: str | None, *, low: int, high: int) -> int | None:
    """A whole number written in ASCII digits within ``low..high``, else None.

    ``"²".isdigit()`` is true but ``int("²")`` fails, and ``int()`` of a huge string is slow:
    both are refused before conversion.
    """
    text = (text or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > len(str(high)):
        return None
    value = int(text)
    return value if low <= value <= high else None


def without_nul(value: Any) -> Any:
    """``value`` with every NUL character (U+0000) removed from its strings.

    PostgreSQL refuses NUL in text; one in a Telegram display name or a web form would make
    every write of that row fail (the user locked out). Telegram and browsers send it rarely
    and never meaningfully, so it is dropped.
    """
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, tuple):
        return tuple(without_nul(item) for item in value)
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {key: without_nul(item) for key, item in value.items()}
    return value
