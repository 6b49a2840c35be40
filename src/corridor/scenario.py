"""Scenarios: YAML files validated by pydantic.

A scenario names every parameter of every mechanism with a value, a prior and a
source, a horizon, and an ``events`` schedule that changes parameters at given
months. ``extends: NAME`` builds a variant from another scenario: its
``parameters`` are merged key by key and its events are added to (or, with the
same ``id``, replace) the parent's.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from corridor.errors import CorridorInputError
from corridor.mechanisms import PARAMETER_MODELS

MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
SEED_FILES = ("000_486404c3d6eb819b.txt", "003_6a42180f8ac45b94.txt")


def parse_month(text: str) -> tuple[int, int]:
    m = MONTH_RE.match(str(text))
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"'{text}' is not a month; write it as YYYY-MM, e.g. 2022-12")
    return int(m.group(1)), int(m.group(2))


def month_index(start: str, month: str) -> int:
    (y0, m0), (y1, m1) = parse_month(start), parse_month(month)
    return (y1 - y0) * 12 + (m1 - m0)


class Prior(BaseModel):
    """A prior distribution for calibration."""

    model_config = ConfigDict(extra="forbid")
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
        needed = {
            "uniform": ("low", "high"),
            "loguniform": ("low", "high"),
            "normal": ("mean", "sd"),
            "lognormal": ("median", "sigma"),
            "beta": ("a", "b"),
            "fixed": (),
        }[self.dist]
        missing = [k for k in needed if getattr(self, k) is None]
        if missing:
            raise ValueError(f"a {self.dist} prior needs {' and '.join(needed)}")
        if self.dist in ("uniform", "loguniform") and not self.low < self.high:
            raise ValueError("a uniform prior needs low < high")
        if self.dist == "loguniform" and self.low <= 0:
            raise ValueError("a loguniform prior needs low > 0")
        return self


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
        ok = v.startswith("assumption:") or ".csv" in v or any(s in v for s in SEED_FILES)
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

    @field_validator("month")
    @classmethod
    def _is_month(cls, v: str) -> str:
        parse_month(v)
        return v


class Scenario(BaseModel):
    """A resolved scenario: every parameter present, events in order."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str
    start: str = "2012-01"
    end: str = "2030-12"
    parameters: dict[str, dict[str, ParameterEntry]]
    events: list[Event] = []

    @field_validator("start", "end")
    @classmethod
    def _is_month(cls, v: str) -> str:
        parse_month(v)
        return v

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
            module, name = _split_key(key, "parameter")
            field = PARAMETER_MODELS[module].model_fields[name]
            data["parameters"][module][name]["value"] = round(float(v)) if field.annotation is int else v
        return validate_resolved(data, origin="override")

    def sha256(self) -> str:
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def _split_key(key: str, what: str) -> tuple[str, str]:
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


def _one_line(exc: ValidationError, where: str) -> CorridorInputError:
    err = exc.errors()[0]
    msg = err["msg"].removeprefix("Value error, ")
    field = _loc(err)
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


def validate_resolved(data: dict, origin: str) -> Scenario:
    """Validate a merged scenario dict: schema, every parameter, events."""
    data = {k: v for k, v in data.items() if k != "extends"}
    _check_parameter_names(data, origin)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise _one_line(exc, origin) from None
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
    if scenario.n_months < 1:
        raise CorridorInputError(f"{origin}: end {scenario.end} is before start {scenario.start}; set end after start")
    _check_events(scenario, origin)
    return scenario


def _check_events(scenario: Scenario, origin: str) -> None:
    ids = set()
    for i, event in enumerate(scenario.events):
        where = f"{origin}: events[{i}] ({event.id})"
        if event.id in ids:
            raise CorridorInputError(f"{where}: duplicate id; give each event its own id")
        ids.add(event.id)
        t = month_index(scenario.start, event.month)
        if not 0 <= t < scenario.n_months:
            raise CorridorInputError(
                f"{where}: month {event.month} is outside the horizon {scenario.start}..{scenario.end}; move it inside"
            )
        for key, value in list(event.set.items()):
            module, name = _split_key(key, f"{where}: set")
            values = {k: e.value for k, e in scenario.parameters[module].items()}
            values[name] = value
            event.set[key] = _check_bounds(module, values, f"{where} sets {key}")[name]


# ---------------------------------------------------------------- loading


def bundled_names() -> list[str]:
    folder = resources.files("corridor") / "scenarios"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def read_yaml(path: Path, label: str | None = None):
    """A YAML file's content, or a one-line CorridorInputError naming the file and the problem."""
    label = label or path.name
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise CorridorInputError(f"{label}: file not found; check the path") from None
    except OSError as exc:
        raise CorridorInputError(f"{label}: cannot read file ({exc.strerror}); check the path and permissions") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise CorridorInputError(f"{label}: malformed YAML{line}: {problem}; fix the syntax") from None
    return data


def _read_yaml(path: Path, label: str) -> dict:
    data = read_yaml(path, label)
    if not isinstance(data, dict):
        raise CorridorInputError(f"{label}: a scenario must be a YAML mapping with name, description, parameters")
    return data


def _locate(ref: str, base_dir: Path | None) -> tuple[Path, str]:
    candidates = []
    if base_dir is not None:
        candidates.append(base_dir / ref)
    candidates.append(Path(ref))
    for c in candidates:
        if c.suffix in (".yaml", ".yml") and c.is_file():
            return c, str(c)
    if ref in bundled_names():
        return Path(str(resources.files("corridor") / "scenarios" / f"{ref}.yaml")), ref
    if ref.endswith((".yaml", ".yml")):
        raise CorridorInputError(f"scenario file '{ref}': file not found; check the path")
    raise CorridorInputError(
        f"scenario '{ref}' not found; give a YAML file or one of: {', '.join(bundled_names())}"
    )


def _merge_events(parent: list, child: list) -> list:
    by_id = {e.get("id"): i for i, e in enumerate(parent) if isinstance(e, dict)}
    merged = list(parent)
    for e in child:
        if isinstance(e, dict) and e.get("id") in by_id:
            merged[by_id[e["id"]]] = {**merged[by_id[e["id"]]], **e}
        else:
            merged.append(e)
    return merged


def _deep_merge(parent: dict, child: dict) -> dict:
    out = copy.deepcopy(parent)
    for key, value in child.items():
        if key == "events":
            out["events"] = _merge_events(out.get("events", []), value or [])
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _load_raw(ref: str, base_dir: Path | None, chain: tuple[str, ...]) -> tuple[dict, str]:
    path, label = _locate(ref, base_dir)
    if str(path) in chain:
        raise CorridorInputError(f"{label}: extends forms a cycle ({' -> '.join(chain)}); remove one extends")
    data = _read_yaml(path, label)
    parent_ref = data.get("extends")
    if parent_ref is None:
        return data, label
    if not isinstance(parent_ref, str):
        raise CorridorInputError(f"{label}: extends must be a scenario name or file path")
    parent, _ = _load_raw(parent_ref, path.parent, (*chain, str(path)))
    return _deep_merge(parent, data), label


def load_scenario(ref: str | Path) -> Scenario:
    """Load a bundled scenario by name or a YAML file by path, resolving ``extends``."""
    data, label = _load_raw(str(ref), None, ())
    data = {k: v for k, v in data.items() if k != "extends"}
    return validate_resolved(data, label)


def scenario_descriptions() -> list[tuple[str, str]]:
    out = []
    for name in bundled_names():
        data, _ = _load_raw(name, None, ())
        out.append((name, str(data.get("description", "")).strip().splitlines()[0]))
    return out
