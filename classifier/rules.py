"""Loading and validating the rule files a county admin edits (classifier/data/*.yaml).

Every problem is reported as a `RuleError` naming the file and the line of the bad entry, so an
admin editing a file in the web box or on disk sees exactly what to fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DATA_DIR = Path(__file__).parent / "data"
RISK_LEVELS = ("blue", "yellow", "orange", "red")
GROUPS = ("矛盾纠纷", "治安安全隐患", "服务民生")
TERMS_CSV = "department_terms.csv"
_CODE_RE = re.compile(r"^[A-Z][0-9]{1,2}$")


class RuleError(ValueError):
    """A rule file is missing, malformed or inconsistent (message names file and line)."""


# --- YAML with line numbers ------------------------------------------------------------------


class _Str(str):
    line: int


class _List(list[Any]):
    line: int


class _Dict(dict[Any, Any]):
    line: int


_SCALARS = yaml.constructor.SafeConstructor()
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _convert(node: yaml.Node) -> Any:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = _Dict()
        for key_node, value_node in node.value:
            key = _convert(key_node)
            out[key] = _convert(value_node)
        out.line = line
        return out
    if isinstance(node, yaml.SequenceNode):
        items = _List(_convert(n) for n in node.value)
        items.line = line
        return items
    if node.tag == "tag:yaml.org,2002:str":
        text = _Str(node.value)
        text.line = line
        return text
    return _SCALARS.construct_object(node, deep=True)


def line_of(value: Any, default: int | None = None) -> int | None:
    """The 1-based line where a loaded YAML value starts (None when unknown)."""
    return getattr(value, "line", default)


def load_yaml(path: Path) -> Any:
    """Parse one YAML file keeping line numbers; syntax errors name the file and line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RuleError(f"{path}: rule file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: cannot read rule file: {exc}") from None
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise RuleError(f"{where}: YAML syntax error: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: YAML error: {exc}") from None
    if node is None:
        raise RuleError(f"{path}: the file is empty")
    return _convert(node)


class _Ctx:
    """Builds error messages for one file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, where: Any, message: str) -> RuleError:
        line = line_of(where)
        loc = f"{self.path}:{line}" if line else str(self.path)
        return RuleError(f"{loc}: {message}")

    def mapping(self, value: Any, what: str, parent: Any = None) -> Mapping[Any, Any]:
        if not isinstance(value, dict):
            raise self.error(value if line_of(value) else parent, f"{what} must be a mapping")
        return value

    def words(self, value: Any, what: str, parent: Any) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(value if line_of(value) else parent, f"{what} must be a list")
        out = []
        for item in value:
            if isinstance(item, int) and not isinstance(item, bool):
                item = str(item)  # numbers such as 12348 are words too
            if not isinstance(item, str) or not item.strip():
                raise self.error(
                    item if line_of(item) else value,
                    f"{what}: every entry must be a non-empty word, got {item!r}",
                )
            out.append(str(item).strip())
        return out

    def text(self, mapping: Mapping[Any, Any], key: str, what: str) -> str:
        value = mapping.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(mapping, f"{what}: field '{key}' is missing or empty")
        return str(value).strip()


def _check_keys(ctx: _Ctx, mapping: Mapping[Any, Any], allowed: Iterable[str], what: str) -> None:
    allowed = set(allowed)
    for key in mapping:
        if key not in allowed:
            where = key if line_of(key) else mapping
            raise ctx.error(where, f"{what}: unknown field '{key}' (allowed: {sorted(allowed)})")


# --- rule data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    """One routing category (a dispute type, hazard or service request)."""

    code: str
    name_zh: str
    name_en: str
    department: str
    joint_departments: tuple[str, ...] = ()
    group: str = "矛盾纠纷"
    base_risk: str = "yellow"


@dataclass(frozen=True)
class Keywords:
    strong: tuple[str, ...] = ()
    weak: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()
    exclude: tuple[str, ...] = ()
    negatable: bool = False


@dataclass(frozen=True)
class JointRule:
    add: tuple[str, ...]
    category: str | None = None
    signal: str | None = None
    any_of: tuple[str, ...] = ()


@dataclass(frozen=True)
class DialectRule:
    form: str
    standard: str
    followed_by: tuple[str, ...] = ()
    not_preceded_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class RiskSignal:
    code: str
    name: str
    department: str | None = None
    red: tuple[str, ...] = ()
    orange: tuple[str, ...] = ()
    red_combos: tuple[tuple[str, ...], ...] = ()
    orange_combos: tuple[tuple[str, ...], ...] = ()
    red_if_also: tuple[str, ...] = ()
    raise_terms: tuple[str, ...] = ()
    leads: str = "never"  # when `department` takes the case over: always / red / never

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}"


@dataclass(frozen=True)
class Concept:
    """One idea a danger is made of (a weapon, a gas leak, a person at risk, "it is happening
    now"), with every word and dialect form that expresses it."""

    name: str
    words: tuple[str, ...]
    not_after: frozenset[str] = frozenset()  # single characters that must not come right before
    not_before: tuple[str, ...] = ()  # words that must not come right after (找不到 + 工作)
    count_at_least: int = 0  # also present when the text counts this many people (十几个人)
    negatable: bool = True  # false for things and people: 不认识的菌子 still names a mushroom


@dataclass(frozen=True)
class Dampener:
    """A frame that makes danger words harmless: past and settled, a question about the law,
    something seen on television, a rumour denied, no one hurt."""

    name: str
    label: str
    words: tuple[str, ...]
    unless: tuple[str, ...] = ()  # concepts that cancel it (happening now)
    cap: str = "yellow"  # the highest level a dampened danger keeps
    only: tuple[str, ...] = ()  # codes it applies to (empty: all)
    spares: tuple[str, ...] = ()  # codes it never applies to
    past_years: bool = False  # a calendar year before this one (2008年) is one of its words


@dataclass(frozen=True)
class Combination:
    """A danger told as concepts that occur together: every slot must be present."""

    code: str
    name: str
    level: str  # red | orange
    slots: tuple[tuple[str, ...], ...]  # each slot: any one of these concepts
    unless: tuple[str, ...] = ()
    department: str | None = None
    leads: str = "never"
    category: str | None = None  # the category used when it leads (animal bite → C6)
    within: int | None = None  # closer than the model's window (围着…打)

    @property
    def label(self) -> str:
        return f"{self.code} {self.name}"


@dataclass(frozen=True)
class DangerModel:
    """Concepts, look-alike masks, dampeners and combinations from risk.yaml."""

    concepts: Mapping[str, Concept] = field(default_factory=dict)
    masks: tuple[str, ...] = ()
    dampeners: tuple[Dampener, ...] = ()
    combinations: tuple[Combination, ...] = ()
    window: int = 50  # a combination's concepts lie within this many characters of each other
    negators: tuple[str, ...] = ()  # 没有发生(过)… cancels a concept word a few words later


@dataclass(frozen=True)
class RuleSet:
    """Everything the classifier needs, validated; immutable and safe to share between threads."""

    source: Path
    departments: Mapping[str, str]
    categories: Mapping[str, Category]
    department_defaults: Mapping[str, str]
    joint_rules: tuple[JointRule, ...]
    keywords: Mapping[str, Keywords]
    weights: Mapping[str, float]
    dialect: tuple[DialectRule, ...]
    signals: tuple[RiskSignal, ...]
    department_terms: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    department_bias: Mapping[str, float] = field(default_factory=dict)
    settings: Mapping[str, float] = field(default_factory=dict)
    danger: DangerModel = field(default_factory=DangerModel)


def _parse_phrase(ctx: _Ctx, raw: str, where: Any, what: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in raw.split("+"))
    if len(parts) < 2 or not all(parts):
        raise ctx.error(where, f"{what}: '{raw}' must be two or more words joined by '+'")
    return parts


def _load_departments(directory: Path) -> dict[str, str]:
    path = directory / "departments.yaml"
    ctx = _Ctx(path)
    data = ctx.mapping(load_yaml(path), "the file")
    _check_keys(ctx, data, ["departments"], "top level")
    depts = ctx.mapping(data.get("departments"), "'departments'", data)
    out: dict[str, str] = {}
    for code, name in depts.items():
        if not isinstance(code, str) or not re.fullmatch(r"[a-z_]+", code):
            raise ctx.error(code if line_of(code) else depts, f"bad department code {code!r}")
        if not isinstance(name, str) or not name.strip():
            raise ctx.error(code, f"department '{code}' needs a Chinese name")
        out[str(code)] = str(name)
    if "center" not in out:
        raise ctx.error(depts, "the department list must contain 'center' (the triage window)")
    return out


def _dept(ctx: _Ctx, value: Any, where: Any, depts: Mapping[str, str], what: str) -> str:
    if not isinstance(value, str) or value not in depts:
        raise ctx.error(
            value if line_of(value) else where,
            f"{what}: unknown department {value!r} (known: {', '.join(depts)})",
        )
    return str(value)


def _load_categories(
    directory: Path, depts: Mapping[str, str]
) -> tuple[dict[str, Category], dict[str, str], tuple[JointRule, ...]]:
    path = directory / "categories.yaml"
    ctx = _Ctx(path)
    data = ctx.mapping(load_yaml(path), "the file")
    _check_keys(ctx, data, ["categories", "department_defaults", "joint_rules"], "top level")
    raw = data.get("categories")
    if not isinstance(raw, list) or not raw:
        raise ctx.error(data, "'categories' must be a non-empty list")
    cats: dict[str, Category] = {}
    for entry in raw:
        entry = ctx.mapping(entry, "a category", raw)
        fields = ["code", "name_zh", "name_en", "department", "joint", "group", "risk"]
        _check_keys(ctx, entry, fields, "category")
        code = ctx.text(entry, "code", "category")
        if not _CODE_RE.match(code):
            raise ctx.error(entry, f"category code '{code}' must look like D01, B3 or C7")
        if code in cats:
            raise ctx.error(entry, f"category '{code}' is defined twice")
        what = f"category {code}"
        joint = tuple(
            _dept(ctx, d, entry, depts, what) for d in ctx.words(entry.get("joint"), what, entry)
        )
        group = entry.get("group", "矛盾纠纷")
        if group not in GROUPS:
            raise ctx.error(entry, f"{what}: group must be one of {GROUPS}, got {group!r}")
        risk = entry.get("risk", "yellow")
        if risk not in ("yellow", "blue"):
            raise ctx.error(entry, f"{what}: risk must be 'yellow' or 'blue', got {risk!r}")
        cats[code] = Category(
            code=code,
            name_zh=ctx.text(entry, "name_zh", what),
            name_en=ctx.text(entry, "name_en", what),
            department=_dept(ctx, entry.get("department"), entry, depts, what),
            joint_departments=joint,
            group=str(group),
            base_risk=str(risk),
        )
    defaults_raw = ctx.mapping(data.get("department_defaults", _Dict()), "department_defaults")
    defaults: dict[str, str] = {}
    for dept, code in defaults_raw.items():
        _dept(ctx, dept, defaults_raw, depts, "department_defaults")
        if code not in cats:
            raise ctx.error(code if line_of(code) else defaults_raw, f"unknown category {code!r}")
        defaults[str(dept)] = str(code)
    joint_rules = []
    for rule in data.get("joint_rules") or []:
        rule = ctx.mapping(rule, "a joint rule", data)
        _check_keys(ctx, rule, ["when_category", "when_signal", "any_of", "add"], "joint rule")
        cat = rule.get("when_category")
        sig = rule.get("when_signal")
        if (cat is None) == (sig is None):
            raise ctx.error(rule, "joint rule: give exactly one of when_category / when_signal")
        if cat is not None and cat not in cats:
            raise ctx.error(rule, f"joint rule: unknown category {cat!r}")
        add = tuple(
            _dept(ctx, d, rule, depts, "joint rule")
            for d in ctx.words(rule.get("add"), "add", rule)
        )
        if not add:
            raise ctx.error(rule, "joint rule: 'add' must list at least one department")
        joint_rules.append(
            JointRule(
                add=add,
                category=str(cat) if cat else None,
                signal=str(sig) if sig else None,
                any_of=tuple(ctx.words(rule.get("any_of"), "any_of", rule)),
            )
        )
    missing = sorted(set(depts) - {"center"} - set(defaults))
    if missing:
        raise ctx.error(defaults_raw, f"department_defaults: no category for {missing}")
    return cats, defaults, tuple(joint_rules)


def _load_keywords(
    directory: Path, cats: Mapping[str, Category]
) -> tuple[dict[str, Keywords], dict[str, float]]:
    path = directory / "keywords.yaml"
    ctx = _Ctx(path)
    data = ctx.mapping(load_yaml(path), "the file")
    weights_raw = ctx.mapping(data.get("weights"), "'weights'", data)
    keys = ("strong", "weak", "phrase", "per_extra_char", "max_extra")
    _check_keys(ctx, weights_raw, keys, "weights")
    weights: dict[str, float] = {"per_extra_char": 0.0, "max_extra": 0.0}
    for key in keys:
        if key not in weights_raw and key in weights:
            continue
        value = weights_raw.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
            raise ctx.error(weights_raw, f"weights.{key} must be a number >= 0, got {value!r}")
        weights[key] = float(value)
    out: dict[str, Keywords] = {}
    for code, entry in data.items():
        if code == "weights":
            continue
        if code not in cats:
            where = code if line_of(code) else data
            raise ctx.error(where, f"unknown category '{code}' (not in categories.yaml)")
        entry = ctx.mapping(entry, f"category {code}", code)
        _check_keys(ctx, entry, ["strong", "weak", "phrases", "exclude", "negatable"], str(code))
        phrases = tuple(
            _parse_phrase(ctx, p, entry.get("phrases"), f"{code}.phrases")
            for p in ctx.words(entry.get("phrases"), f"{code}.phrases", entry)
        )
        negatable = entry.get("negatable", False)
        if not isinstance(negatable, bool):
            raise ctx.error(entry, f"{code}.negatable must be true or false")
        out[str(code)] = Keywords(
            strong=tuple(ctx.words(entry.get("strong"), f"{code}.strong", entry)),
            weak=tuple(ctx.words(entry.get("weak"), f"{code}.weak", entry)),
            phrases=phrases,
            exclude=tuple(ctx.words(entry.get("exclude"), f"{code}.exclude", entry)),
            negatable=negatable,
        )
    return out, weights


def _load_dialect(directory: Path) -> tuple[DialectRule, ...]:
    path = directory / "dialect.yaml"
    ctx = _Ctx(path)
    data = ctx.mapping(load_yaml(path), "the file")
    _check_keys(ctx, data, ["rules"], "top level")
    rules = []
    for entry in data.get("rules") or []:
        entry = ctx.mapping(entry, "a dialect rule", data)
        _check_keys(
            ctx, entry, ["form", "standard", "followed_by", "not_preceded_by"], "dialect rule"
        )
        not_preceded = tuple(ctx.words(entry.get("not_preceded_by"), "not_preceded_by", entry))
        if any(len(c) != 1 for c in not_preceded):
            raise ctx.error(
                entry, "dialect rule: not_preceded_by entries must be single characters"
            )
        rules.append(
            DialectRule(
                form=ctx.text(entry, "form", "dialect rule"),
                standard=ctx.text(entry, "standard", "dialect rule"),
                followed_by=tuple(ctx.words(entry.get("followed_by"), "followed_by", entry)),
                not_preceded_by=not_preceded,
            )
        )
    return tuple(rules)


def _load_risk(
    directory: Path, depts: Mapping[str, str], cats: Mapping[str, Category]
) -> tuple[tuple[RiskSignal, ...], DangerModel]:
    path = directory / "risk.yaml"
    ctx = _Ctx(path)
    data = ctx.mapping(load_yaml(path), "the file")
    _check_keys(
        ctx,
        data,
        ["signals", "window", "negators", "concepts", "masks", "dampeners", "combinations"],
        "top level",
    )
    signals_raw = ctx.mapping(data.get("signals"), "'signals'", data)
    fields = [
        "name", "department", "red", "orange", "red_combos", "orange_combos",
        "red_if_also", "raise", "terms", "leads",
    ]  # fmt: skip
    out = []
    for code, entry in signals_raw.items():
        if not isinstance(code, str) or not re.fullmatch(r"R[0-9]{1,2}", code):
            raise ctx.error(code if line_of(code) else signals_raw, f"bad signal code {code!r}")
        entry = ctx.mapping(entry, f"signal {code}", code)
        _check_keys(ctx, entry, fields, f"signal {code}")
        dept = entry.get("department")
        if dept is not None:
            _dept(ctx, dept, entry, depts, f"signal {code}")
        leads = entry.get("leads", "never")
        if leads not in ("always", "red", "never"):
            raise ctx.error(entry, f"signal {code}: leads must be always, red or never")
        if leads != "never" and dept is None:
            raise ctx.error(entry, f"signal {code}: leads: {leads} needs a department")
        raises = entry.get("raise", False)
        if not isinstance(raises, bool):
            raise ctx.error(entry, f"signal {code}: raise must be true or false")
        terms = tuple(ctx.words(entry.get("terms"), f"{code}.terms", entry))
        if raises and not terms:
            raise ctx.error(entry, f"signal {code}: raise: true needs a 'terms' list")
        if terms and not raises:
            raise ctx.error(entry, f"signal {code}: 'terms' is only for raise: true signals")

        def combos(key: str, code: str = code, entry: Any = entry) -> tuple[tuple[str, ...], ...]:
            return tuple(
                _parse_phrase(ctx, p, entry.get(key), f"{code}.{key}")
                for p in ctx.words(entry.get(key), f"{code}.{key}", entry)
            )

        sig = RiskSignal(
            code=code,
            name=ctx.text(entry, "name", f"signal {code}"),
            department=str(dept) if dept else None,
            red=tuple(ctx.words(entry.get("red"), f"{code}.red", entry)),
            orange=tuple(ctx.words(entry.get("orange"), f"{code}.orange", entry)),
            red_combos=combos("red_combos"),
            orange_combos=combos("orange_combos"),
            red_if_also=tuple(ctx.words(entry.get("red_if_also"), f"{code}.red_if_also", entry)),
            raise_terms=terms,
            leads=str(leads),
        )
        if not (sig.red or sig.orange or sig.red_combos or sig.orange_combos or sig.raise_terms):
            raise ctx.error(entry, f"signal {code}: no words given")
        out.append(sig)
    signals = tuple(out)
    return signals, _load_danger(ctx, data, depts, cats, {s.code for s in signals})


def _load_danger(
    ctx: _Ctx,
    data: Mapping[Any, Any],
    depts: Mapping[str, str],
    cats: Mapping[str, Category],
    signal_codes: set[str],
) -> DangerModel:
    """The concept model: concepts, masks, dampeners and combinations (all optional)."""
    concepts: dict[str, Concept] = {}
    raw = data.get("concepts")
    for name, entry in ctx.mapping(raw, "'concepts'", data).items() if raw is not None else []:
        if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise ctx.error(name if line_of(name) else raw, f"bad concept name {name!r}")
        entry = ctx.mapping(entry, f"concept {name}", name)
        _check_keys(
            ctx,
            entry,
            ["words", "not_after", "not_before", "count_at_least", "negatable"],
            f"concept {name}",
        )
        negatable = entry.get("negatable", True)
        if not isinstance(negatable, bool):
            raise ctx.error(entry, f"concept {name}: negatable must be true or false")
        not_after = ctx.words(entry.get("not_after"), f"{name}.not_after", entry)
        if any(len(c) != 1 for c in not_after):
            raise ctx.error(entry, f"concept {name}: not_after entries must be single characters")
        count = entry.get("count_at_least", 0)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ctx.error(entry, f"concept {name}: count_at_least must be a whole number >= 0")
        words = tuple(ctx.words(entry.get("words"), f"{name}.words", entry))
        if not words and not count:
            raise ctx.error(entry, f"concept {name}: no words given")
        concepts[name] = Concept(
            name=name,
            words=words,
            not_after=frozenset(not_after),
            not_before=tuple(ctx.words(entry.get("not_before"), f"{name}.not_before", entry)),
            count_at_least=count,
            negatable=negatable,
        )

    def concept_list(entry: Any, key: str, what: str) -> tuple[str, ...]:
        names = ctx.words(entry.get(key), f"{what}.{key}", entry)
        for n in names:
            if n not in concepts:
                raise ctx.error(entry.get(key), f"{what}.{key}: unknown concept {n!r}")
        return tuple(names)

    combinations: list[Combination] = []
    raw = data.get("combinations")
    for code, entry in ctx.mapping(raw, "'combinations'", data).items() if raw else []:
        if not isinstance(code, str) or not re.fullmatch(r"K[0-9]{1,3}", code):
            raise ctx.error(code if line_of(code) else raw, f"bad combination code {code!r}")
        what = f"combination {code}"
        entry = ctx.mapping(entry, what, code)
        fields = ["name", "level", "when", "within", "unless", "department", "leads", "category"]
        _check_keys(ctx, entry, fields, what)
        level = entry.get("level")
        if level not in ("red", "orange"):
            raise ctx.error(entry, f"{what}: level must be red or orange, got {level!r}")
        slots = []
        for slot in ctx.words(entry.get("when"), f"{what}.when", entry):
            parts = tuple(p.strip() for p in slot.split("|"))
            for p in parts:
                if p not in concepts:
                    raise ctx.error(entry.get("when"), f"{what}.when: unknown concept {p!r}")
            slots.append(parts)
        if not slots:
            raise ctx.error(entry, f"{what}: 'when' must list at least one concept")
        dept = entry.get("department")
        if dept is not None:
            _dept(ctx, dept, entry, depts, what)
        leads = entry.get("leads", "never")
        if leads not in ("always", "red", "never"):
            raise ctx.error(entry, f"{what}: leads must be always, red or never")
        if leads != "never" and dept is None:
            raise ctx.error(entry, f"{what}: leads: {leads} needs a department")
        within = entry.get("within")
        if within is not None and (
            not isinstance(within, int) or isinstance(within, bool) or within < 1
        ):
            raise ctx.error(entry, f"{what}: within must be a whole number >= 1")
        category = entry.get("category")
        if category is not None and category not in cats:
            raise ctx.error(entry, f"{what}: unknown category {category!r}")
        combinations.append(
            Combination(
                code=code,
                name=ctx.text(entry, "name", what),
                level=str(level),
                slots=tuple(slots),
                unless=concept_list(entry, "unless", what),
                department=str(dept) if dept else None,
                leads=str(leads),
                category=str(category) if category else None,
                within=within,
            )
        )
    codes = signal_codes | {c.code for c in combinations}
    dampeners: list[Dampener] = []
    raw = data.get("dampeners")
    for name, entry in ctx.mapping(raw, "'dampeners'", data).items() if raw else []:
        what = f"dampener {name}"
        entry = ctx.mapping(entry, what, name)
        _check_keys(
            ctx, entry, ["label", "words", "unless", "cap", "only", "spares", "past_years"], what
        )
        past_years = entry.get("past_years", False)
        if not isinstance(past_years, bool):
            raise ctx.error(entry, f"{what}: past_years must be true or false")
        cap = entry.get("cap", "yellow")
        if cap not in ("yellow", "orange"):
            raise ctx.error(entry, f"{what}: cap must be yellow or orange, got {cap!r}")
        only = tuple(ctx.words(entry.get("only"), f"{what}.only", entry))
        spares = tuple(ctx.words(entry.get("spares"), f"{what}.spares", entry))
        for c in (*only, *spares):
            if c not in codes:
                raise ctx.error(entry, f"{what}: unknown signal or combination {c!r}")
        words = tuple(ctx.words(entry.get("words"), f"{what}.words", entry))
        if not words:
            raise ctx.error(entry, f"{what}: no words given")
        dampeners.append(
            Dampener(
                name=str(name),
                label=ctx.text(entry, "label", what),
                words=words,
                unless=concept_list(entry, "unless", what),
                cap=str(cap),
                only=only,
                spares=spares,
                past_years=past_years,
            )
        )
    masks = tuple(ctx.words(data.get("masks"), "masks", data))
    window = data.get("window", 50)
    if not isinstance(window, int) or isinstance(window, bool) or window < 1:
        raise ctx.error(data, f"window must be a whole number >= 1, got {window!r}")
    return DangerModel(
        window=window,
        negators=tuple(ctx.words(data.get("negators"), "negators", data)),
        concepts=concepts,
        masks=masks,
        dampeners=tuple(dampeners),
        combinations=tuple(combinations),
    )


def _load_department_terms(
    directory: Path, depts: Mapping[str, str]
) -> tuple[dict[str, dict[str, float]], dict[str, float], dict[str, float]]:
    """Optional general evidence: settings and bias (YAML) and word weights (CSV, fast to read)."""
    path = directory / "department_terms.yaml"
    if not path.exists():
        return {}, {}, {}
    ctx = _Ctx(path)
    data = ctx.mapping(load_yaml(path), "the file")
    _check_keys(ctx, data, ["settings", "bias"], "top level")
    settings: dict[str, float] = {}
    for key, value in ctx.mapping(data.get("settings", _Dict()), "settings").items():
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ctx.error(data.get("settings"), f"settings.{key} must be a number")
        settings[str(key)] = float(value)
    bias: dict[str, float] = {}
    for dept, value in ctx.mapping(data.get("bias", _Dict()), "bias").items():
        _dept(ctx, dept, data.get("bias"), depts, "bias")
        if not isinstance(value, int | float):
            raise ctx.error(dept, f"bias.{dept} must be a number")
        bias[str(dept)] = float(value)
    terms = _load_terms_csv(directory / TERMS_CSV, depts)
    return terms, bias, settings


def _load_terms_csv(path: Path, depts: Mapping[str, str]) -> dict[str, dict[str, float]]:
    """word,<department>,<department>,... one word a line; an empty cell means 0."""
    if not path.exists():
        return {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{path}: cannot read: {exc}") from None
    rows = [(n, line) for n, line in enumerate(lines, 1) if line.strip() and line[0] != "#"]
    if not rows:
        return {}
    header_line, header = rows[0]
    columns = [c.strip() for c in header.split(",")]
    if columns[0] != "word" or len(columns) < 2:
        raise RuleError(f"{path}:{header_line}: the header must be word,<department>,...")
    for dept in columns[1:]:
        if dept not in depts:
            raise RuleError(f"{path}:{header_line}: unknown department {dept!r} in the header")
    terms: dict[str, dict[str, float]] = {}
    for number, line in rows[1:]:
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(columns):
            raise RuleError(
                f"{path}:{number}: expected {len(columns)} columns (word + weights), "
                f"got {len(cells)}"
            )
        word = cells[0]
        if not word:
            raise RuleError(f"{path}:{number}: the word is empty")
        if word in terms:
            raise RuleError(f"{path}:{number}: '{word}' is listed twice")
        weights: dict[str, float] = {}
        for dept, cell in zip(columns[1:], cells[1:], strict=True):
            if not cell:
                continue
            try:
                value = float(cell)
            except ValueError:
                raise RuleError(
                    f"{path}:{number}: weight of '{word}' for {dept} is not a number: {cell!r}"
                ) from None
            if value:
                weights[dept] = value
        terms[word] = weights
    return terms


def load_rules(directory: str | Path | None = None) -> RuleSet:
    """Load and validate every rule file in `directory` (default: the package's data folder)."""
    directory = Path(directory) if directory is not None else DATA_DIR
    if not directory.is_dir():
        raise RuleError(f"{directory}: rule directory not found")
    depts = _load_departments(directory)
    cats, defaults, joint_rules = _load_categories(directory, depts)
    keywords, weights = _load_keywords(directory, cats)
    signals, danger = _load_risk(directory, depts, cats)
    known_signals = {s.code for s in signals}
    for rule in joint_rules:
        if rule.signal is not None and rule.signal not in known_signals:
            raise RuleError(
                f"{directory / 'categories.yaml'}: joint rule names unknown signal {rule.signal!r}"
            )
    terms, bias, settings = _load_department_terms(directory, depts)
    return RuleSet(
        source=directory,
        departments=depts,
        categories=cats,
        department_defaults=defaults,
        joint_rules=joint_rules,
        keywords=keywords,
        weights=weights,
        dialect=_load_dialect(directory),
        signals=signals,
        department_terms=terms,
        department_bias=bias,
        settings=settings,
        danger=danger,
    )
