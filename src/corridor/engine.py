"""The engine: builds the population, wires the mechanisms, steps the months.

It owns no behaviour of its own. Each month it applies the scheduled events
(M11), lets every mechanism update its aggregates, collects every mechanism's
term of the log-odds of leaving for the persons who may leave, draws the
decisions, runs every mechanism's transitions in order and records the stocks.
Mechanisms see the simulation only through their ``Context`` (corridor.context):
what they exchange is declared, checked at start-up (corridor.wiring), and in
strict mode checked at every access.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict

import numba
import numpy as np

from corridor.context import (
    Clock,
    Context,
    DeclarationError,
    ExchangeView,
    MechanismStreams,
    PopulationView,
    Recorder,
    make_exchange,
    parameter_groups,
)
from corridor.kernels import count_states, logistic
from corridor.mechanisms import MECHANISMS, PARAMETER_MODELS
from corridor.mechanisms.base import STOCK, Mechanism, Output, Phase
from corridor.population import Population, build_population
from corridor.results import Results
from corridor.rng import Streams
from corridor.scenario import Scenario, month_index
from corridor.states import IS_IN_UK, N_STATES, STOCK_OUTPUTS, State
from corridor.wiring import ENGINE, check_wiring

PHASE_METHODS = ("init", "begin_month", "max_decision_term", "decision_terms", "step")
BOUND_MARGIN = 1e-9  # log-odds: the terms are summed in another order than their bounds
POPULATION_FIELDS = tuple(f.name for f in dataclasses.fields(Population))
# outputs the engine records itself: the stock of every life-course state, and their sum
ENGINE_OUTPUTS = (
    Output("population_total", STOCK, "persons", "everyone the model has held, the dead included (conservation)"),
    *(Output(column, STOCK, "persons", meaning) for column, meaning in STOCK_OUTPUTS.values()),
)
def declared_outputs() -> dict[str, Output]:
    """Every output column a run writes, in order, with its declaration (no run needed)."""
    outputs = {o.name: o for o in ENGINE_OUTPUTS}
    for m in MECHANISMS:
        outputs.update({o.name: o for o in m.outputs})
    return outputs


def wiring():
    """The checked data flow of the bundled mechanisms."""
    return check_wiring(MECHANISMS, POPULATION_FIELDS, PARAMETER_MODELS, ENGINE_OUTPUTS)


class Simulation:
    """One run of a scenario with a number of agents and a seed.

    ``strict=True`` checks every access of every mechanism against its declarations
    (slower; the test suite runs every scenario this way)."""

    def __init__(
        self,
        scenario: Scenario,
        agents: int = 20_000,
        seed: int = 0,
        record_events: bool = False,
        threads: int = 1,
        strict: bool = False,
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
        self.strict = strict
        self.wiring = wiring()
        self.params = {m: PARAMETER_MODELS[m].model_validate(scenario.values(m)) for m in PARAMETER_MODELS}
        self.streams = Streams(seed)
        self.modules = [cls() for cls in MECHANISMS]
        self.pop, _ = build_population(self.agents, self.n_months, self.params["demography"], self.seed)
        d = self.params["demography"]
        self.scale = (d.real_origin_population + d.initial_uk_diaspora_persons) / self.agents
        self.outputs = declared_outputs()
        self.series = {name: np.zeros(self.n_months) for name, o in self.outputs.items() if not o.total_of}
        self.stocks = np.zeros((self.n_months, N_STATES), dtype=np.int64)
        self.events = self._schedule_events()
        self.life_events: list[dict[str, np.ndarray]] = []
        self.clock = Clock()
        self.shared = make_exchange(self.wiring.owner)
        self.scratch = np.empty(self.pop.capacity, dtype=np.float64)  # one buffer for every person pass
        self.contexts = [self._context(m) for m in self.modules]
        self.decider = self._the_decider()
        self.wall_seconds = 0.0
        self.phase_calls = {phase: self._calls(phase) for phase in PHASE_METHODS}
        self.clock.phase = Phase.INIT
        for call, ctx in self.phase_calls["init"]:
            call(ctx)
        self._check_initialised()

    def _context(self, m) -> Context:
        decl = next(d for d in self.wiring.declarations if d.name == m.name)
        pop, shared = self.pop, self.shared
        if self.strict:
            pop = PopulationView(self.pop, m.name, set(decl.persons.used))
            shared = ExchangeView(self.shared, m.name, self.wiring.reads(m.name), self.wiring.writable(m.name), self.clock)
        own = {o.name for o in m.outputs if not o.total_of}
        return Context(
            name=m.name,
            p=self.params[m.name],
            params=parameter_groups(self.params, m.reads_parameters),
            pop=pop,
            shared=shared,
            streams=MechanismStreams(self.streams, m.name),
            out=Recorder({k: v for k, v in self.series.items() if k in own}, self.clock, m.name),
            scale=self.scale,
            threads=self.threads,
            scratch=self.scratch,
            scenario=self.scenario,
        )

    def _calls(self, method: str) -> list:
        """(bound method, context) of every mechanism that overrides ``method``, in order."""
        calls = []
        for m, ctx in zip(self.modules, self.contexts, strict=True):
            if getattr(type(m), method) is getattr(Mechanism, method):
                continue  # the base class does nothing (and bounds nothing: 0 adds nothing to the sum)
            call = getattr(m, method)
            calls.append((self._checked(m, method, call) if self.strict else call, ctx))
        return calls

    def _the_decider(self):
        """The one mechanism that selects the candidates of the decision to leave (the family)."""
        deciders = [(m, c) for m, c in zip(self.modules, self.contexts, strict=True) if hasattr(m, "candidates")]
        if len(deciders) != 1:
            raise DeclarationError(f"exactly one mechanism must select candidates for leaving; found {len(deciders)}")
        return deciders[0]

    def _check_initialised(self) -> None:
        for name, owner in self.wiring.owner.items():
            if owner != ENGINE and not hasattr(self.shared, name):
                raise DeclarationError(f"mechanism '{owner}' provides '{name}' but does not set it up in init")

    def _schedule_events(self) -> dict[int, list[tuple[str, str, object]]]:
        by_month: dict[int, list] = defaultdict(list)
        for event in self.scenario.events:
            if event.enabled:
                t = month_index(self.scenario.start, event.month)
                for key, value in event.set.items():
                    module, name = key.split(".", 1)
                    by_month[t].append((module, name, value))
        return by_month

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
        self.clock.t = t
        prev_state = self.pop.state.copy() if self.record_events else None
        for module, name, value in self.events.get(t, ()):
            setattr(self.params[module], name, value)
        calls, clock = self.phase_calls, self.clock
        clock.phase = Phase.BEGIN
        for call, ctx in calls["begin_month"]:
            call(ctx, t)
        # exact thinning: nobody's chance of leaving exceeds the bound, so only draws under it can succeed
        clock.phase = Phase.DECIDE
        bound = sum(call(ctx, t) for call, ctx in calls["max_decision_term"])
        leave_cap = min(1.0, float(logistic(bound + BOUND_MARGIN)))
        decider, decider_ctx = self.decider
        persons, u = decider.candidates(decider_ctx, t, leave_cap)
        logit = np.zeros(persons.shape[0])
        for call, ctx in calls["decision_terms"]:
            call(ctx, t, persons, logit)
        p_leave = logistic(logit)
        self.shared.candidates = persons
        self.shared.leavers = persons[u < p_leave]
        self.shared.p_leave = p_leave  # of the candidates; the family checks it against the cap
        self.shared.leave_cap = leave_cap
        clock.phase = Phase.STEP
        for call, ctx in calls["step"]:
            call(ctx, t)
        self.stocks[t] = count_states(self.pop.state, N_STATES)
        self.series["population_total"][t] = self.stocks[t, 1:].sum()
        if prev_state is not None:
            self._record_life_events(t, prev_state)

    def _checked(self, m, method: str, call):
        """Strict mode: a call that may change only the person arrays the mechanism declares it writes."""
        writes = set(m.persons.writes)

        def checked(*args):
            before = {a: _digest(getattr(self.pop, a)) for a in POPULATION_FIELDS if a not in writes}
            result = call(*args)
            for a, digest in before.items():
                if _digest(getattr(self.pop, a)) != digest:
                    raise DeclarationError(
                        f"mechanism '{m.name}' changed person array '{a}' in {method} without declaring it in `persons.writes`"
                    )
            return result

        return checked

    def _record_life_events(self, t: int, prev_state: np.ndarray) -> None:
        """Every person whose state differs from the start of the month, with what a case
        history needs: age, region, debt after the change, the price of a departure, the
        length of a sentence, and how a return to Albania came about."""
        pop = self.pop
        changed = np.flatnonzero(prev_state != pop.state)
        to_state = pop.state[changed]
        departed = to_state == State.IN_TRANSIT
        route = pop.route[changed]
        jailed = to_state == State.IN_PRISON
        returned = (to_state == State.AT_ORIGIN) & IS_IN_UK[prev_state[changed]]
        self.life_events.append({
            "month_index": np.full(changed.size, t, dtype=np.int16),
            "person": changed.astype(np.int32),
            "from_state": prev_state[changed],
            "to_state": to_state,
            "route": route,
            "age_years": pop.age_years(t, changed).astype(np.int16),
            "region": pop.region[changed],
            "debt_gbp": pop.debt_gbp[changed],
            "price_gbp": np.where(departed, self.shared.route_price_gbp[np.maximum(route, 0)], np.nan).astype(np.float32),
            "sentence_months": np.where(jailed, self._sentence_months(pop.due_month[changed] - t), -1).astype(np.int16),
            "return_kind": np.where(returned, pop.return_kind[changed], 0).astype(np.int8),
        })  # fmt: skip

    def _sentence_months(self, custody_months: np.ndarray) -> np.ndarray:
        """The court's sentence, from the months a prisoner will spend in custody (M8 releases at a share of it)."""
        return np.round(custody_months / self.params["destination"].custody_share_of_sentence)

    def results(self) -> Results:
        return Results.from_simulation(self)


def _digest(a: np.ndarray) -> int:
    return hash(a.tobytes())


def run(scenario: Scenario | str, agents: int = 20_000, seed: int = 0, **kwargs) -> Results:
    """Run a scenario (object, bundled name or YAML path) and return its results."""
    from corridor.scenario import load_scenario

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return Simulation(scenario, agents=agents, seed=seed, **kwargs).run()


__all__ = ["Simulation", "run"]
