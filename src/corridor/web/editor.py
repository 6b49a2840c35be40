"""The scenario editor's model: controls from the parameter schema, edits resolved like a YAML file.

Controls are generated from the JSON schema of each mechanism's pydantic
``Params`` model (``corridor.mechanisms.PARAMETER_MODELS``): a number field gets
a numeric input with its bounds, an integer a stepped one, a boolean a checkbox
and a ``Literal`` category a choice. The unit is the one the parameter's type
declares in that schema; priors are written as ``corridor scenarios show`` writes them.

An edit is a base (a bundled scenario, or an uploaded file kept in the runs
directory) plus changed values and the full list of events. It is turned into
the variant YAML a user would write (``extends:``, the changed values, the
changed events) and resolved by the scenario module's own merge and validation,
so the form refuses exactly what ``corridor run`` refuses, with the same message.
"""

from __future__ import annotations

import copy
import hashlib
import re
import sys
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from corridor.errors import CorridorInputError
from corridor.mechanisms import MECHANISMS
from corridor.paramdoc import mechanism_order, prior_text
from corridor.scenario import (
    Scenario,
    bundled_names,
    load_raw,
    merge_variant,
    read_scenario_yaml,
    split_key,
    validate_resolved,
)

MAX_UPLOAD_BYTES = 256 * 1024
UPLOAD_REF = re.compile(r"^upload:([0-9a-f]{12})$")
SCENARIO_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
FIELD_IN_MESSAGE = re.compile(r"parameters\.([a-z_]+)\.([a-z0-9_]+)")


class ScenarioEdit(BaseModel):
    """What the page sends: a base, a name, changed parameter values and the events."""

    model_config = ConfigDict(extra="forbid")
    base: str = Field(description="bundled scenario name, or upload:<id> of an uploaded file")
    name: str | None = Field(default=None, description="name of the edited scenario (and of its YAML file)")
    description: str | None = None
    values: dict[str, float | int | bool | str] = Field(default_factory=dict, description="module.name -> value")
    events: list[dict[str, Any]] | None = Field(default=None, description="the full event list; None keeps the base's")


@dataclass
class EditedScenario:
    scenario: Scenario
    yaml_text: str  # a file `corridor run` accepts and that resolves to ``scenario``
    base: str


# ---------------------------------------------------------------- schema


def _control(prop: dict) -> dict:
    """The form control of one JSON-schema property."""
    if "enum" in prop:
        return {"control": "category", "options": list(prop["enum"])}
    kind = prop.get("type")
    if kind == "boolean":
        return {"control": "boolean"}
    control = {"control": "integer" if kind == "integer" else "number"}
    for bound in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if bound in prop:
            control[bound] = prop[bound]
    return control


def _module_title(cls) -> str:
    doc = (sys.modules[cls.__module__].__doc__ or "").strip().splitlines()
    return doc[0].removeprefix(f"{cls.spec} ").rstrip(".") if doc else cls.name


@cache
def parameter_schema() -> list[dict]:
    """Modules in mechanism order, each with its parameters' controls, units and descriptions."""
    modules = []
    for cls in sorted(MECHANISMS, key=lambda c: mechanism_order(c.spec)):
        props = cls.Params.model_json_schema()["properties"]
        fields = []
        for name, field in cls.Params.model_fields.items():
            fields.append(
                {
                    "key": f"{cls.name}.{name}",
                    "name": name,
                    "unit": props[name].get("unit", ""),
                    "description": field.description or "",
                    **_control(props[name]),
                }
            )
        modules.append({"module": cls.name, "mechanism": cls.spec, "title": _module_title(cls), "parameters": fields})
    return modules


def editor_view(scenario: Scenario, base: str) -> dict:
    """Everything the editor shows of a scenario: controls with values, priors and sources; events."""
    changed_by = {}
    for event in scenario.events:
        for key in event.set:
            changed_by.setdefault(key, []).append(event.id)
    modules = []
    for module in parameter_schema():
        entries = scenario.parameters[module["module"]]
        params = []
        for p in module["parameters"]:
            e = entries[p["name"]]
            params.append({**p, "value": e.value, "prior": prior_text(e.prior), "source": e.source, "events": changed_by.get(p["key"], [])})
        modules.append({**module, "parameters": params})
    return {
        "base": base,
        "name": scenario.name,
        "description": scenario.description,
        "start": scenario.start,
        "end": scenario.end,
        "sha256": scenario.sha256(),
        "modules": modules,
        "events": [e.model_dump(mode="json") for e in scenario.events],
    }


def provenance_rows(scenario: Scenario) -> list[dict]:
    """The parameter provenance table: every parameter with value, unit, prior and source."""
    return [
        {k: p[k] for k in ("key", "value", "unit", "prior", "source", "events")} | {"mechanism": m["mechanism"]}
        for m in editor_view(scenario, "")["modules"]
        for p in m["parameters"]
    ]


def field_of(message: str) -> str | None:
    """The parameter (module.name) a validation message is about, to mark it in the form."""
    m = FIELD_IN_MESSAGE.search(message)
    return f"{m.group(1)}.{m.group(2)}" if m else None


# ---------------------------------------------------------------- bases


def base_data(base: str, uploads: Path) -> dict:
    """The raw (merged) scenario mapping an edit starts from (a copy: callers may change it)."""
    return copy.deepcopy(_base_data(base, uploads))


@lru_cache(maxsize=64)
def _base_data(base: str, uploads: Path) -> dict:
    # read once: bundled scenarios do not change while serving, and an upload is named by its content
    m = UPLOAD_REF.match(base)
    if m:
        path = uploads / f"{m.group(1)}.yaml"
        if not path.is_file():
            raise CorridorInputError(f"base '{base}': no such upload; upload the file again")
        return read_scenario_yaml(path, path.name)
    if base not in bundled_names():
        raise CorridorInputError(f"base '{base}': not a bundled scenario; use one of: {', '.join(bundled_names())}")
    return load_raw(base, None, ())[0]


def load_base(base: str, uploads: Path) -> Scenario:
    return validate_resolved(base_data(base, uploads), base)


# ---------------------------------------------------------------- edits


def _event_changes(base_events: list[dict], events: list[dict]) -> list[dict]:
    """The ``events:`` of a variant: new or changed events in full; removed ones disabled."""
    filled = lambda e: {"note": "", "enabled": True, **e}  # noqa: E731
    before = {e.get("id"): filled(e) for e in base_events}
    out = [e for e in events if before.get(e.get("id")) != filled(e)]
    ids = {e.get("id") for e in events}
    out += [{"id": i, "enabled": False} for i, e in before.items() if i not in ids and e["enabled"]]
    return out


def _changed_values(edit: ScenarioEdit, base: dict) -> dict[str, dict[str, dict]]:
    parameters: dict[str, dict[str, dict]] = {}
    for key, value in edit.values.items():
        module, name = split_key(key, "parameter")
        entry = base.get("parameters", {}).get(module, {}).get(name, {})
        if not isinstance(entry, dict) or entry.get("value") != value:
            parameters.setdefault(module, {})[name] = {"value": value}
    return parameters


def resolve_edit(edit: ScenarioEdit, uploads: Path) -> EditedScenario:
    """Validate an edit as ``corridor run`` validates a file; its YAML and resolved scenario."""
    base = base_data(edit.base, uploads)
    parameters = _changed_values(edit, base)
    events = _event_changes(base.get("events") or [], edit.events) if edit.events is not None else []
    # an unchanged scenario keeps its name; an edited one is named apart from its base
    name = edit.name or str(base.get("name", "scenario")) + ("-edited" if parameters or events else "")
    if not SCENARIO_NAME.match(name):
        raise CorridorInputError(f"name '{name}': use letters, digits, '-' and '_' only (it names the YAML file)")
    variant: dict[str, Any] = {"name": name}
    if not UPLOAD_REF.match(edit.base):
        variant["extends"] = edit.base
    variant["description"] = edit.description if edit.description is not None else base.get("description", "")
    if parameters:
        variant["parameters"] = parameters
    if events:
        variant["events"] = events
    scenario = validate_resolved(merge_variant(base, variant, f"{name}.yaml"), f"{name}.yaml")
    if "extends" not in variant:  # an upload: the file must stand alone, so write it in full
        variant = scenario.model_dump(mode="json")
    return EditedScenario(scenario, yaml.safe_dump(variant, sort_keys=False, allow_unicode=True, width=120), edit.base)


def store_upload(content: bytes, filename: str, uploads: Path) -> str:
    """Validate an uploaded scenario file like `corridor run FILE`; keep it in full; its base ref."""
    label = Path(filename or "upload.yaml").name or "upload.yaml"
    if len(content) > MAX_UPLOAD_BYTES:
        raise CorridorInputError(f"{label}: {len(content):,} bytes is over the upload limit of {MAX_UPLOAD_BYTES:,}; upload a scenario file")
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise CorridorInputError(f"{label}: not UTF-8 text; upload a YAML scenario file") from None
    staged = uploads / f".{hashlib.sha256(content).hexdigest()[:16]}.partial"
    staged.write_text(text)
    try:
        data = read_scenario_yaml(staged, label)
    finally:
        staged.unlink(missing_ok=True)
    parent = data.get("extends")
    if parent is not None and parent not in bundled_names():
        raise CorridorInputError(
            f"{label}: extends: '{parent}' is not a bundled scenario; the workbench reads no other files, "
            f"so extend one of: {', '.join(bundled_names())}"
        )
    merged = merge_variant(load_raw(parent, None, ())[0], data, label) if parent else data
    scenario = validate_resolved({k: v for k, v in merged.items() if k != "extends"}, label)
    ref = scenario.sha256()[:12]
    text = yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=120)
    (uploads / f"{ref}.yaml").write_text(text)
    return f"upload:{ref}"
