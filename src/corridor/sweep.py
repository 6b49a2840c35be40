"""Scenario sweeps: how an answer responds to one or two policy levers, paired over posterior draws.

A lever is a numeric parameter (``module.name=LOW:HIGH:N``: N evenly spaced values;
an integer parameter takes the distinct rounded values). For each posterior draw,
every point of the grid and the scenario as given (the reference) run with the same
parameter draw and the same seed, so the response curve and its effect against the
reference carry the posterior's uncertainty without the noise of unrelated runs.
A lever that the posterior also draws is set by the sweep, not drawn. Booleans and
categories are not levers of a curve: compare their scenarios with ``corridor compare``.
"""

from __future__ import annotations

import time
import typing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from corridor import __version__
from corridor.effects import (
    INTERVALS,
    check_outputs,
    effect_statistics,
    periods,
    probe_outputs,
    window_bounds,
)
from corridor.errors import CorridorInputError
from corridor.results import write_parquet_atomic
from corridor.scenario import Scenario, load_scenario

DEFAULT_OUTPUTS = ["departures", "arrivals_small_boat", "deaths_in_transit", "prison_population"]
REFERENCE = "reference"


@dataclass(frozen=True)
class Lever:
    key: str
    values: tuple

    @property
    def column(self) -> str:
        return self.key


def _field(key: str):
    from corridor.mechanisms import PARAMETER_MODELS

    module, _, name = key.partition(".")
    if module not in PARAMETER_MODELS or name not in PARAMETER_MODELS[module].model_fields:
        raise CorridorInputError(f"--param {key}: unknown parameter; see `corridor scenarios show albania-uk` for the names")
    return PARAMETER_MODELS[module].model_fields[name]


def lever_type(key: str) -> type:
    """float or int; any other type (bool, a category) is refused in one line."""
    annotation = _field(key).annotation
    if annotation in (float, int):
        return annotation
    kind = "bool" if annotation is bool else ("category" if typing.get_origin(annotation) is typing.Literal else str(annotation))
    raise CorridorInputError(
        f"--param {key}: a {kind} parameter is not a lever of a sweep; sweep a number, or compare scenarios that set it"
    )


def parse_lever(spec: str) -> Lever:
    """``module.name=LOW:HIGH:N`` -> a lever with its grid of values."""
    key, eq, grid = spec.partition("=")
    parts = grid.split(":")
    if not eq or len(parts) != 3:
        raise CorridorInputError(f"--param {spec}: write it as module.name=LOW:HIGH:N, e.g. smuggling.small_boat_base_price_gbp=1000:5000:5")
    kind = lever_type(key.strip())
    try:
        low, high, n = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise CorridorInputError(f"--param {spec}: LOW and HIGH must be numbers and N a whole number") from None
    if not (np.isfinite(low) and np.isfinite(high)) or low >= high or not 2 <= n <= 101:
        raise CorridorInputError(f"--param {spec}: need LOW < HIGH and N between 2 and 101")
    values = np.linspace(low, high, n)
    if kind is int:
        values = np.unique(np.round(values).astype(int))
    return Lever(key.strip(), tuple(v.item() for v in values))


@dataclass
class Sweep:
    """``table`` is tidy: one column per lever, then output, period, statistic, value."""

    table: pd.DataFrame
    meta: dict
    runs: pd.DataFrame

    def write(self, folder: str | Path) -> Path:
        """Write the sweep's folder: complete or absent (see ``corridor.folders``)."""
        from corridor import folders
        from corridor.exports import save_figure, write_dictionary, write_table

        with folders.staging(folder) as stage:
            out = stage.path
            write_parquet_atomic(self.table, out / "sweep.parquet")
            write_parquet_atomic(self.runs, out / "runs.parquet")
            write_table(self.table, out / "sweep")
            save_figure(response_figure_static(self), out / "response")
            write_dictionary(out, dictionary_rows(self.meta))
            return stage.commit("meta.json", self.meta)


def load_sweep(folder: str | Path, flag: str = "sweep folder") -> Sweep:
    """A complete sweep folder, its files checked against meta.json; else a one-line refusal."""
    from corridor import folders
    from corridor.effects import _read

    folder = Path(folder)
    rerun = f"`corridor sweep ... --out {folder}`"
    meta = folders.read_manifest(folder, "meta.json", "sweep", lambda _: rerun, flag)
    folders.verify(folder, meta, ["sweep.parquet", "runs.parquet"], "sweep", rerun)
    return Sweep(_read(folder / "sweep.parquet", "sweep", rerun), meta, _read(folder / "runs.parquet", "sweep", rerun))


def _grid(levers: list[Lever]) -> list[dict]:
    if len(levers) == 1:
        return [{levers[0].key: v} for v in levers[0].values]
    a, b = levers
    return [{a.key: x, b.key: y} for x in a.values for y in b.values]


def _point_name(point: dict) -> str:
    return ", ".join(f"{k}={v:g}" for k, v in point.items())


def run_sweep(
    scenario,
    levers: list[str | Lever],
    runs: int,
    posterior: str | Path | None = None,
    agents: int = 20_000,
    seed: int = 0,
    since: str | None = None,
    until: str | None = None,
    outputs: list[str] | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    progress: bool = True,
    cluster: str | None = None,
    worker_wait_s: float | None = None,
) -> Sweep:
    """The response of outputs to one or two levers, over ``runs`` posterior draws (common random numbers per draw)."""
    from corridor.calibration import load_posterior
    from corridor.cluster import check_scheduler
    from corridor.effects import map_paired
    from corridor.ensemble import check_posterior_parameters, draw_parameters

    levers = [lv if isinstance(lv, Lever) else parse_lever(lv) for lv in levers]
    if not 1 <= len(levers) <= 2 or len({lv.key for lv in levers}) != len(levers):
        raise CorridorInputError("--param: give one or two different levers")
    if runs < 2:
        raise CorridorInputError("--runs must be at least 2 for an interval")
    check_scheduler(scheduler, cluster)
    base = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    lo, hi = window_bounds(base, since, until)
    grid = _grid(levers)
    arms = [base.model_copy(update={"name": REFERENCE})]
    for point in grid:  # bounds are checked here, before any run
        arms.append(base.with_values(point).model_copy(update={"name": _point_name(point)}))
    known, metadata = probe_outputs(base)
    chosen = check_outputs(known, outputs, DEFAULT_OUTPUTS)
    post, post_meta = load_posterior(posterior, "all-years")
    check_posterior_parameters(post, base)
    swept = {lv.key for lv in levers}
    draws = [{k: v for k, v in d.items() if k not in swept} for d in draw_parameters(post, runs, seed)]
    seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(runs)]
    start = time.perf_counter()
    tasks = [(arms, draws[i], agents, seeds[i], i, chosen, lo, hi) for i in range(runs)]
    results = map_paired(tasks, scheduler, workers, cluster, worker_wait_s, "sweep", progress)
    results.sort(key=lambda r: r[0])
    per_run = pd.concat([r[1] for r in results], ignore_index=True)
    table = sweep_table(per_run, grid, levers)
    overridden = [e.id for e in base.events if e.enabled and swept & set(e.set)]
    meta = {
        "kind": "sweep",
        "scenario": base.name,
        "scenario_sha256": base.sha256(),
        "levers": {lv.key: list(lv.values) for lv in levers},
        "runs": runs,
        "agents": agents,
        "seed": seed,
        "since": lo,
        "until": hi,
        "periods": [p[0] for p in periods(lo, hi)],
        "outputs": chosen,
        "output_metadata": {o: metadata[o] for o in chosen if o in metadata},
        "posterior": str(posterior or "all-years"),
        "posterior_until": post_meta.get("until"),
        "resolved_scenario": base.model_dump(mode="json"),
        "reference": f"{base.name} as given (the levers at their scenario values), same draw and seed",
        "events_that_reset_a_lever": overridden,
        "wall_seconds": round(time.perf_counter() - start, 1),
        "version": __version__,
        "command": "corridor sweep " + " ".join([base.name, *(f"--param {lv.key}={lv.values[0]}:{lv.values[-1]}:{len(lv.values)}" for lv in levers),
                                                  "--runs", str(runs), "--agents", str(agents), "--seed", str(seed)]),
    }  # fmt: skip
    return Sweep(table, meta, per_run)


def sweep_table(per_run: pd.DataFrame, grid: list[dict], levers: list[Lever]) -> pd.DataFrame:
    wide = per_run.pivot_table(index=["output", "period", "draw"], columns="arm", values="value", aggfunc="first")
    rows = []
    for (output, period), grp in wide.groupby(level=["output", "period"], sort=False):
        ref = grp[REFERENCE].to_numpy(float)
        for point in grid:
            values = grp[_point_name(point)].to_numpy(float)
            stats = {f"level_{k}": float(np.quantile(values, q)) for k, q in INTERVALS.items()}
            stats.update({k: v for k, v in effect_statistics(ref, values).items() if not k.startswith("baseline")})
            stats.pop("variant_median", None)
            lever_values = [point[lv.key] for lv in levers]
            rows += [(*lever_values, output, period, k, v) for k, v in stats.items()]
    return pd.DataFrame(rows, columns=[*(lv.key for lv in levers), "output", "period", "statistic", "value"])


def curve(sweep: Sweep, output: str, period: str | None = None) -> pd.DataFrame:
    """One row per grid point: the lever values and level_q05..level_q95 of an output in a period."""
    period = period or sweep.meta["periods"][0]
    keys = list(sweep.meta["levers"])
    t = sweep.table[(sweep.table["output"] == output) & (sweep.table["period"] == period)]
    return t.pivot_table(index=keys, columns="statistic", values="value", aggfunc="first").reset_index()


def response_figure_static(sweep: Sweep):
    """Matplotlib response curves (for PNG and SVG): median with 50% and 90% bands, one panel per output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from corridor.figures import OKABE_ITO, label_of

    keys = list(sweep.meta["levers"])
    outputs = sweep.meta["outputs"]
    fig, axes = plt.subplots(1, len(outputs), figsize=(4.2 * len(outputs), 3.4), squeeze=False)
    for ax, output in zip(axes.flat, outputs, strict=True):
        c = curve(sweep, output)
        groups = [(None, c)] if len(keys) == 1 else list(c.groupby(keys[1]))
        for i, (second, g) in enumerate(groups):
            color = OKABE_ITO[i % len(OKABE_ITO)]
            x = g[keys[0]].to_numpy(float)
            ax.fill_between(x, g["level_q05"], g["level_q95"], color=color, alpha=0.15, lw=0)
            ax.fill_between(x, g["level_q25"], g["level_q75"], color=color, alpha=0.3, lw=0)
            ax.plot(x, g["level_q50"], color=color, marker="o", ms=3, label=None if second is None else f"{keys[1]} = {second:g}")
        ax.set_title(label_of(output, sweep.meta, summed=True), fontsize=9)
        ax.set_xlabel(keys[0], fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if len(keys) == 2:
            ax.legend(fontsize=6)
    m = sweep.meta
    fig.suptitle(
        f"{m['scenario']}: response to {' and '.join(keys)}, {m['periods'][0]}; median, 50% and 90% bands over "
        f"{m['runs']} posterior draws (parameter and stochastic uncertainty)",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def dictionary_rows(meta: dict) -> list[dict]:
    from corridor.exports import AGGREGATION_WORDS
    from corridor.exports import dictionary_rows as rows_of

    columns = {k: ("unit of the parameter", f"value of the lever {k}", "-") for k in meta["levers"]}
    columns.update({
        "output": ("output column", "model output (see the output rows below)", "-"),
        "period": ("YYYY or YYYY-MM..YYYY-MM", "the window, then each calendar year in it", "-"),
        "statistic": ("name", "level_qNN: quantile over draws of the output at this grid point; effect_qNN and "
                      "ratio_qNN: of the grid point minus (over) the reference run of the same draw and seed", "-"),
        "value": ("unit of the output", "value of the statistic", "-"),
    })  # fmt: skip
    out = rows_of("sweep", columns)
    for o, m in meta.get("output_metadata", {}).items():
        out += rows_of(f"output {o}", {o: (m["unit"], m["description"], AGGREGATION_WORDS.get(m["aggregation"], ""))})
    return out
