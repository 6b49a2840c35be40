"""What a mechanism declares, and the interface the engine calls.

A mechanism is one process of docs/odd.md. Like a Starsim module or a LASER
component, it declares everything it touches, so that a reader of one file sees
what it depends on and what it may change:

- ``Params``: its parameters (a pydantic model; typed, with units and bounds);
- ``outputs``: the columns it records, each with its kind, unit and meaning;
- ``persons``: the person arrays (``Population`` fields) it reads and writes;
- ``provides``: the shared aggregates it owns (one owner per aggregate), with the
  phase of the month in which it writes them;
- ``reads``: the aggregates of others it reads, with the phase and whether it
  sees this month's value or last month's (``lag``);
- ``reads_parameters``: the parameter groups of other mechanisms it reads
  (policy levers act through the mechanisms they change).

The engine checks the declarations at start-up (``corridor.wiring``): a read of
something nobody provides, two owners of one aggregate, or a read whose lag
contradicts the order of the mechanisms is an error. In strict mode (used by the
test suite) every access is checked against them at run time as well.

Each month the engine calls, phase by phase and within a phase in module order:
``begin_month`` (aggregates), ``max_decision_term`` and ``decision_terms`` (the
decision to leave), then draws who leaves, then ``step`` (state transitions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from corridor.context import Context


class Phase(IntEnum):
    """The parts of a month, in the order the engine runs them."""

    INIT = 0  # once, before the first month
    BEGIN = 1  # begin_month: aggregates (prices, wages, perceptions)
    DECIDE = 2  # max_decision_term and decision_terms: the log-odds of leaving
    DRAW = 3  # the engine draws who leaves
    STEP = 4  # step: state transitions


Kind = Literal["flow", "stock", "level"]
FLOW: Kind = "flow"  # a count or an amount over the month; summed over time
STOCK: Kind = "stock"  # how many at the end of the month; the last month of a period stands for it
LEVEL: Kind = "level"  # a price, a rate, a share; averaged over time
AGGREGATION = {FLOW: "sum", STOCK: "last", LEVEL: "mean"}


@dataclass(frozen=True)
class Output:
    """One output column. Flows and stocks are counted on agents and scaled to people
    (``per_agent``); levels, and amounts the model keeps in real units (an investment
    in GBP), are not."""

    name: str
    kind: Kind
    unit: str
    description: str
    per_agent: bool | None = None  # default: True for flows and stocks, False for levels
    total_of: tuple[str, ...] = ()  # a total of other outputs (possibly of other mechanisms)

    @property
    def scaled(self) -> bool:
        return self.kind != LEVEL if self.per_agent is None else self.per_agent

    @property
    def aggregation(self) -> str:
        return AGGREGATION[self.kind]

    def describe(self) -> dict:
        return {
            "kind": self.kind,
            "unit": self.unit,
            "description": self.description,
            "aggregation": self.aggregation,
            "scaled_to_people": self.scaled,
        }


@dataclass(frozen=True)
class Provides:
    """A shared aggregate this mechanism owns and writes in ``phase`` (and sets up in init)."""

    name: str
    phase: Phase
    description: str


@dataclass(frozen=True)
class Reads:
    """An aggregate of another mechanism read in ``phase``. ``lag=1``: the value seen
    is last month's, because the owner writes it later in the month."""

    name: str
    phase: Phase
    lag: int = 0


@dataclass(frozen=True)
class PersonArrays:
    """Person arrays (fields of ``Population``) a mechanism reads and writes."""

    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()

    @property
    def used(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.reads, *self.writes)))


class MechanismParams(BaseModel):
    """Parameter schema of one mechanism: typed, with units and bounds in the schema."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class Declarations:
    """What one mechanism declares (a view of its class attributes, for the checks and docs)."""

    name: str
    spec: str
    outputs: tuple[Output, ...]
    persons: PersonArrays
    provides: tuple[Provides, ...]
    reads: tuple[Reads, ...]
    reads_parameters: tuple[str, ...]
    phases: tuple[Phase, ...] = field(default_factory=tuple)


class Mechanism:
    """A mechanism of docs/odd.md (see the module docstring for what it declares)."""

    name: ClassVar[str]  # one name: file, class, parameter group, random streams, docs
    spec: ClassVar[str]  # its id in docs/odd.md (M1-M11; D for demography)
    Params: ClassVar[type[MechanismParams]]
    outputs: ClassVar[tuple[Output, ...]] = ()
    persons: ClassVar[PersonArrays] = PersonArrays()
    provides: ClassVar[tuple[Provides, ...]] = ()
    reads: ClassVar[tuple[Reads, ...]] = ()
    reads_parameters: ClassVar[tuple[str, ...]] = ()

    def init(self, ctx: Context) -> None:
        """Set up module state and the initial value of every aggregate it provides."""

    def begin_month(self, ctx: Context, t: int) -> None:
        """Update aggregate state (prices, wages, perceptions) before decisions."""

    def max_decision_term(self, ctx: Context, t: int) -> float:
        """An upper bound, this month, of this mechanism's term over everyone who may
        leave. Their sum bounds everyone's chance of leaving, which makes the thinning
        exact; a module that adds a term must bound it."""
        return 0.0

    def decision_terms(self, ctx: Context, t: int, persons: np.ndarray, logit: np.ndarray) -> None:
        """Add this mechanism's term to the monthly log-odds of leaving of ``persons``."""

    def step(self, ctx: Context, t: int) -> None:
        """State transitions of the month."""

    @classmethod
    def declarations(cls) -> Declarations:
        return Declarations(
            cls.name, cls.spec, cls.outputs, cls.persons, cls.provides, cls.reads, cls.reads_parameters,
            cls.phases_used(),
        )  # fmt: skip

    @classmethod
    def phases_used(cls) -> tuple[Phase, ...]:
        """The phases whose method this mechanism overrides."""
        methods = {
            Phase.INIT: "init",
            Phase.BEGIN: "begin_month",
            Phase.DECIDE: "decision_terms",
            Phase.STEP: "step",
        }
        return tuple(p for p, m in methods.items() if getattr(cls, m) is not getattr(Mechanism, m))
