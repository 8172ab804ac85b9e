"""County data (弥渡县): departments, townships and villages, time profiles, category settings.

Loaded from a YAML file the county edits (default ``backend/data/county.yaml``) and validated at
load; every error names the file and the key so an admin can fix it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from backend.config import PACKAGE_DATA

DEFAULT_COUNTY_FILE = PACKAGE_DATA / "county.yaml"
TOWNSHIP_PREFIX = "township:"
CENTER = "center"
TOWNSHIP = "township"
REQUIRED_DEPARTMENTS = [
    "center",
    "township",
    "police",
    "court",
    "procuratorate",
    "justice",
    "petition",
    "women",
    "health",
    "hrss",
    "education",
    "housing",
    "transport",
    "natural_resources",
    "agriculture",
    "civil_affairs",
    "medical_insurance",
    "market",
    "environment",
    "emergency",
    "culture_tourism",
    "water",
    "discipline",
]


# words that end a phrase before a place name ("打电话给寅街供电所" → 寅街供电所)
_PARTICLES = re.compile("[给找到跟和向问叫让的了是在说去打报]")


class CountyDataError(ValueError):
    """The county data file is malformed; the message names the file and the key."""


@dataclass(frozen=True)
class Department:
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class Township:
    name: str
    name_en: str
    center: tuple[float, float] | None
    villages: tuple[str, ...]


@dataclass(frozen=True)
class RiskClock:
    """Red/orange cases run on the clock: 签收 within minutes, 办理 within hours."""

    accept_minutes: int
    handle_hours: int
    warn_at: float


@dataclass(frozen=True)
class TimeProfile:
    """Time limits of a category for 黄/蓝 cases; red/orange use ``risk_clocks``."""

    code: str
    name_zh: str
    accept_working_days: int
    handle_working_days: int = 0
    handle_calendar_days: int = 0
    warn_at: float = 0.8
    risk_clocks: dict[str, RiskClock] = field(default_factory=dict)


@dataclass(frozen=True)
class CategorySettings:
    """A category's county settings; in ``assist``/``refer``, ``township`` = the report's 乡镇."""

    code: str
    profile: str
    assist: tuple[str, ...]  # suggested for 吹哨 (joint handling)
    refer: tuple[str, ...] = ()  # get a 协办 task as soon as the case is dispatched
    unit: str | None = None  # leads instead of the classifier's department (e.g. veterans)
    confidential: bool = False  # not shown to the township or village, not published
    mention: tuple[str, ...] = ()  # offices named in the text are shown (…供电所)


@dataclass(frozen=True)
class Unit:
    """A unit to create in the database: a department, or a township center."""

    code: str
    department: str
    name_zh: str
    name_en: str
    township: str | None = None


@dataclass(frozen=True)
class Publication:
    """What the public Open311 API may show (README "Open311 publication policy").

    Only ``public_categories`` are published: a category not listed (family, violence, mental
    illness, corruption and discipline, minors, sexual offences, suicide, petitions, personal
    welfare, or one added later) stays off the public map. Cases at ``hidden_risk_levels`` or
    led by ``hidden_departments`` are never published, whatever their category.
    """

    public_categories: frozenset[str] = frozenset()
    hidden_risk_levels: frozenset[str] = frozenset({"red", "orange"})
    hidden_departments: frozenset[str] = frozenset({"discipline"})


@dataclass
class County:
    name_zh: str
    name_en: str
    bbox: tuple[float, float, float, float]  # min_lat, max_lat, min_lon, max_lon
    departments: dict[str, Department]
    township_data: dict[str, Township]
    time_profiles: dict[str, TimeProfile]
    categories: dict[str, CategorySettings]
    default_profile: str
    source: Path
    publication: Publication = field(default_factory=Publication)
    nearby_ratio: float = 1.3

    @property
    def townships(self) -> dict[str, list[str]]:
        """乡镇名 → its villages (村/社区)."""
        return {name: list(t.villages) for name, t in self.township_data.items()}

    def units(self) -> list[Unit]:
        """Every unit: each department except ``township``, plus one center per township."""
        result = [
            Unit(code, code, d.name_zh, d.name_en)
            for code, d in self.departments.items()
            if code != TOWNSHIP
        ]
        for name, t in self.township_data.items():
            result.append(
                Unit(f"{TOWNSHIP_PREFIX}{name}", TOWNSHIP, f"{name}综治中心", t.name_en, name)
            )
        return result

    def category_profile(self, category_code: str | None) -> TimeProfile:
        settings = self.categories.get(category_code or "")
        return self.time_profiles[settings.profile if settings else self.default_profile]

    def assisting_departments(self, category_code: str | None) -> list[str]:
        settings = self.categories.get(category_code or "")
        return list(settings.assist) if settings else []

    def referral_units(self, category_code: str | None, township: str | None) -> list[str]:
        """Unit codes that get a 协办 task when a case of this category is dispatched
        (婚姻家庭 → 妇联 and the report's own 乡镇). A ``township`` entry is skipped when the
        report's 乡镇 is unknown."""
        settings = self.categories.get(category_code or "")
        return self._resolve(settings.refer if settings else (), township)

    def _resolve(self, departments: tuple[str, ...], township: str | None) -> list[str]:
        codes: list[str] = []
        for department in departments:
            code = self.unit_code_for(department, township)
            if code != CENTER and code not in codes:
                codes.append(code)
        return codes

    def lead_unit_code(
        self, department: str | None, category_code: str | None, township: str | None
    ) -> str:
        """The unit that leads a case: the category's own ``unit`` when the county sets one
        (a unit beyond the 23 department codes, e.g. 退役军人事务局), else the department's."""
        settings = self.categories.get(category_code or "")
        if department and department != CENTER and settings and settings.unit:
            return self.unit_code_for(settings.unit, township)
        return self.unit_code_for(department, township)

    def mentioned_offices(self, category_code: str | None, text: str) -> list[str]:
        """Offices of the kinds the category lists that the text names, e.g. 寅街供电所."""
        settings = self.categories.get(category_code or "")
        if not settings or not settings.mention or not text:
            return []
        found: list[str] = []
        for kind in settings.mention:
            for match in re.finditer(rf"([\u4e00-\u9fff]{{1,4}}){re.escape(kind)}", text):
                name = _PARTICLES.split(match.group(1))[-1] + kind
                if len(name) > len(kind) and name not in found:
                    found.append(name)
        return found

    def is_confidential(self, category_code: str | None) -> bool:
        """Cases of this category (e.g. 腐败举报) are kept from the township/village and the
        public: the privacy policy reads this flag."""
        settings = self.categories.get(category_code or "")
        return bool(settings and settings.confidential)

    def unit_code_for(self, department: str | None, township: str | None = None) -> str:
        """The unit that handles a department's cases: ``township`` → ``township:<乡镇名>``.

        Without a known township (or without a department) the case goes to the county center.
        """
        if not department or department == CENTER:
            return CENTER
        if department == TOWNSHIP:
            if township and township in self.township_data:
                return f"{TOWNSHIP_PREFIX}{township}"
            return CENTER
        if department not in self.departments:
            return CENTER
        return department

    def is_unit_code(self, code: str) -> bool:
        return code in {u.code for u in self.units()}

    def department_name(self, code: str | None, lang: str = "zh") -> str:
        if code and code.startswith(TOWNSHIP_PREFIX):
            name = code.removeprefix(TOWNSHIP_PREFIX)
            t = self.township_data.get(name)
            if lang == "en":
                return f"{t.name_en if t else name} Governance Center"
            return f"{name}综治中心"
        dept = self.departments.get(code or CENTER) or self.departments[CENTER]
        return dept.name_en if lang == "en" else dept.name_zh

    def category_name(self, code: str | None, lang: str = "zh") -> str:
        if not code:
            return "待分类" if lang != "en" else "Unclassified"
        try:
            import classifier

            category = classifier.categories().get(code)
        except (ImportError, AttributeError):
            category = None
        if category is None:
            return code
        return str(category.name_en if lang == "en" else category.name_zh)

    def point_in_county(self, lat: float, lon: float) -> bool:
        min_lat, max_lat, min_lon, max_lon = self.bbox
        return min_lat <= lat <= max_lat and min_lon <= lon <= max_lon

    def nearest_township(self, lat: float, lon: float) -> str | None:
        near = self.townships_near(lat, lon)
        return near[0] if near else None

    def townships_near(self, lat: float, lon: float) -> tuple[str, ...]:
        """The 乡镇 of a location: the nearest seat, or the two nearest when the second is at
        most ``nearby_ratio`` times as far (a place between two townships: ask which)."""
        ranked = sorted(
            (haversine_km(lat, lon, t.center[0], t.center[1]), name)
            for name, t in self.township_data.items()
            if t.center is not None
        )
        if not ranked:
            return ()
        if len(ranked) > 1 and ranked[1][0] <= ranked[0][0] * self.nearby_ratio:
            return (ranked[0][1], ranked[1][1])
        return (ranked[0][1],)

    def township_of_village(self, village: str) -> str | None:
        for name, t in self.township_data.items():
            if village in t.villages:
                return name
        return None


def names_before_address(
    township: str | None, village: str | None, address: str | None
) -> list[str]:
    """The township and village to write before a typed address: those it does not already name
    ("弥城镇 红岩村 三组" stays as typed, never "弥城镇 弥城镇 红岩村 三组")."""
    typed = re.sub(r"\s+", "", address or "")
    names = [name for name in dict.fromkeys((township, village)) if name]
    return [name for name in names if re.sub(r"\s+", "", name) not in typed]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371.0
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def load_county(path: Path | str | None = None) -> County:
    """Load and validate the county data file (cached per path)."""
    return _load_cached(Path(path) if path else DEFAULT_COUNTY_FILE)


@lru_cache(maxsize=8)
def _load_cached(path: Path) -> County:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CountyDataError(f"{path}: file not found") from exc
    except yaml.YAMLError as exc:
        raise CountyDataError(f"{path}: not valid YAML: {exc}") from exc
    return _parse(raw, path)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> CountyDataError:
        return CountyDataError(f"{self.path}: {key}: {problem}")

    def mapping(self, value: Any, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, "must be a mapping")
        return value

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, "must be a non-empty text")
        return value.strip()

    def integer(self, value: Any, key: str, *, minimum: int = 0) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(key, f"must be a whole number ≥ {minimum}")
        return value

    def fraction(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            raise self.fail(key, "must be a number between 0 and 1 (share of the time window)")
        return float(value)

    def number(self, value: Any, key: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, "must be a number")
        return float(value)


def _parse(raw: Any, path: Path) -> County:
    r = _Reader(path)
    root = r.mapping(raw, "(top level)")
    county = r.mapping(root.get("county"), "county")
    bbox_raw = r.mapping(county.get("bbox"), "county.bbox")
    bbox = tuple(
        r.number(bbox_raw.get(k), f"county.bbox.{k}")
        for k in ("min_lat", "max_lat", "min_lon", "max_lon")
    )
    nearby_ratio = r.number(county.get("nearby_ratio", 1.3), "county.nearby_ratio")
    if nearby_ratio < 1:
        raise r.fail("county.nearby_ratio", "must be 1 or more (1 = never ask)")

    departments: dict[str, Department] = {}
    for code, entry in r.mapping(root.get("departments"), "departments").items():
        key = f"departments.{code}"
        entry = r.mapping(entry, key)
        departments[str(code)] = Department(
            str(code),
            r.text(entry.get("name_zh"), f"{key}.name_zh"),
            r.text(entry.get("name_en"), f"{key}.name_en"),
        )
    missing = [c for c in REQUIRED_DEPARTMENTS if c not in departments]
    if missing:
        raise r.fail("departments", f"missing department codes: {', '.join(missing)}")

    townships: dict[str, Township] = {}
    for name, entry in r.mapping(root.get("townships"), "townships").items():
        key = f"townships.{name}"
        entry = r.mapping(entry or {}, key)
        villages = entry.get("villages") or []
        if not isinstance(villages, list) or not all(isinstance(v, str) for v in villages):
            raise r.fail(f"{key}.villages", "must be a list of village names")
        center = entry.get("center")
        point: tuple[float, float] | None = None
        if center is not None:
            if not isinstance(center, list) or len(center) != 2:
                raise r.fail(f"{key}.center", "must be [latitude, longitude]")
            point = (r.number(center[0], f"{key}.center"), r.number(center[1], f"{key}.center"))
        townships[str(name)] = Township(
            str(name), str(entry.get("name_en") or name), point, tuple(villages)
        )
    if not townships:
        raise r.fail("townships", "at least one township is needed")

    risk_clocks: dict[str, RiskClock] = {}
    for level, entry in r.mapping(root.get("risk_clocks") or {}, "risk_clocks").items():
        key = f"risk_clocks.{level}"
        if level not in ("red", "orange"):
            raise r.fail(key, "only red and orange run on the clock")
        entry = r.mapping(entry, key)
        risk_clocks[level] = RiskClock(
            r.integer(entry.get("accept_minutes"), f"{key}.accept_minutes", minimum=1),
            r.integer(entry.get("handle_hours"), f"{key}.handle_hours", minimum=1),
            r.fraction(entry.get("warn_at", 0.5), f"{key}.warn_at"),
        )

    profiles: dict[str, TimeProfile] = {}
    for code, entry in r.mapping(root.get("time_profiles"), "time_profiles").items():
        key = f"time_profiles.{code}"
        entry = r.mapping(entry, key)
        working = r.integer(entry.get("handle_working_days", 0), f"{key}.handle_working_days")
        calendar = r.integer(entry.get("handle_calendar_days", 0), f"{key}.handle_calendar_days")
        if bool(working) == bool(calendar):
            raise r.fail(key, "give exactly one of handle_working_days or handle_calendar_days")
        profiles[str(code)] = TimeProfile(
            code=str(code),
            name_zh=r.text(entry.get("name_zh"), f"{key}.name_zh"),
            accept_working_days=r.integer(
                entry.get("accept_working_days"), f"{key}.accept_working_days", minimum=1
            ),
            handle_working_days=working,
            handle_calendar_days=calendar,
            warn_at=r.fraction(entry.get("warn_at", 0.8), f"{key}.warn_at"),
            risk_clocks=risk_clocks,
        )
    default_profile = r.text(root.get("default_profile", "general"), "default_profile")
    if default_profile not in profiles:
        raise r.fail("default_profile", f"unknown time profile {default_profile!r}")

    categories: dict[str, CategorySettings] = {}
    for code, entry in r.mapping(root.get("categories") or {}, "categories").items():
        key = f"categories.{code}"
        entry = r.mapping(entry, key)
        profile = r.text(entry.get("profile", default_profile), f"{key}.profile")
        if profile not in profiles:
            raise r.fail(f"{key}.profile", f"unknown time profile {profile!r}")
        lists: dict[str, tuple[str, ...]] = {}
        for field_name in ("assist", "refer"):
            codes = entry.get(field_name) or []
            if not isinstance(codes, list):
                raise r.fail(f"{key}.{field_name}", "must be a list of department codes")
            for dept in codes:
                if dept not in departments or dept == CENTER:
                    raise r.fail(f"{key}.{field_name}", f"unknown department code {dept!r}")
            lists[field_name] = tuple(codes)
        unit = entry.get("unit")
        if unit is not None and (unit not in departments or unit in (CENTER, TOWNSHIP)):
            raise r.fail(f"{key}.unit", f"unknown unit {unit!r} (a department code)")
        mention = entry.get("mention") or []
        if not isinstance(mention, list) or not all(isinstance(m, str) and m for m in mention):
            raise r.fail(f"{key}.mention", "must be a list of office kinds (e.g. 供电所)")
        confidential = entry.get("confidential", False)
        if not isinstance(confidential, bool):
            raise r.fail(f"{key}.confidential", "must be true or false")
        if confidential and TOWNSHIP in lists["assist"] + lists["refer"]:
            raise r.fail(key, "a confidential category cannot involve the township")
        categories[str(code)] = CategorySettings(
            str(code),
            profile,
            lists["assist"],
            lists["refer"],
            str(unit) if unit else None,
            confidential,
            tuple(mention),
        )

    publication = _parse_publication(r, root.get("publication") or {}, departments)

    return County(
        name_zh=r.text(county.get("name_zh"), "county.name_zh"),
        name_en=r.text(county.get("name_en", ""), "county.name_en"),
        bbox=(bbox[0], bbox[1], bbox[2], bbox[3]),
        departments=departments,
        township_data=townships,
        time_profiles=profiles,
        categories=categories,
        default_profile=default_profile,
        source=path,
        publication=publication,
        nearby_ratio=nearby_ratio,
    )


def _codes(r: _Reader, value: Any, key: str) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise r.fail(key, "must be a list of codes")
    return frozenset(value)


def _parse_publication(r: _Reader, raw: Any, departments: dict[str, Department]) -> Publication:
    entry = r.mapping(raw, "publication")
    default = Publication()
    hidden_levels = _codes(
        r,
        entry.get("hidden_risk_levels", sorted(default.hidden_risk_levels)),
        "publication.hidden_risk_levels",
    )
    if not hidden_levels <= {"red", "orange", "yellow", "blue"}:
        raise r.fail("publication.hidden_risk_levels", "levels are red, orange, yellow, blue")
    hidden_departments = _codes(
        r,
        entry.get("hidden_departments", sorted(default.hidden_departments)),
        "publication.hidden_departments",
    )
    unknown = hidden_departments - set(departments)
    if unknown:
        raise r.fail("publication.hidden_departments", f"unknown codes {sorted(unknown)}")
    return Publication(
        public_categories=_codes(
            r, entry.get("public_categories", []), "publication.public_categories"
        ),
        hidden_risk_levels=hidden_levels,
        hidden_departments=hidden_departments | {"discipline"},  # 纪委监委 is never public
    )
