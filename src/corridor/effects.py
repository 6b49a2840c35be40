"""Paired policy effects over the posterior: what a policy changes, and how sure we are.

For each of N posterior draws every arm (the baseline and each variant) runs with the
same parameter draw and the same seed. The engine's random numbers are keyed by
(seed, stream, month, person), so two arms with the same seed differ only by the
policy: these are common random numbers, and the difference of a draw's two runs is
the policy's effect under that draw. Its distribution over draws carries the
parameter uncertainty of the posterior and the stochastic noise that the policy
itself causes, but not the noise that two unrelated runs would add.

The variance reduction of pairing is measured on the same runs: the variance of
the paired differences (variant run i minus baseline run i) against the variance
of the differences of every cross pair (variant run j minus baseline run i, j != i),
which is what two independent ensembles of these runs would give.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from corridor import __version__
from corridor.errors import CorridorInputError
from corridor.exports import aggregate, output_metadata
from corridor.results import write_parquet_atomic
from corridor.scenario import Scenario, load_scenario, month_index, parse_month

DEFAULT_OUTPUTS = [
    "departures",
    "arrivals",
    "arrivals_lorry",
    "arrivals_small_boat",
    "deaths_in_transit",
    "interceptions",
    "asylum_claims",
    "trafficking_referrals",
    "arrests",
    "removals",
    "prison_population",
    "in_criminal_exploitation",
    "minors_in_care",
    "missing_from_care",
    "remittances_gbp",
    "smuggler_revenue_gbp",
    "gang_revenue_gbp",
]
INTERVALS = {"q05": 0.05, "q25": 0.25, "q50": 0.5, "q75": 0.75, "q95": 0.95}
SINGLE_RUN_LABEL = "single run, hand-set values, no interval"


@dataclass
class Effects:
    """A comparison: ``table`` is tidy (arm, output, period, statistic, value)."""

    table: pd.DataFrame
    meta: dict
    runs: pd.DataFrame  # per draw: draw, arm, output, period, value
    monthly: pd.DataFrame  # per month: arm, output, month, q05..q95 of the paired difference

    def write(self, folder: str | Path) -> Path:
        """Write the comparison's folder: complete or absent (see ``corridor.folders``)."""
        from corridor import folders
        from corridor.exports import save_figure, write_dictionary, write_table

        with folders.staging(folder) as stage:
            out = stage.path
            write_parquet_atomic(self.table, out / "effects.parquet")
            write_parquet_atomic(self.runs, out / "runs.parquet")
            write_parquet_atomic(self.monthly, out / "monthly_effects.parquet")
            write_table(self.table, out / "effects")
            save_figure(effects_figure_static(self), out / "effects")
            write_dictionary(out, dictionary_rows(self.meta))
            return stage.commit("meta.json", self.meta)

    def statistic(self, arm: str, output: str, period: str, statistic: str) -> float:
        t = self.table
        hit = t[(t["arm"] == arm) & (t["output"] == output) & (t["period"] == period) & (t["statistic"] == statistic)]
        if hit.empty:
            raise KeyError((arm, output, period, statistic))
        return float(hit["value"].iloc[0])


def effects_figure_static(effects: Effects, period: str | None = None):
    """Matplotlib version of the effect summary (for PNG and SVG): change against the baseline per output and arm."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from corridor.figures import OKABE_ITO, words

    m = effects.meta
    period = period or m["periods"][0]
    t = effects.table[effects.table["period"] == period]
    outputs = [o for o in m["outputs"] if o in set(t["output"])]
    single = m["mode"] == "single"
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.32 * len(outputs)))
    k = len(m["variants"])
    for i, arm in enumerate(m["variants"]):
        w = t[t["arm"] == arm].pivot_table(index="output", columns="statistic", values="value", aggfunc="first").reindex(outputs)
        y = np.arange(len(outputs)) + (i - (k - 1) / 2) * min(0.25, 0.8 / k)
        colour = OKABE_ITO[i % len(OKABE_ITO)]
        if single:
            ax.plot((w["ratio"] - 1) * 100, y, "o", color=colour, label=arm)
            continue
        mid = (w["ratio_q50"] - 1) * 100
        err = [mid - (w["ratio_q05"] - 1) * 100, (w["ratio_q95"] - 1) * 100 - mid]
        ax.errorbar(mid, y, xerr=err, fmt="o", color=colour, ms=4, capsize=2, lw=1, label=arm)
    ax.axvline(0, color="#777777", lw=0.8)
    ax.set_yticks(range(len(outputs)), [words(o) for o in outputs], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("change against the baseline (%)", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.legend(fontsize=7)
    band = "single run each, hand-set values, no interval" if single else f"median and 90% interval over {m['runs']} posterior draws (same draw and seed per arm)"
    ax.set_title(f"Change against {m['baseline']}, {period}:\n{band}", fontsize=9)
    fig.tight_layout()
    return fig


def load_effects(folder: str | Path, flag: str = "comparison folder") -> Effects:
    """A complete comparison folder, its files checked against meta.json; else a one-line refusal."""
    from corridor import folders

    folder = Path(folder)
    rerun = f"`corridor compare ... --runs N --out {folder}`"
    meta = folders.read_manifest(folder, "meta.json", "comparison", lambda _: rerun, flag)
    names = ["effects.parquet", "runs.parquet", "monthly_effects.parquet"]
    folders.verify(folder, meta, names, "comparison", rerun)
    return Effects(*(_read(folder / n, "comparison", rerun) for n in names[:1]), meta, *(_read(folder / n, "comparison", rerun) for n in names[1:]))


def _read(path: Path, what: str, rerun: str) -> pd.DataFrame:
    import pyarrow as pa

    from corridor import folders

    try:
        return pd.read_parquet(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise folders.incomplete(path.parent, what, f"{path.name} cannot be read: {' '.join(str(exc).split())[:100]}", rerun) from None


# ---------------------------------------------------------------- periods


def window_bounds(scenario: Scenario, since: str | None, until: str | None) -> tuple[str, str]:
    """The summed window, checked against the horizon (one-line errors naming the option)."""
    lo, hi = since or scenario.start, until or scenario.end
    for flag, m in (("--since", lo), ("--until", hi)):
        try:
            parse_month(m)
        except ValueError as exc:
            raise CorridorInputError(f"{flag}: {exc}") from None
        if not 0 <= month_index(scenario.start, m) < scenario.n_months:
            raise CorridorInputError(f"{flag} {m}: outside the horizon {scenario.start}..{scenario.end}; give a month in it")
    if month_index(lo, hi) < 0:
        raise CorridorInputError(f"--since {lo} is after --until {hi}; give an earlier --since")
    return lo, hi


def periods(since: str, until: str) -> list[tuple[str, str, str]]:
    """(label, first month, last month): the window, then each calendar year in it
    (a year cut by the window is labelled with its months)."""
    out = [(f"{since}..{until}", since, until)]
    for year in range(int(since[:4]), int(until[:4]) + 1):
        lo, hi = max(since, f"{year}-01"), min(until, f"{year}-12")
        label = str(year) if (lo, hi) == (f"{year}-01", f"{year}-12") else f"{lo}..{hi}"
        if label != out[0][0]:
            out.append((label, lo, hi))
    return out


def summarise(series: pd.DataFrame, manifest: dict, outputs: list[str], spans) -> list[tuple[str, str, float]]:
    """(output, period, value) for every output and period, by each output's aggregation rule."""
    meta = output_metadata(manifest)
    rows = []
    for label, lo, hi in spans:
        part = series[(series["month"] >= lo) & (series["month"] <= hi)]
        for name in outputs:
            rows.append((name, label, aggregate(part, name, meta.get(name, {}).get("aggregation", "sum"))))
    return rows


# ---------------------------------------------------------------- the worker task


def paired_task(arms: list[Scenario], params: dict, agents: int, seed: int, draw: int, outputs: list[str], since: str, until: str):
    """Worker task: every arm under one parameter draw and one seed.

    Returns (draw, per-run summaries [draw, arm, output, period, value], monthly values
    [draw, arm, month, output, value] in the window), so that workers send summaries,
    not whole runs."""
    from corridor.engine import Simulation

    model_values = {k: v for k, v in params.items() if not k.startswith("observation.")}
    spans = periods(since, until)
    summary, monthly = [], []
    for arm in arms:
        results = Simulation(arm.with_values(model_values) if model_values else arm, agents=agents, seed=seed).run()
        series = results.series
        summary += [(draw, arm.name, o, p, v) for o, p, v in summarise(series, results.manifest, outputs, spans)]
        window = series[(series["month"] >= since) & (series["month"] <= until)]
        long = window[["month", *outputs]].melt(id_vars="month", var_name="output", value_name="value")
        long.insert(0, "arm", arm.name)
        long.insert(0, "draw", draw)
        monthly.append(long)
    return draw, pd.DataFrame(summary, columns=["draw", "arm", "output", "period", "value"]), pd.concat(monthly)


# ---------------------------------------------------------------- statistics


def effect_statistics(baseline: np.ndarray, variant: np.ndarray) -> dict[str, float]:
    """Statistics of the paired effect of one arm on one output in one period (arrays over draws)."""
    diff = variant - baseline
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(baseline != 0, variant / baseline, np.nan)
    stats = {"baseline_median": float(np.median(baseline)), "variant_median": float(np.median(variant))}
    for k, q in INTERVALS.items():
        stats[f"effect_{k}"] = float(np.quantile(diff, q))
    finite = ratio[np.isfinite(ratio)]
    enough = 2 * finite.size >= ratio.size  # a ratio from a few draws with a non-zero baseline would mislead
    for k, q in INTERVALS.items():
        stats[f"ratio_{k}"] = float(np.quantile(finite, q)) if enough and finite.size else math.nan
    stats["p_effect_negative"] = float(np.mean(diff < 0))
    stats.update(pairing_gain(baseline, variant))
    return stats


def cross_differences(baseline: np.ndarray, variant: np.ndarray) -> np.ndarray:
    """variant[j] - baseline[i] for every i != j: two independent ensembles built from the same runs."""
    d = variant[None, :] - baseline[:, None]
    return d[~np.eye(len(baseline), dtype=bool)]


def pairing_gain(baseline: np.ndarray, variant: np.ndarray) -> dict[str, float]:
    """Variance and 90% interval of the effect, paired and unpaired, and the variance reduction."""
    if len(baseline) < 2:
        return {}
    paired = variant - baseline
    unpaired = cross_differences(baseline, variant)
    var_p, var_u = float(np.var(paired, ddof=1)), float(np.var(unpaired, ddof=1))
    return {
        "variance_paired": var_p,
        "variance_unpaired": var_u,
        "variance_reduction": var_u / var_p if var_p > 0 else (math.inf if var_u > 0 else math.nan),
        "unpaired_effect_q05": float(np.quantile(unpaired, 0.05)),
        "unpaired_effect_q95": float(np.quantile(unpaired, 0.95)),
    }


def tidy_effects(runs: pd.DataFrame, baseline: str, variants: list[str]) -> pd.DataFrame:
    wide = runs.pivot_table(index=["output", "period", "draw"], columns="arm", values="value", aggfunc="first")
    rows = []
    for (output, period), grp in wide.groupby(level=["output", "period"], sort=False):
        b = grp[baseline].to_numpy(float)
        for arm in variants:
            for stat, value in effect_statistics(b, grp[arm].to_numpy(float)).items():
                rows.append((arm, output, period, stat, value))
    return pd.DataFrame(rows, columns=["arm", "output", "period", "statistic", "value"])


def monthly_effects(monthly: pd.DataFrame, baseline: str, variants: list[str]) -> pd.DataFrame:
    wide = monthly.pivot_table(index=["output", "month", "draw"], columns="arm", values="value", aggfunc="first")
    frames = []
    for arm in variants:
        diff = (wide[arm] - wide[baseline]).rename("effect").reset_index()
        g = diff.groupby(["output", "month"])["effect"]
        q = pd.concat({k: g.quantile(p) for k, p in INTERVALS.items()}, axis=1).reset_index()
        q.insert(0, "arm", arm)
        frames.append(q)
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------- the API


def _load(ref) -> Scenario:
    return ref if isinstance(ref, Scenario) else load_scenario(ref)


def _check_arms(arms: list[Scenario]) -> None:
    names = [a.name for a in arms]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise CorridorInputError(f"scenario '{dup}' is given twice; compare distinct scenarios")
    base = arms[0]
    for arm in arms[1:]:
        if (arm.start, arm.end) != (base.start, base.end):
            raise CorridorInputError(
                f"{arm.name}: horizon {arm.start}..{arm.end} differs from {base.name}'s {base.start}..{base.end}; "
                "compare scenarios over the same horizon"
            )


def probe_outputs(scenario: Scenario | None = None) -> tuple[list[str], dict]:
    """The output columns of a run and their metadata, from the mechanisms' declarations (no run needed)."""
    from corridor.engine import declared_outputs

    outputs = declared_outputs()
    return list(outputs), {name: o.describe() for name, o in outputs.items()}


def check_outputs(known: list[str], outputs: list[str] | None, default: list[str]) -> list[str]:
    chosen = list(outputs) if outputs else [o for o in default if o in known]
    unknown = [o for o in chosen if o not in known]
    if unknown:
        raise CorridorInputError(f"--output {unknown[0]}: not an output of the model; see the columns of series.parquet")
    return chosen


def map_paired(tasks, scheduler, workers, cluster, worker_wait_s, label, progress) -> list:
    """Paired tasks over Dask (a local cluster, a scheduler address or SLURM jobs)."""
    from corridor.cluster import executor
    from corridor.ensemble import map_runs

    with executor(scheduler, workers, cluster) as ex:
        return map_runs(paired_task, tasks, label=label, progress=progress, shared=(0,), executor=ex,
                        worker_wait_s=worker_wait_s)  # fmt: skip


def paired_effects(
    baseline,
    variants,
    runs: int | None,
    posterior: str | Path | None = None,
    agents: int = 20_000,
    seed: int = 0,
    since: str | None = None,
    until: str | None = None,
    scheduler: str | None = None,
    workers: int = 2,
    progress: bool = True,
    outputs: list[str] | None = None,
    cluster: str | None = None,
    worker_wait_s: float | None = None,
) -> Effects:
    """Effects of each variant against the baseline, paired over ``runs`` posterior draws.

    ``runs=None`` is the single-run mode: one run per arm with the scenarios' hand-set
    values and ``seed`` (no posterior, no interval)."""
    from corridor.calibration import load_posterior
    from corridor.cluster import check_scheduler
    from corridor.ensemble import check_posterior_parameters, draw_parameters

    if isinstance(variants, (str, Scenario)):
        variants = [variants]
    if not variants:
        raise CorridorInputError("give at least one variant scenario to compare with the baseline")
    if runs is not None and runs < 2:
        raise CorridorInputError("--runs must be at least 2 for an interval (leave it out for a single run)")
    if agents < 100:
        raise CorridorInputError("--agents must be at least 100")
    if runs is None and cluster:
        raise CorridorInputError("--cluster needs --runs (a single run per arm runs here)")
    check_scheduler(scheduler, cluster)
    arms = [_load(baseline), *(_load(v) for v in variants)]
    _check_arms(arms)
    lo, hi = window_bounds(arms[0], since, until)
    known, metadata = probe_outputs(arms[0])
    chosen = check_outputs(known, outputs, DEFAULT_OUTPUTS)
    post_meta: dict = {}
    if runs is None:
        draws, seeds = [{}], [seed]
    else:
        post, post_meta = load_posterior(posterior, "all-years")
        for arm in arms:
            check_posterior_parameters(post, arm)
        draws = draw_parameters(post, runs, seed)
        seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(runs)]
    start = time.perf_counter()
    tasks = [(arms, draws[i], agents, seeds[i], i, chosen, lo, hi) for i in range(len(draws))]
    sched = "sync" if runs is None else scheduler
    results = map_paired(tasks, sched, workers, cluster, worker_wait_s, "compare", progress)
    results.sort(key=lambda r: r[0])
    per_run = pd.concat([r[1] for r in results], ignore_index=True)
    monthly_values = pd.concat([r[2] for r in results], ignore_index=True)
    names = [a.name for a in arms]
    meta = {
        "kind": "comparison",
        "mode": "single" if runs is None else "paired posterior draws",
        "label": SINGLE_RUN_LABEL if runs is None else f"{runs} posterior draws, common random numbers per draw",
        "baseline": names[0],
        "variants": names[1:],
        "scenario_sha256": {a.name: a.sha256() for a in arms},
        "runs": 1 if runs is None else runs,
        "agents": agents,
        "seed": seed,
        "since": lo,
        "until": hi,
        "outputs": chosen,
        "periods": [p[0] for p in periods(lo, hi)],
        "posterior": None if runs is None else str(posterior or "all-years"),
        "posterior_until": post_meta.get("until"),
        "scheduler": sched or "local",
        "wall_seconds": round(time.perf_counter() - start, 1),
        "version": __version__,
        "unpaired_reference": "every variant run j against every baseline run i with i != j (other draw and seed)",
        "output_metadata": {o: metadata[o] for o in chosen if o in metadata},
        "command": command_line(names, runs, posterior, agents, seed, since, until),
        "resolved_scenarios": {a.name: a.model_dump(mode="json") for a in arms},
    }
    if runs is None:
        table = _single_table(per_run, names[0], names[1:])
    else:
        table = tidy_effects(per_run, names[0], names[1:])
    return Effects(table, meta, per_run, monthly_effects(monthly_values, names[0], names[1:]))


def _single_table(per_run: pd.DataFrame, baseline: str, variants: list[str]) -> pd.DataFrame:
    wide = per_run.pivot_table(index=["output", "period"], columns="arm", values="value", aggfunc="first")
    rows = []
    for (output, period), r in wide.iterrows():
        b = float(r[baseline])
        for arm in variants:
            v = float(r[arm])
            stats = {"baseline": b, "variant": v, "effect": v - b, "ratio": v / b if b else math.nan}
            rows += [(arm, output, period, k, x) for k, x in stats.items()]
    return pd.DataFrame(rows, columns=["arm", "output", "period", "statistic", "value"])


def command_line(names, runs, posterior, agents, seed, since, until) -> str:
    """The command that reproduces a comparison (the CLI's own argv when run from it)."""
    if sys.argv and sys.argv[0].endswith("corridor") and len(sys.argv) > 1 and sys.argv[1] == "compare":
        return "corridor " + " ".join(sys.argv[1:])
    parts = ["corridor compare", *names]
    if runs is not None:
        parts += ["--runs", str(runs)]
    if posterior:
        parts += ["--posterior", str(posterior)]
    parts += ["--agents", str(agents), "--seed", str(seed)]
    if since:
        parts += ["--since", since]
    if until:
        parts += ["--until", until]
    return " ".join(parts)


def dictionary_rows(meta: dict) -> list[dict]:
    from corridor.exports import AGGREGATION_WORDS
    from corridor.exports import dictionary_rows as rows_of

    out = rows_of(
        "effects",
        {
            "arm": ("scenario name", "the policy variant compared with the baseline", "-"),
            "output": ("output column", "model output the effect is about (see the output rows below)", "-"),
            "period": ("YYYY or YYYY-MM..YYYY-MM", "the window, then each calendar year in it", "-"),
            "statistic": (
                "name",
                "effect_qNN: quantile NN% over draws of variant minus baseline (same draw, same seed); ratio_qNN: "
                "of variant / baseline; p_effect_negative: share of draws where the effect is below zero; "
                "variance_reduction: variance of unpaired over paired differences",
                "-",
            ),
            "value": ("unit of the output (ratio and share: dimensionless)", "value of the statistic", "-"),
        },
    )
    out += rows_of(
        "runs",
        {
            "draw": ("index", "posterior draw (its own seed, shared by all arms)", "-"),
            "value": ("unit of the output", "the output over the period in this run", "by the output's aggregation"),
        },
    )
    for o, m in meta.get("output_metadata", {}).items():
        out += rows_of(f"output {o}", {o: (m["unit"], m["description"], AGGREGATION_WORDS.get(m["aggregation"], ""))})
    return out
