"""The engine: builds the population, orders the mechanisms, steps the months.

It owns no behaviour of its own. Each month it applies the scheduled events
(M11), lets every mechanism update its aggregates, collects every mechanism's
term of the log-odds of leaving for the persons who may leave, draws the
decisions, runs every mechanism's transitions in order and records the stocks.
"""

from __future__ import annotations

import time
from collections import defaultdict
from types import SimpleNamespace

import numba
import numpy as np

from corridor.kernels import count_states, logistic
from corridor.mechanisms import MECHANISMS
from corridor.mechanisms.base import COUNT, LEVEL, MONEY
from corridor.population import build_population
from corridor.results import Results
from corridor.rng import Streams
from corridor.scenario import Scenario, month_index
from corridor.states import N_STATES

BOUND_MARGIN = 1e-9  # log-odds: the terms are summed in another order than their bounds


class Simulation:
    """One run of a scenario with a number of agents and a seed."""

    def __init__(
        self, scenario: Scenario, agents: int = 20_000, seed: int = 0, record_events: bool = False, threads: int = 1
    ):
        if agents < 100:
            raise ValueError("agents must be at least 100")
        # one thread by default: ensembles run one simulation per core, and
        # oversubscribed numba threads spin; results never depend on the count
        self.threads = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
        numba.set_num_threads(self.threads)
        self.scenario = scenario
        self.n_months = scenario.n_months
        self.seed = int(seed)
        self.agents = int(agents)
        self.record_events = record_events
        self.p = SimpleNamespace(
            **{m: SimpleNamespace(**{k: e.value for k, e in g.items()}) for m, g in scenario.parameters.items()}
        )
        self.streams = Streams(seed)
        self.modules = [cls() for cls in MECHANISMS]
        self.module = {m.name: m for m in self.modules}
        self.pop, _ = build_population(self.agents, self.n_months, self.p.demography, self.seed)
        self.draws = np.empty(self.pop.capacity, dtype=np.float64)  # scratch for the person passes
        d = self.p.demography
        self.scale = (d.real_origin_population + d.initial_uk_diaspora_persons) / self.agents
        self.output_kind = {"population_total": COUNT}
        for m in self.modules:
            self.output_kind.update(m.outputs)
        self.series = {name: np.zeros(self.n_months) for name in self.output_kind}
        self.stocks = np.zeros((self.n_months, N_STATES), dtype=np.int64)
        self.events = self._schedule_events()
        self.life_events: list[np.ndarray] = []
        self.t = 0
        self.wall_seconds = 0.0
        for m in self.modules:
            m.init(self)

    def _schedule_events(self) -> dict[int, list[tuple[str, str, float]]]:
        by_month: dict[int, list] = defaultdict(list)
        for event in self.scenario.events:
            if event.enabled:
                t = month_index(self.scenario.start, event.month)
                for key, value in event.set.items():
                    module, name = key.split(".", 1)
                    by_month[t].append((module, name, value))
        return by_month

    # ------------------------------------------------------------ recording

    def count(self, name: str, value: float) -> None:
        """Add to this month's value of an output (agents, or GBP summed over agents)."""
        self.series[name][self.t] += value

    def level(self, name: str, value: float) -> None:
        """Set this month's value of a level output (a price, a rate)."""
        self.series[name][self.t] = value

    # ------------------------------------------------------------ running

    def run(self, progress=None) -> Results:
        start = time.perf_counter()
        for t in range(self.n_months):
            self.step(t)
            if progress is not None:
                progress(t + 1, self.n_months)
        self.wall_seconds = time.perf_counter() - start
        return self.results()

    def step(self, t: int) -> None:
        self.t = t
        prev_state = self.pop.state.copy() if self.record_events else None
        for module, name, value in self.events.get(t, ()):
            setattr(getattr(self.p, module), name, value)
        for m in self.modules:
            m.begin_month(self, t)
        # exact thinning: nobody's chance of leaving exceeds the bound, so only draws under it can succeed
        bound = sum(m.max_decision_term(self, t) for m in self.modules)
        self.leave_cap = min(1.0, float(logistic(bound + BOUND_MARGIN)))
        persons, u = self.module["family"].candidates(self, t, self.leave_cap)
        logit = np.zeros(persons.shape[0])
        for m in self.modules:
            m.decision_terms(self, t, persons, logit)
        self.p_leave = logistic(logit)  # of the candidates; M5 checks it against the thinning cap
        self.leavers = persons[u < self.p_leave]
        for m in self.modules:
            m.step(self, t)
        self.stocks[t] = count_states(self.pop.state, N_STATES)
        self.series["population_total"][t] = self.stocks[t, 1:].sum()
        if prev_state is not None:
            self._record_life_events(t, prev_state)

    def _record_life_events(self, t: int, prev_state: np.ndarray) -> None:
        changed = np.flatnonzero(prev_state != self.pop.state)
        block = np.empty((changed.size, 5), dtype=np.int32)
        block[:, 0] = t
        block[:, 1] = changed
        block[:, 2] = prev_state[changed]
        block[:, 3] = self.pop.state[changed]
        block[:, 4] = self.pop.route[changed]
        self.life_events.append(block)

    def results(self) -> Results:
        return Results.from_simulation(self)


def run(scenario: Scenario | str, agents: int = 20_000, seed: int = 0, **kwargs) -> Results:
    """Run a scenario (object, bundled name or YAML path) and return its results."""
    from corridor.scenario import load_scenario

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return Simulation(scenario, agents=agents, seed=seed, **kwargs).run()


__all__ = ["Simulation", "run", "COUNT", "MONEY", "LEVEL"]
