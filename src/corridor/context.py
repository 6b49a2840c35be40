"""What one mechanism sees of a simulation: its ``Context``.

A mechanism never touches the ``Simulation`` object. The engine gives each
mechanism a context holding its own parameters, the parameter groups it declared
it reads, the population, the shared aggregates (an ``Exchange`` whose names are
fixed by the declarations), its own random streams and a recorder for its own
outputs. In strict mode (the test suite) the population and the exchange are
replaced by views that refuse anything the mechanism did not declare.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from corridor.mechanisms.base import Phase
from corridor.rng import Streams, uniforms


class DeclarationError(Exception):
    """A mechanism touched something it did not declare, or the declarations contradict each other."""


class Clock:
    """The month the simulation is in, and the phase of the month (shared by every recorder)."""

    __slots__ = ("t", "phase")

    def __init__(self):
        self.t = 0
        self.phase = Phase.INIT


def make_exchange(names) -> object:
    """An object with exactly the declared aggregates as attributes (slots): assigning
    any other name fails, so no mechanism can hang undeclared state on it."""
    cls = type("Exchange", (), {"__slots__": tuple(sorted(names)), "__repr__": _exchange_repr})
    return cls()


def _exchange_repr(self) -> str:
    return f"Exchange({', '.join(self.__slots__)})"


class ExchangeView:
    """Strict-mode view of the exchange for one mechanism: its own aggregates, and the
    aggregates of others only in the phases in which it declared it reads them."""

    def __init__(self, exchange, owner: str, reads: set[tuple[str, Phase]], writable: set[str], clock: Clock):
        object.__setattr__(self, "_exchange", exchange)
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_reads", reads)
        object.__setattr__(self, "_writable", writable)
        object.__setattr__(self, "_clock", clock)

    def __getattr__(self, name):
        if name not in self._writable and (name, self._clock.phase) not in self._reads:
            raise DeclarationError(
                f"mechanism '{self._owner}' reads aggregate '{name}' in {self._clock.phase.name.lower()} "
                "without declaring that read in `reads`"
            )
        return getattr(self._exchange, name)

    def __setattr__(self, name, value):
        if name not in self._writable:
            raise DeclarationError(f"mechanism '{self._owner}' writes aggregate '{name}' that it does not provide")
        setattr(self._exchange, name, value)


class PopulationView:
    """Strict-mode view of the population for one mechanism: only the declared person arrays."""

    # population methods, and the arrays they read
    METHODS = {"age_years": ("birth_month",), "capacity": (), "n_households": ()}

    def __init__(self, pop, owner: str, allowed: set[str]):
        self._pop, self._owner, self._allowed = pop, owner, allowed

    def __getattr__(self, name):
        needs = self.METHODS.get(name, (name,))
        missing = [a for a in needs if a not in self._allowed]
        if missing:
            raise DeclarationError(
                f"mechanism '{self._owner}' uses person array '{missing[0]}' without declaring it in `persons`"
            )
        return getattr(self._pop, name)


class Recorder:
    """Records one mechanism's declared outputs for the current month (per agent; scaled in results)."""

    __slots__ = ("_series", "_clock", "_owner")

    def __init__(self, series: dict[str, np.ndarray], clock: Clock, owner: str):
        self._series, self._clock, self._owner = series, clock, owner

    def add(self, name: str, value: float) -> None:
        """Add to this month's value of an output (a count or an amount)."""
        try:
            self._series[name][self._clock.t] += value
        except KeyError:
            raise DeclarationError(f"mechanism '{self._owner}' records '{name}', which it does not declare") from None

    def set(self, name: str, value: float) -> None:
        """Set this month's value of an output (a price, a rate, an amount decided once a month)."""
        try:
            self._series[name][self._clock.t] = value
        except KeyError:
            raise DeclarationError(f"mechanism '{self._owner}' records '{name}', which it does not declare") from None


class MechanismStreams:
    """The random streams of one mechanism: ``purpose`` names a stream within it."""

    def __init__(self, streams: Streams, prefix: str):
        self._streams, self._prefix = streams, prefix
        self._keys: dict[str, np.uint64] = {}

    def key(self, purpose: str) -> np.uint64:
        k = self._keys.get(purpose)
        if k is None:
            k = self._keys[purpose] = self._streams.key(f"{self._prefix}.{purpose}")
        return k

    def uniform(self, purpose: str, month: int, persons: np.ndarray) -> np.ndarray:
        """Uniforms for the given person indices."""
        return uniforms(self.key(purpose), month, persons.astype(np.int64, copy=False))

    def uniform_all(self, purpose: str, month: int, n: int) -> np.ndarray:
        """Uniforms for persons 0..n-1."""
        return self._streams.uniform_all(f"{self._prefix}.{purpose}", month, n)

    def normal(self, purpose: str, month: int, persons: np.ndarray) -> np.ndarray:
        """Standard normals (Box-Muller on two streams of this purpose)."""
        return self._streams.normal(f"{self._prefix}.{purpose}", month, persons)


class Context:
    """What one mechanism sees: parameters, population, shared aggregates, streams, outputs."""

    def __init__(self, *, name, p, params, pop, shared, streams, out, scale, threads, scratch, scenario):
        self.name = name  # the mechanism's name
        self.p = p  # its own parameters (events change them in place)
        self.params = params  # the parameter groups of others it declared it reads
        self.pop = pop  # the population (a checked view in strict mode)
        self.shared = shared  # the shared aggregates (a checked view in strict mode)
        self.streams = streams  # its own random streams
        self.out = out  # its outputs
        self.scale = scale  # real persons per agent
        self.threads = threads  # threads for the person passes
        self.scratch = scratch  # a float64 buffer of one value per person slot, for the person passes
        self.scenario = scenario  # the calendar: month labels and months of the year


def parameter_groups(params: dict, groups) -> SimpleNamespace:
    return SimpleNamespace(**{g: params[g] for g in groups})
