"""Scenarios: YAML files validated by pydantic.

A scenario names every parameter of every mechanism with a value, a prior and a
source, a horizon, and an ``events`` schedule that changes parameters at given
months. ``extends: NAME`` builds a variant from another scenario: its
``parameters`` are merged key by key and its events are added to (or, with the
same ``id``, replace) the parent's.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from corridor.errors import CorridorInputError
from corridor.mechanisms import PARAMETER_MODELS

MONTH_RE = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits, the whole text (fullmatch)
DATA_FILE_RE = re.compile(r"[A-Za-z0-9_.-]+\.csv\b")  # a data file named in a source
SEED_FILES = ("000_486404c3d6eb819b.txt", "003_6a42180f8ac45b94.txt")


def parse_month(text: str) -> tuple[int, int]:
    m = MONTH_RE.fullmatch(str(text))
    if not m or not 1 <= int(m.group(2)) <= 12:
        shown = str(text) if len(str(text)) <= 40 else str(text)[:40] + "..."
        raise ValueError(f"'{shown}' is not a month; write it as YYYY-MM, e.g. 2022-12")
    return int(m.group(1)), int(m.group(2))


def _month_text(value) -> str:
    """A month as written in a scenario (YYYY-MM); anything else, e.g. 202301 or a date, is refused."""
    if not isinstance(value, str):
        shown = repr(value) if len(repr(value)) <= 40 else type(value).__name__
        raise ValueError(f"{shown} is not a month; write it as YYYY-MM, e.g. 2022-12")
    parse_month(value)
    return value


def month_index(start: str, month: str) -> int:
    (y0, m0), (y1, m1) = parse_month(start), parse_month(month)
    return (y1 - y0) * 12 + (m1 - m0)


# the arguments each prior distribution takes, in the order its density uses them
PRIOR_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "loguniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
    "beta": ("a", "b"),
    "fixed": (),
}


class Prior(BaseModel):
    """A prior distribution for calibration."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    dist: Literal["uniform", "loguniform", "normal", "lognormal", "beta", "fixed"]
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = Field(default=None, gt=0)
    median: float | None = Field(default=None, gt=0)
    sigma: float | None = Field(default=None, gt=0)
    a: float | None = Field(default=None, gt=0)
    b: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _has_its_arguments(self) -> Prior:
        needed = PRIOR_ARGUMENTS[self.dist]
        missing = [k for k in needed if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.dist} prior needs {' and '.join(needed)}")
        if self.dist in ("uniform", "loguniform") and not self.low < self.high:
            raise ValueError("a uniform prior needs low < high")
        if self.dist == "loguniform" and self.low <= 0:
            raise ValueError("a loguniform prior needs low > 0")
        return self

    @property
    def arguments(self) -> tuple[float, ...]:
        """The distribution's arguments in the order of ``PRIOR_ARGUMENTS``."""
        return tuple(getattr(self, k) for k in PRIOR_ARGUMENTS[self.dist])


# a parameter's value as written in YAML; the mechanism's schema gives it its type
# (a number, a whole number, a switch, a category) when the scenario is validated
ParameterValue = bool | int | float | str


class ParameterEntry(BaseModel):
    """One parameter: value, prior and where the number comes from."""

    model_config = ConfigDict(extra="forbid")
    value: ParameterValue
    prior: Prior
    source: str

    @field_validator("source")
    @classmethod
    def _traceable(cls, v: str) -> str:
        reason = v.removeprefix("assumption:").strip() if v.startswith("assumption:") else None
        ok = bool(reason) or DATA_FILE_RE.search(v) is not None or any(s in v for s in SEED_FILES)
        if not ok:
            raise ValueError(
                "source must name a data file (*.csv), a seed file (e.g. 003_6a42180f8ac45b94.txt) "
                "or start with 'assumption: <why>'"
            )
        return v


class Event(BaseModel):
    """A scheduled change of parameters at a month (policy, route opening, data-driven rate)."""

    model_config = ConfigDict(extra="forbid")
    id: str
    month: str
    set: dict[str, ParameterValue]
    note: str = ""
    enabled: bool = True

    @field_validator("month", mode="before")
    @classmethod
    def _is_month(cls, v):
        return _month_text(v)


class Scenario(BaseModel):
    """A resolved scenario: every parameter present, events in order."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str
    start: str = "2012-01"
    end: str = "2030-12"
    parameters: dict[str, dict[str, ParameterEntry]]
    events: list[Event] = []

    @field_validator("start", "end", mode="before")
    @classmethod
    def _is_month(cls, v):
        return _month_text(v)

    @property
    def n_months(self) -> int:
        return month_index(self.start, self.end) + 1

    def month_of_year(self, t: int) -> int:
        """1-12 for month ``t`` of the horizon."""
        return (parse_month(self.start)[1] - 1 + t) % 12 + 1

    def month_label(self, t: int) -> str:
        y, m = parse_month(self.start)
        k = (y * 12 + m - 1) + t
        return f"{k // 12:04d}-{k % 12 + 1:02d}"

    def value(self, key: str) -> ParameterValue:
        module, name = key.split(".", 1)
        return self.parameters[module][name].value

    def values(self, module: str) -> dict[str, ParameterValue]:
        """The values of one mechanism's parameters."""
        return {k: e.value for k, e in self.parameters[module].items()}

    def flat_values(self) -> dict[str, ParameterValue]:
        return {f"{m}.{k}": e.value for m, group in self.parameters.items() for k, e in group.items()}

    def with_values(self, values: dict[str, float]) -> Scenario:
        """A copy with some parameter values replaced (for calibration and sensitivity).

        Numbers drawn from a continuous prior are rounded for whole-number parameters."""
        data = self.model_dump()
        for key, v in values.items():
            module, name = split_key(key, "parameter")
            field = PARAMETER_MODELS[module].model_fields[name]
            data["parameters"][module][name]["value"] = round(float(v)) if field.annotation is int else v
        return validate_resolved(data, origin="override")

    def sha256(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def split_key(key: str, what: str) -> tuple[str, str]:
    if "." not in key:
        raise CorridorInputError(f"{what} '{key}': write it as module.name, e.g. smuggling.lorry_base_price_gbp")
    module, name = key.split(".", 1)
    if module not in PARAMETER_MODELS:
        raise CorridorInputError(
            f"{what} '{key}': unknown module '{module}'; use one of: {', '.join(PARAMETER_MODELS)}"
        )
    if name not in PARAMETER_MODELS[module].model_fields:
        raise CorridorInputError(
            f"{what} '{key}': unknown parameter; see `corridor scenarios show albania-uk` for the names"
        )
    return module, name


def _loc(err: dict) -> str:
    return ".".join(str(p) for p in err["loc"])


def _one_line(exc: ValidationError, where: str, event_origins: list[str] | None = None) -> CorridorInputError:
    err = exc.errors()[0]
    msg = err["msg"].removeprefix("Value error, ")
    loc = list(err["loc"])
    if event_origins and len(loc) >= 2 and loc[0] == "events" and isinstance(loc[1], int) and loc[1] < len(event_origins):
        where, loc = event_origins[loc[1]], loc[2:]  # the event as the user wrote it, in their file
    field = ".".join(str(p) for p in loc) or "the event"
    fix = " (check the spelling or remove it)" if err["type"] == "extra_forbidden" else ""
    if err["type"] == "missing":
        fix = " (add it)"
    return CorridorInputError(f"{where}: {field}: {msg}{fix}")


def _check_bounds(module: str, values: dict, where: str) -> dict:
    """Validate values against the module's schema (types, bounds, completeness); return them typed."""
    model = PARAMETER_MODELS[module]
    try:
        return model.model_validate(values).model_dump()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = _loc(err)
        field = model.model_fields.get(name)
        if err["type"] == "missing":
            raise CorridorInputError(f"{where}: parameters.{module}.{name} is missing; add it with value, prior and source") from None
        if err["type"] == "extra_forbidden":
            raise _unknown_parameter(module, name, where) from None
        if err["type"] in ("greater_than_equal", "less_than_equal"):
            lo, hi = _bounds(field)
            raise CorridorInputError(
                f"{where}: parameters.{module}.{name} = {values.get(name)!r} is out of bounds; set a value in [{lo}, {hi}]"
            ) from None
        raise CorridorInputError(
            f"{where}: parameters.{module}.{name} = {values.get(name)!r} is not {_kind_of(field)}; {_how_to_write(field)}"
        ) from None


def _check_prior_support(module: str, name: str, prior: Prior, origin: str) -> None:
    """A uniform or log-uniform prior must lie inside the schema's bounds: a calibration would
    otherwise waste its draws outside them and fit a prior other than the one written."""
    if prior.dist not in ("uniform", "loguniform"):
        return
    lo, hi = _bounds(PARAMETER_MODELS[module].model_fields[name])
    if (lo is not None and prior.low < lo) or (hi is not None and prior.high > hi):
        raise CorridorInputError(
            f"{origin}: parameters.{module}.{name}: prior {prior.dist} [{prior.low}, {prior.high}] reaches outside "
            f"the bounds [{lo}, {hi}]; keep low and high inside them"
        )


def _is_number(field) -> bool:
    return field.annotation in (int, float)


def _kind_of(field) -> str:
    if field.annotation is bool:
        return "a switch"
    if field.annotation is int:
        return "a whole number"
    if getattr(field.annotation, "__args__", None):
        return "one of the allowed values"
    return "a number"


def _how_to_write(field) -> str:
    if field.annotation is bool:
        return "write true or false"
    if field.annotation is int:
        return "write a whole number, e.g. 12"
    if getattr(field.annotation, "__args__", None):
        return "write one of " + ", ".join(str(a) for a in field.annotation.__args__)
    return "write a number, e.g. 0.5"


def _bounds(field) -> tuple[Any, Any]:
    lo = hi = None
    for m in field.metadata:
        lo = getattr(m, "ge", lo) if getattr(m, "ge", None) is not None else lo
        hi = getattr(m, "le", hi) if getattr(m, "le", None) is not None else hi
    return lo, hi


def _unknown_parameter(module: str, name: str, where: str) -> CorridorInputError:
    known = ", ".join(PARAMETER_MODELS[module].model_fields)
    return CorridorInputError(
        f"{where}: parameters.{module}.{name} is not a parameter of '{module}'; check the spelling or remove it (known: {known})"
    )


def _check_parameter_names(data: dict, origin: str) -> None:
    """Refuse unknown names before the entries are validated: a misspelt or retired
    parameter set by value alone would otherwise be reported as lacking its prior."""
    parameters = data.get("parameters")
    if not isinstance(parameters, dict):
        return
    for module, group in parameters.items():
        if module in PARAMETER_MODELS and isinstance(group, dict):
            for name in group:
                if name not in PARAMETER_MODELS[module].model_fields:
                    raise _unknown_parameter(module, name, origin)


MAX_HORIZON_MONTHS = 100 * 12  # the model's person records count months in 16 bits; a century is plenty


def validate_resolved(data: dict, origin: str, event_origins: list[str] | None = None) -> Scenario:
    """Validate a merged scenario dict: schema, every parameter, events.

    ``event_origins``: for each event, where the user wrote it (file and index), so that
    a message names the event in the user's file rather than in the merged list."""
    data = {k: v for k, v in data.items() if k != "extends"}
    _check_parameter_names(data, origin)
    _check_value_types(data, origin, event_origins)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _one_line(exc, origin, event_origins) from None
    for module in PARAMETER_MODELS:
        if module not in scenario.parameters:
            raise CorridorInputError(f"{origin}: parameters.{module} is missing; add the module's parameters or use extends: albania-uk")
    for module, group in scenario.parameters.items():
        if module not in PARAMETER_MODELS:
            raise CorridorInputError(
                f"{origin}: parameters.{module} is not a module; use one of: {', '.join(PARAMETER_MODELS)}"
            )
        typed = _check_bounds(module, {k: e.value for k, e in group.items()}, origin)
        for name, entry in group.items():
            entry.value = typed[name]
            if entry.prior.dist != "fixed" and not _is_number(PARAMETER_MODELS[module].model_fields[name]):
                raise CorridorInputError(
                    f"{origin}: parameters.{module}.{name}: a switch or a category cannot be drawn from a "
                    f"{entry.prior.dist} prior; give it prior: {{dist: fixed}}"
                )
            _check_prior_support(module, name, entry.prior, origin)
    if scenario.n_months < 1:
        raise CorridorInputError(f"{origin}: end {scenario.end} is before start {scenario.start}; set end after start")
    if scenario.n_months > MAX_HORIZON_MONTHS:
        last = scenario.month_label(MAX_HORIZON_MONTHS - 1)
        raise CorridorInputError(
            f"{origin}: end {scenario.end} is more than {MAX_HORIZON_MONTHS // 12} years after start {scenario.start}; "
            f"set end by {last}"
        )
    _check_events(scenario, origin, event_origins)
    return scenario


def _check_events(scenario: Scenario, origin: str, event_origins: list[str] | None = None) -> None:
    ids = set()
    for i, event in enumerate(scenario.events):
        where = event_origins[i] if event_origins and i < len(event_origins) else f"{origin}: events[{i}] ({event.id})"
        if event.id in ids:
            raise CorridorInputError(f"{where}: duplicate id; give each event its own id")
        ids.add(event.id)
        t = month_index(scenario.start, event.month)
        if not 0 <= t < scenario.n_months:
            raise CorridorInputError(
                f"{where}: month {event.month} is outside the horizon {scenario.start}..{scenario.end}; move it inside"
            )
        for key, value in list(event.set.items()):
            module, name = split_key(key, f"{where}: set")
            values = {k: e.value for k, e in scenario.parameters[module].items()}
            values[name] = value
            event.set[key] = _check_bounds(module, values, f"{where} sets {key}")[name]


def _accepts_bool(annotation) -> bool:
    """Whether a parameter's declared type takes yes/no values (bool, a Literal of bools, a union with bool)."""
    if annotation is bool or annotation is Any:
        return True
    if get_origin(annotation) is Literal:
        return any(isinstance(a, bool) for a in get_args(annotation))
    return any(_accepts_bool(a) for a in get_args(annotation))


def _check_value_types(data: dict, origin: str, event_origins: list[str] | None) -> None:
    """Refuse yes/no values (YAML's true/false/yes/no/on/off) for parameters declared as numbers:
    pydantic would read them as 1 and 0."""

    def refuse_bool(module, name, value, where: str, what: str) -> None:
        field = PARAMETER_MODELS.get(module, None)
        field = field.model_fields.get(name) if field is not None and isinstance(name, str) else None
        if isinstance(value, bool) and field is not None and not _accepts_bool(field.annotation):
            raise CorridorInputError(f"{where}: {what} = {str(value).lower()} is a yes/no value; this parameter is a number: give a number")

    parameters = data.get("parameters")
    for module, group in (parameters.items() if isinstance(parameters, dict) else ()):
        for name, entry in (group.items() if isinstance(group, dict) else ()):
            if isinstance(entry, dict):
                refuse_bool(module, name, entry.get("value"), origin, f"parameters.{module}.{name}")
    events = data.get("events")
    for i, event in enumerate(events if isinstance(events, list) else ()):
        changes = event.get("set") if isinstance(event, dict) else None
        for key, value in (changes.items() if isinstance(changes, dict) else ()):
            module, _, name = str(key).partition(".")
            where = event_origins[i] if event_origins and i < len(event_origins) else f"{origin}: events[{i}]"
            refuse_bool(module, name, value, where, f"set {key}")


# ---------------------------------------------------------------- loading


def bundled_names() -> list[str]:
    folder = resources.files("corridor") / "scenarios"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


MAX_YAML_BYTES = 5_000_000  # a scenario is some 25 kB; a larger file is not one
MAX_YAML_DEPTH = 32  # scenarios nest 5 levels deep (parameters.module.name.prior.low)
MAX_EXTENDS = 64  # files in an extends chain
_BOMS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\xef\xbb\xbf", "utf-8-sig"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
)


class _DuplicateKey(yaml.constructor.ConstructorError):
    pass


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML's safe loader (libyaml's parser where present) that refuses a key given twice in a mapping:
    the plain loader keeps the last one silently."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    duplicate = key in seen
                except TypeError:
                    continue
                if duplicate:
                    raise _DuplicateKey(None, None, f"key '{key}' is given twice in one mapping", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _file_kind(path: Path) -> str:
    """'file', 'folder', 'missing' or 'other' (see ``corridor.folders.path_kind``)."""
    from corridor.folders import path_kind

    kind = path_kind(path)
    return "missing" if kind == "under-file" else kind


def _decode(raw: bytes, label: str) -> str:
    """Text of a YAML file: UTF-8, or UTF-16/32 with a byte-order mark (as YAML allows)."""
    encoding = next((enc for bom, enc in _BOMS if raw.startswith(bom)), "utf-8")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CorridorInputError(
            f"{label}: not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}, perhaps Latin-1); save the file as UTF-8"
        ) from None
    if "\x00" in text:
        raise CorridorInputError(
            f"{label}: holds NUL bytes (UTF-16 without a byte-order mark, or not a text file); save it as UTF-8 text"
        )
    return text.removeprefix("\ufeff")


def _depth(data) -> int:
    """Nesting depth of containers, without recursion (aliases may share a container)."""
    deepest, stack, seen = 0, [(data, 1)], {}
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict | list) or seen.get(id(node), 0) >= depth:
            continue
        seen[id(node)] = depth
        deepest = max(deepest, depth)
        if depth > MAX_YAML_DEPTH:
            break
        stack.extend((child, depth + 1) for child in (node.values() if isinstance(node, dict) else node))
    return deepest


def read_yaml(path: Path, label: str | None = None):
    """A YAML file's content, or a one-line CorridorInputError naming the file and the problem."""
    path = Path(path)
    label = label or path.name
    kind = _file_kind(path)
    if kind == "missing":
        raise CorridorInputError(f"{label}: file not found; check the path")
    if kind == "folder":
        raise CorridorInputError(f"{label}: is a folder, not a file; give the path of a YAML file")
    if kind == "other":
        raise CorridorInputError(f"{label}: is not a regular file; give the path of a YAML file")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_YAML_BYTES + 1)
    except OSError as exc:
        raise CorridorInputError(f"{label}: cannot read file ({exc.strerror}); check the path and permissions") from None
    if len(raw) > MAX_YAML_BYTES:
        raise CorridorInputError(f"{label}: larger than {MAX_YAML_BYTES // 1_000_000} MB; a scenario or data file is far smaller")
    text = _decode(raw, label)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or "invalid YAML").split())
        if isinstance(exc, _DuplicateKey):
            raise CorridorInputError(f"{label}{line}: {problem}; keep one of them") from None
        if "nesting depth" in problem:
            raise CorridorInputError(f"{label}{line}: nested too deeply for YAML; a scenario nests a few levels") from None
        raise CorridorInputError(f"{label}: malformed YAML{line}: {problem}; fix the syntax") from None
    except RecursionError:
        raise CorridorInputError(f"{label}: nested too deeply; a scenario nests a few levels") from None
    if _depth(data) > MAX_YAML_DEPTH:
        raise CorridorInputError(f"{label}: nested more than {MAX_YAML_DEPTH} levels deep; a scenario nests a few levels")
    return data


def read_scenario_yaml(path: Path, label: str) -> dict:
    data = copy.deepcopy(_read_bundled(path)) if _is_bundled(path) else read_yaml(path, label)
    if not isinstance(data, dict):
        raise CorridorInputError(f"{label}: a scenario must be a YAML mapping with name, description, parameters")
    _check_shape(data, label)
    return data


def _is_bundled(path: Path) -> bool:
    return path.parent == Path(str(resources.files("corridor") / "scenarios"))


@functools.lru_cache(maxsize=64)
def _read_bundled(path: Path):
    """A bundled scenario's content, parsed once per process (it does not change while running)."""
    return read_yaml(path, path.stem)


def _check_shape(data: dict, label: str) -> None:
    """What merging needs of one file: ``extends`` a name, ``events`` a list of mappings with an id."""
    parent = data.get("extends")
    if "extends" in data and not (isinstance(parent, str) and parent.strip()):
        raise CorridorInputError(f"{label}: extends must be a scenario name or file path, e.g. extends: albania-uk")
    events = data.get("events")
    if events is None:
        return
    if not isinstance(events, list):
        raise CorridorInputError(f"{label}: events must be a list of events (- id: ..., month: YYYY-MM, set: {{...}})")
    for j, event in enumerate(events):
        if not isinstance(event, dict):
            raise CorridorInputError(f"{label}: events[{j}] must be a mapping with id, month and set")
        if not isinstance(event.get("id"), str) or not event["id"]:
            raise CorridorInputError(f"{label}: events[{j}]: id is missing or not text; give each event an id")


def _locate(ref: str, base_dir: Path | None) -> tuple[Path, str]:
    if not isinstance(ref, str) or not ref.strip() or "\x00" in ref or len(ref) > 4096:
        raise CorridorInputError("scenario: give a bundled scenario name or the path of a YAML file")
    candidates = [base_dir / ref] if base_dir is not None else []
    candidates.append(Path(ref))
    for c in candidates:
        kind = _file_kind(c)
        if c.suffix in (".yaml", ".yml") and kind == "file":
            return c, str(c)
        if kind == "folder" and c.suffix in (".yaml", ".yml"):
            raise CorridorInputError(f"scenario '{ref}': is a folder, not a file; give the path of a YAML file")
    if ref in bundled_names():
        return Path(str(resources.files("corridor") / "scenarios" / f"{ref}.yaml")), ref
    if ref.endswith((".yaml", ".yml")):
        raise CorridorInputError(f"scenario file '{ref}': file not found; check the path")
    if any(_file_kind(c) == "file" for c in candidates):
        raise CorridorInputError(f"scenario file '{ref}': a scenario file's name ends in .yaml or .yml; rename it")
    raise CorridorInputError(
        f"scenario '{ref}' not found; give a YAML file or one of: {', '.join(bundled_names())}"
    )


def _file_identity(path: Path) -> tuple[int, int]:
    """The same file however it is reached (./sub/../a.yaml, a link): device and inode."""
    st = path.stat()
    return st.st_dev, st.st_ino


def _deep_merge(parent: dict, child: dict) -> dict:
    out = copy.deepcopy(parent)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _resolve(ref: str, base_dir: Path | None = None) -> tuple[dict, str, list[str]]:
    """A scenario with its ``extends`` chain merged: (data, label, where each event was written).

    The chain is followed in a loop, not by recursion, up to ``MAX_EXTENDS`` files; a
    file met twice (by any path) is a cycle."""
    chain: list[tuple[dict, str]] = []
    seen: dict[tuple[int, int], str] = {}
    while True:
        path, label = _locate(ref, base_dir)
        ident = _file_identity(path)
        if ident in seen:
            names = " -> ".join([*(lbl for _, lbl in chain), label])
            raise CorridorInputError(f"{chain[0][1]}: extends forms a cycle ({names}); remove one extends")
        if len(chain) >= MAX_EXTENDS:
            raise CorridorInputError(f"{chain[0][1]}: extends goes through more than {MAX_EXTENDS} files; extend a scenario closer to the root")
        seen[ident] = label
        data = read_scenario_yaml(path, label)
        chain.append((data, label))
        if data.get("extends") is None:
            break
        ref, base_dir = data["extends"], path.parent
    merged: dict = {}
    origins: list[str] = []
    for data, label in reversed(chain):  # from the root scenario down to the file asked for
        merged = merge_variant(merged, data, label, origins)
    return merged, chain[0][1], origins


def merge_variant(parent: dict, child: dict, label: str = "variant", origins: list[str] | None = None) -> dict:
    """A variant's data merged onto its parent's: everything key by key, events by id (an
    event with a parent's id replaces the keys it gives; a new id is added). ``origins``,
    if given, tracks where each event of the result was written (for error messages)."""
    merged = _deep_merge(parent, {k: v for k, v in child.items() if k != "events"})
    events = list(parent.get("events") or [])
    origins = origins if origins is not None else [""] * len(events)
    by_id = {e["id"]: i for i, e in enumerate(events)}
    for j, event in enumerate(child.get("events") or []):
        where = f"{label}: events[{j}] ({event['id']})"
        if event["id"] in by_id:  # same id: the child's keys replace the parent's
            i = by_id[event["id"]]
            events[i], origins[i] = {**events[i], **event}, where
        else:
            by_id[event["id"]] = len(events)
            events.append(event)
            origins.append(where)
    merged["events"] = events
    return merged


def load_raw(ref: str, base_dir: Path | None, chain: tuple[str, ...] = ()) -> tuple[dict, str]:
    data, label, _ = _resolve(ref, base_dir)
    return data, label


def load_scenario(ref: str | Path) -> Scenario:
    """Load a bundled scenario by name or a YAML file by path, resolving ``extends``."""
    data, label, origins = _resolve(str(ref))
    data = {k: v for k, v in data.items() if k != "extends"}
    return validate_resolved(data, label, origins)


def scenario_descriptions() -> list[tuple[str, str]]:
    out = []
    for name in bundled_names():
        data, _ = load_raw(name, None, ())
        out.append((name, str(data.get("description", "")).strip().splitlines()[0]))
    return out
