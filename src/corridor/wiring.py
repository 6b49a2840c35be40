"""The data flow between mechanisms, derived from their declarations and checked.

``check_wiring`` runs when a simulation starts. It refuses:
- two owners of one shared aggregate, or of one output;
- a read of an aggregate that nobody provides, of a parameter group or person
  array that does not exist, or an output total made of outputs nobody records;
- a read whose declared lag contradicts the order of the month: a mechanism that
  reads an aggregate after its owner wrote it this month must declare ``lag=0``,
  one that reads it before must declare ``lag=1`` (it sees last month's value).

The order of ``MECHANISMS`` therefore follows from the declarations: reordering
the mechanisms so that a same-month read would come before its write fails here.
``architecture_markdown`` renders the declarations as docs/architecture.md.
"""

from __future__ import annotations

import dataclasses

from corridor.context import DeclarationError
from corridor.mechanisms.base import Declarations, Output, Phase, Provides

ENGINE = "engine"
# what the engine itself provides: the outcome of the decision to leave
ENGINE_PROVIDES = (
    Provides("candidates", Phase.DRAW, "persons whose draw fell under the thinning cap (the only ones who can leave)"),
    Provides("leavers", Phase.DRAW, "persons who decided to leave this month (before financing)"),
    Provides("p_leave", Phase.DRAW, "chance of leaving of each candidate of the thinning"),
    Provides("leave_cap", Phase.DRAW, "the bound on anyone's chance of leaving this month (exact thinning)"),
)


@dataclasses.dataclass
class Wiring:
    """The checked data flow of a list of mechanisms."""

    declarations: list[Declarations]
    owner: dict[str, str]  # aggregate -> owner
    provided: dict[str, Provides]
    readers: dict[str, list[tuple[str, Phase, int]]]  # aggregate -> (mechanism, phase, lag)

    def reads(self, name: str) -> set[tuple[str, Phase]]:
        """(aggregate, phase) of every read mechanism ``name`` declares."""
        return {(r.name, r.phase) for r in self._decl(name).reads}

    def writable(self, name: str) -> set[str]:
        return {a for a, o in self.owner.items() if o == name}

    def _decl(self, name: str) -> Declarations:
        return next(d for d in self.declarations if d.name == name)


def _position(phase: Phase, index: int) -> tuple[int, int]:
    return int(phase), index


def check_wiring(mechanisms, population_fields, parameter_groups, extra_outputs=()) -> Wiring:
    """Check the declarations of ``mechanisms`` (in run order); return the data flow."""
    decls = [m.declarations() for m in mechanisms]
    index = {d.name: i for i, d in enumerate(decls)}
    if len(index) != len(decls):
        raise DeclarationError("two mechanisms share a name; give each its own")
    owner: dict[str, str] = {p.name: ENGINE for p in ENGINE_PROVIDES}
    provided = {p.name: p for p in ENGINE_PROVIDES}
    for d in decls:
        for p in d.provides:
            if p.name in owner:
                raise DeclarationError(f"aggregate '{p.name}' is provided by both '{owner[p.name]}' and '{d.name}'")
            owner[p.name], provided[p.name] = d.name, p
    readers: dict[str, list] = {name: [] for name in owner}
    for d in decls:
        _check_persons(d, population_fields)
        _check_parameters(d, parameter_groups)
        for r in d.reads:
            if r.name not in owner:
                raise DeclarationError(f"mechanism '{d.name}' reads '{r.name}', which no mechanism provides")
            if owner[r.name] == d.name:
                raise DeclarationError(f"mechanism '{d.name}' declares a read of its own aggregate '{r.name}'")
            _check_lag(d.name, r, provided[r.name], owner[r.name], index)
            readers[r.name].append((d.name, r.phase, r.lag))
    _check_outputs(decls, extra_outputs)
    return Wiring(decls, owner, provided, readers)


def _check_lag(reader: str, r, p: Provides, owner: str, index: dict[str, int]) -> None:
    w = _position(p.phase, index.get(owner, 0))
    here = _position(r.phase, index[reader])
    lag = 0 if w < here else 1
    if r.lag != lag:
        when = "earlier" if lag == 0 else "later"
        raise DeclarationError(
            f"mechanism '{reader}' reads '{r.name}' in {r.phase.name.lower()} with lag={r.lag}, but '{owner}' writes it "
            f"{when} in the month ({p.phase.name.lower()}): declare lag={lag} or reorder the mechanisms"
        )


def _check_persons(d: Declarations, population_fields) -> None:
    for name in d.persons.used:
        if name not in population_fields:
            raise DeclarationError(f"mechanism '{d.name}' uses person array '{name}', which the population does not have")


def _check_parameters(d: Declarations, parameter_groups) -> None:
    for group in d.reads_parameters:
        if group not in parameter_groups or group == d.name:
            raise DeclarationError(f"mechanism '{d.name}' reads parameter group '{group}', which is not another mechanism's")


def _check_outputs(decls: list[Declarations], extra_outputs) -> None:
    seen: dict[str, str] = {o.name: ENGINE for o in extra_outputs}
    for d in decls:
        for o in d.outputs:
            if o.name in seen:
                raise DeclarationError(f"output '{o.name}' is declared by both '{seen[o.name]}' and '{d.name}'")
            seen[o.name] = d.name
    for d in decls:
        for o in d.outputs:
            for part in o.total_of:
                if part not in seen:
                    raise DeclarationError(f"output '{o.name}' of '{d.name}' totals '{part}', which nobody records")


# ---------------------------------------------------------------- documentation


def _cell(items) -> str:
    items = list(items)
    return ", ".join(items) if items else "-"


def _read_label(r) -> str:
    return f"`{r.name}`" + (" (last month's)" if r.lag else "")


def architecture_markdown(wiring: Wiring, outputs: dict[str, Output]) -> str:
    """docs/architecture.md: who owns, reads and writes what, from the declarations."""
    lines = [
        "# Architecture: what each mechanism owns, reads and writes",
        "",
        "Generated from the mechanisms' declarations by `python -m corridor.architecture`;",
        "a test fails if this file and the declarations disagree. The engine checks the",
        "declarations when a simulation starts (`corridor.wiring`), and the test suite runs",
        "every scenario in strict mode, where any undeclared access is an error.",
        "",
        "A month runs phase by phase, and within a phase in the order of the table:",
        "`begin_month` (aggregates), `decision_terms` (the log-odds of leaving), the engine",
        "draws who leaves, `step` (state transitions).",
        "",
        "## Mechanisms",
        "",
        "| order | mechanism | id (docs/odd.md) | owns (shared aggregates) | reads (of others) | person arrays read | person arrays written | parameters of others | outputs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, d in enumerate(wiring.declarations, start=1):
        reads_only = [a for a in d.persons.reads if a not in d.persons.writes]
        lines.append(
            f"| {i} | `{d.name}` | {d.spec} | {_cell(f'`{p.name}`' for p in d.provides)} | "
            f"{_cell(_read_label(r) for r in d.reads)} | {_cell(f'`{a}`' for a in reads_only)} | "
            f"{_cell(f'`{a}`' for a in d.persons.writes)} | {_cell(f'`{g}`' for g in d.reads_parameters)} | "
            f"{len(d.outputs)} |"
        )
    lines += [
        "",
        "## Shared aggregates",
        "",
        "| aggregate | owner | written in | read by | meaning |",
        "|---|---|---|---|---|",
    ]
    for name in sorted(wiring.owner):
        p = wiring.provided[name]
        readers = [f"`{m}` ({ph.name.lower()}{', last month' if lag else ''})" for m, ph, lag in wiring.readers[name]]
        lines.append(f"| `{name}` | `{wiring.owner[name]}` | {p.phase.name.lower()} | {_cell(readers)} | {p.description} |")
    lines += ["", "## Person arrays", "", "| array | written by | read by |", "|---|---|---|"]
    arrays = sorted({a for d in wiring.declarations for a in d.persons.used})
    for a in arrays:
        writers = [f"`{d.name}`" for d in wiring.declarations if a in d.persons.writes]
        readers = [f"`{d.name}`" for d in wiring.declarations if a in d.persons.reads and a not in d.persons.writes]
        lines.append(f"| `{a}` | {_cell(writers)} | {_cell(readers)} |")
    lines += [
        "",
        "## Outputs",
        "",
        "Flows are summed over a period, stocks take the period's last month, levels are averaged.",
        "Flows and stocks counted on agents are scaled to people (x people per agent).",
        "",
        "| output | recorded by | kind | unit | scaled | meaning |",
        "|---|---|---|---|---|---|",
    ]
    by = {o.name: d.name for d in wiring.declarations for o in d.outputs}
    for name, o in outputs.items():
        meaning = o.description + (f" (total of {', '.join(o.total_of)})" if o.total_of else "")
        lines.append(
            f"| `{name}` | `{by.get(name, ENGINE)}` | {o.kind} | {o.unit} | {'yes' if o.scaled else 'no'} | {meaning} |"
        )
    return "\n".join(lines) + "\n"
