"""Process-wide service configuration set once by an entry point (CLI, bot, web).

Services need the county data and the time zone; entry points call ``configure(settings)``
after building Settings. Without it the packaged county file and Asia/Shanghai are used.
"""

from __future__ import annotations

from pathlib import Path

from backend.config import Settings
from backend.county import DEFAULT_COUNTY_FILE, County, load_county

_state: dict[str, object] = {
    "county_path": DEFAULT_COUNTY_FILE,
    "tz": "Asia/Shanghai",
    "prefix": "MD",
}


def configure(settings: Settings) -> None:
    """Use these settings' county file, time zone and case-code prefix (validates the county)."""
    load_county(settings.county_data)
    _state["county_path"] = Path(settings.county_data)
    _state["tz"] = settings.tz
    _state["prefix"] = settings.case_code_prefix


def county() -> County:
    path = _state["county_path"]
    assert isinstance(path, Path)
    return load_county(path)


def tz() -> str:
    return str(_state["tz"])


def case_code_prefix() -> str:
    return str(_state["prefix"])
