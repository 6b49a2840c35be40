"""What every mechanism module has: its parameters, its step, and its outputs."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from corridor.engine import Simulation

COUNT, MONEY, LEVEL = "count", "money", "level"  # counts and money are scaled to real people


class MechanismParams(BaseModel):
    """Parameter schema of one mechanism: bounds in the schema, units in the names."""

    model_config = ConfigDict(extra="forbid")


class Mechanism:
    """A mechanism of MODEL.md. The engine calls, each month and in module order:
    ``begin_month`` (update aggregate state), ``max_decision_term`` and ``decision_terms``
    (bound, then add to, the log-odds of leaving of the persons who may leave this
    month) and ``step`` (state transitions)."""

    name: ClassVar[str]
    mechanism_id: ClassVar[str]
    Params: ClassVar[type[MechanismParams]]
    outputs: ClassVar[dict[str, str]] = {}

    def init(self, sim: Simulation) -> None:
        """Set up module state once the population exists."""

    def begin_month(self, sim: Simulation, t: int) -> None:
        """Update aggregate state (prices, wages, perceptions) before decisions."""

    def decision_terms(self, sim: Simulation, t: int, persons: np.ndarray, logit: np.ndarray) -> None:
        """Add this mechanism's term to the monthly log-odds of leaving of ``persons``."""

    def max_decision_term(self, sim: Simulation, t: int) -> float:
        """An upper bound, this month, of this mechanism's term over everyone who may
        leave. Their sum bounds everyone's chance of leaving, which makes the thinning
        of M5 exact; a module that adds a term must bound it."""
        return 0.0

    def step(self, sim: Simulation, t: int) -> None:
        """State transitions of the month."""
