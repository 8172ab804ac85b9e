"""Every user-facing string, loaded from bot/locales/<lang>/*.yaml (flat ``key: text`` maps).

``t("report.ask_text", "zh", name=...)`` formats with ``str.format``; every argument is
HTML-escaped unless wrapped in :class:`Raw`, because messages are sent with parse_mode=HTML and
arguments often carry user text.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from typing import Any

import yaml

LOCALES_DIR = Path(__file__).parent / "locales"
DEFAULT_LANGUAGE = "zh"
LANGUAGES = ("zh", "en")


class Raw(str):
    """A pre-rendered HTML fragment that must not be escaped again."""

    __slots__ = ()


class LocaleError(ValueError):
    pass


@cache
def _catalog(language: str) -> dict[str, str]:
    catalog: dict[str, str] = {}
    folder = LOCALES_DIR / language
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise LocaleError(f"{path}: {exc}") from exc
        if not isinstance(data, dict):
            raise LocaleError(f"{path}: expected a mapping of key: text")
        for key, value in data.items():
            if key in catalog:
                raise LocaleError(f"{path}: duplicate key {key!r}")
            if not isinstance(value, str):
                raise LocaleError(f"{path}: value of {key!r} must be a string")
            catalog[str(key)] = value
    return catalog


def normalize_language(language: str | None) -> str:
    if language and language.lower().startswith("en"):
        return "en"
    return DEFAULT_LANGUAGE


def _escape(value: Any) -> Any:
    if isinstance(value, Raw):
        return value
    if isinstance(value, str):
        return html.escape(value, quote=False)
    return value


def t(key: str, language: str | None = DEFAULT_LANGUAGE, /, **params: Any) -> str:
    """The text for ``key`` in ``language`` (falling back to Chinese), formatted and escaped."""
    lang = normalize_language(language)
    template = _catalog(lang).get(key) or _catalog(DEFAULT_LANGUAGE).get(key)
    if template is None:
        raise KeyError(f"missing text {key!r}")
    if not params:
        return template
    return template.format(**{name: _escape(value) for name, value in params.items()})


def keys(language: str) -> set[str]:
    return set(_catalog(normalize_language(language)))
