"""Synthetic case histories: persons' life courses from a run's life events, set beside the court cases.

``corridor run --life-events`` writes every change of state of every person
(``life_events.parquet``: month_index, month, person, from_state, to_state, route).
This module turns the persons who crossed to the UK into dated case histories
(departure age, route, price paid and debt, months to arrest, sentence, removal,
re-departure) and compares their distributions with the court cases described in
seed 000_486404c3d6eb819b.txt (``data/court_cases_seed.csv``: ages, roles, sentences).

What the log does not hold is derived from the run where it can be, and said
where it cannot:

- age and region: the population is rebuilt from the run's manifest (same
  scenario, agents and seed give the same persons); a column ``age_years`` or
  ``region`` in the log is used instead when present;
- price paid: the route's price in the departure month (``price_<route>_gbp``
  of series.parquet, the price the engine charged that month); ``price_gbp`` when present;
- debt: only from a ``debt_gbp`` column; otherwise reported as not recorded;
- sentence: ``sentence_months`` when present (the court's sentence; the engine
  records it at entry to prison); otherwise the months in custody, which are the
  custodial share of the sentence (``destination.custody_share_of_sentence``, half
  by default), and a lower bound for persons still in prison when the run ends;
- removal: any return from the UK to Albania (the log does not tell removal from
  voluntary return unless it has a ``removal_kind`` column).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from corridor.errors import CorridorInputError

ROUTE_NAMES = {0: "lorry", 1: "small_boat", -1: "none"}
UK_STATES = {
    "in_care", "missing_from_care", "asylum_pending", "undocumented", "legal_resident", "criminal_exploitation", "in_prison",
}  # fmt: skip
REGION_NAMES = ("north", "tirana_durres", "centre_south")
ARRIVAL_WORDS = {
    "criminal_exploitation": "put to work by the gang that fronted the crossing (criminal exploitation)",
    "in_care": "an unaccompanied minor, taken into care",
    "missing_from_care": "an unaccompanied minor, missing from care at once",
    "asylum_pending": "claims asylum",
    "undocumented": "does not claim asylum (undocumented, informal work)",
}
# --where keywords: what a case must have gone through
CONDITIONS = {
    "departed": "left for the UK at least once",
    "arrested": "arrested and sent to prison",
    "imprisoned": "arrested and sent to prison",
    "removed": "returned from the UK to Albania",
    "minor": "under 18 at the first departure",
    "missing": "went missing from care",
    "exploited": "in criminal exploitation at some point",
    "died": "died on the way",
    "redeparted": "left again after coming back",
    "lorry": "crossed at least once by lorry",
    "small_boat": "crossed at least once by small boat",
    "family": "joined family in the UK (legal route)",
}
# extra per-event columns the engine may record; used when present
OPTIONAL_COLUMNS = ("age_years", "region", "price_gbp", "debt_gbp", "sentence_months", "removal_kind")


@dataclass
class CaseData:
    events: pd.DataFrame
    series: pd.DataFrame | None
    manifest: dict
    birth_month: np.ndarray | None = None
    region: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def end_month(self) -> str:
        return self.manifest.get("end") or str(self.events["month"].max())


def load_case_data(folder: str | Path) -> CaseData:
    """A run folder's life events with what can be derived about each person."""
    folder = Path(folder)
    path = folder / "life_events.parquet"
    if not path.is_file():
        raise CorridorInputError(f"{folder}: no life_events.parquet; write it with `corridor run ... --life-events --out {folder}`")
    events = pd.read_parquet(path)
    missing = [c for c in ("month_index", "month", "person", "from_state", "to_state", "route") if c not in events.columns]
    if missing:
        raise CorridorInputError(f"{path}: column {missing[0]} is missing; rerun `corridor run --life-events`")
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    series = pd.read_parquet(folder / "series.parquet") if (folder / "series.parquet").is_file() else None
    data = CaseData(events, series, manifest)
    if "age_years" not in events.columns or "region" not in events.columns:
        _rebuild_persons(data)
    if "price_gbp" not in events.columns:
        data.notes.append("price paid: the route's price in the departure month (series.parquet), not a per-person record")
    if "debt_gbp" not in events.columns:
        data.notes.append("debt: not recorded in life_events.parquet (the engine does not log it yet)")
    if "sentence_months" not in events.columns:
        data.notes.append("sentence: months in custody (the custodial share of the sentence; a lower bound while still in prison)")
    if "removal_kind" not in events.columns:
        data.notes.append("removal: any return from the UK (enforced removal and voluntary return are not told apart)")
    return data


def _rebuild_persons(data: CaseData) -> None:
    """Birth months and regions from the population the run started with (same scenario, agents, seed)."""
    from types import SimpleNamespace

    from corridor import __version__
    from corridor.scenario import validate_resolved

    m = data.manifest
    try:
        scenario = validate_resolved(m["resolved_scenario"], origin="manifest.json resolved_scenario")
        from corridor.population import build_population

        demography = SimpleNamespace(**{k: e.value for k, e in scenario.parameters["demography"].items()})
        pop, _ = build_population(int(m["agents"]), scenario.n_months, demography, int(m["seed"]))
    except (KeyError, TypeError, ValueError, AttributeError, CorridorInputError) as exc:  # another version's run: say so, go on
        data.notes.append(f"ages and regions: not available ({type(exc).__name__}: cannot rebuild the run's population)")
        return
    data.birth_month = pop.birth_month.astype(np.int32)
    data.region = pop.region.astype(np.int8)
    if m.get("version", m.get("corridor_version")) != __version__:
        data.notes.append(f"ages and regions: rebuilt with corridor {__version__} for a run of version {m.get('version')}")


# ---------------------------------------------------------------- one row per case


def _age(data: CaseData, person: int, month_index: int, row=None) -> float:
    if row is not None and pd.notna(row.get("age_years", np.nan)):
        return float(row["age_years"])
    if data.birth_month is None or person >= len(data.birth_month):
        return np.nan
    return float((month_index - data.birth_month[person]) // 12)


def _price(data: CaseData, row) -> float:
    if pd.notna(row.get("price_gbp", np.nan)):
        return float(row["price_gbp"])
    route = ROUTE_NAMES.get(int(row["route"]))
    if data.series is None or f"price_{route}_gbp" not in data.series.columns:
        return np.nan
    return float(data.series[f"price_{route}_gbp"].iloc[int(row["month_index"])])


def _summary(person: int, ev: list[dict], data: CaseData, last_month: int) -> dict:
    """The case of one person from their events (dicts in time order)."""
    departures = [e for e in ev if e["to_state"] == "in_transit"]
    arrivals = [e for e in ev if e["from_state"] == "in_transit" and e["to_state"] in UK_STATES]
    removed = [e for e in ev if e["from_state"] in UK_STATES and e["to_state"] == "at_origin"]
    went = {e["to_state"] for e in ev}
    first = departures[0] if departures else None
    s = {
        "person": person,
        "departures": len(departures),
        "first_departure": first["month"] if first else None,
        "age_at_departure": _age(data, person, first["month_index"], first) if first else np.nan,
        "route": ROUTE_NAMES.get(int(first["route"])) if first else None,
        "price_gbp": _price(data, first) if first else np.nan,
        "debt_gbp": float(first["debt_gbp"]) if first and pd.notna(first.get("debt_gbp", np.nan)) else np.nan,
        "arrival": arrivals[0]["month"] if arrivals else None,
        "age_at_arrival": _age(data, person, arrivals[0]["month_index"], arrivals[0]) if arrivals else np.nan,
        "missing_from_care": "missing_from_care" in went,
        "exploited": "criminal_exploitation" in went,
        "family": any(e["from_state"] == "at_origin" and e["to_state"] == "legal_resident" for e in ev),
        "died_in_transit": "dead_in_transit" in went,
        "removed": removed[0]["month"] if removed else None,
        "redeparted": len(departures) > 1,
        "lorry": any(e["route"] == 0 for e in departures),
        "small_boat": any(e["route"] == 1 for e in departures),
        "region": None,
    }
    if data.region is not None and person < len(data.region):
        s["region"] = REGION_NAMES[int(data.region[person])]
    elif pd.notna(ev[0].get("region", np.nan)):
        s["region"] = str(ev[0]["region"])
    s.update(_prison(ev, arrivals, data, person, last_month))
    return s


def _prison(ev: list[dict], arrivals: list[dict], data: CaseData, person: int, last_month: int) -> dict:
    out = {"prison": None, "months_to_prison": np.nan, "age_at_prison": np.nan, "sentence_months": np.nan, "sentence_complete": False}
    entry = next((e for e in ev if e["to_state"] == "in_prison"), None)
    if entry is None:
        return out
    t0 = entry["month_index"]
    out["prison"] = entry["month"]
    out["age_at_prison"] = _age(data, person, t0, entry)
    before = [e for e in arrivals if e["month_index"] <= t0]
    if before:
        out["months_to_prison"] = float(t0 - before[-1]["month_index"])
    if pd.notna(entry.get("sentence_months", np.nan)):
        out["sentence_months"], out["sentence_complete"] = float(entry["sentence_months"]), True
        return out
    left = next((e for e in ev if e["from_state"] == "in_prison" and e["month_index"] > t0), None)
    if left is not None:
        out["sentence_months"], out["sentence_complete"] = float(left["month_index"] - t0), True
    else:
        out["sentence_months"] = float(last_month - t0 + 1)  # still in prison: a lower bound
    return out


def case_summaries(data: CaseData) -> pd.DataFrame:
    """One row per person who left for the UK or joined family there (the corridor's cases)."""
    ev = data.events
    involved = ev.loc[(ev["to_state"] == "in_transit") | ((ev["from_state"] == "at_origin") & ev["to_state"].isin(UK_STATES)), "person"]
    ev = ev[ev["person"].isin(set(involved))].sort_values(["person", "month_index"], kind="stable")
    last_month = len(data.series) - 1 if data.series is not None else int(data.events["month_index"].max())
    by_person: dict[int, list[dict]] = {}
    for e in ev.to_dict(orient="records"):
        by_person.setdefault(int(e["person"]), []).append(e)
    return pd.DataFrame([_summary(p, events, data, last_month) for p, events in by_person.items()])


def matches(summary: pd.DataFrame, where: str | None) -> pd.Series:
    """Mask of cases that satisfy every keyword of ``where`` (comma- or 'and'-separated)."""
    mask = pd.Series(True, index=summary.index)
    if not where:
        return mask
    words = [w.strip().lower().replace("-", "_").replace(" ", "_") for w in where.replace(" and ", ",").split(",") if w.strip()]
    for w in words:
        if w not in CONDITIONS:
            raise CorridorInputError(f"--where {w}: unknown condition; use one or more of: {', '.join(CONDITIONS)}")
        mask &= {
            "departed": summary["departures"] > 0,
            "arrested": summary["prison"].notna(),
            "imprisoned": summary["prison"].notna(),
            "removed": summary["removed"].notna(),
            "minor": summary["age_at_departure"] < 18,
            "missing": summary["missing_from_care"],
            "exploited": summary["exploited"],
            "died": summary["died_in_transit"],
            "redeparted": summary["departures"] > 1,
            "lorry": summary["lorry"],
            "small_boat": summary["small_boat"],
            "family": summary["family"],
        }[w]
    return mask


def sample_cases(summary: pd.DataFrame, n: int, where: str | None, seed: int) -> pd.DataFrame:
    pool = summary[matches(summary, where)]
    if pool.empty:
        raise CorridorInputError(f"--where {where}: no case in this run matches; try another condition or a larger run")
    take = min(n, len(pool))
    idx = np.random.default_rng(seed).choice(len(pool), size=take, replace=False)
    return pool.iloc[np.sort(idx)].reset_index(drop=True)


# ---------------------------------------------------------------- timelines


def _gbp(x: float) -> str:
    return "not recorded" if not np.isfinite(x) else f"GBP {x:,.0f}"


def timeline(data: CaseData, person: int) -> list[tuple[str, str]]:
    """(month, what happened) for one person, in words."""
    ev = data.events[data.events["person"] == person].sort_values("month_index", kind="stable")
    lines = []
    prison_start = None
    for _, e in ev.iterrows():
        a, b, t = e["from_state"], e["to_state"], int(e["month_index"])
        age = _age(data, person, t, e)
        age_txt = f"age {age:.0f}, " if np.isfinite(age) else ""
        if b == "unborn" or a == "unborn":
            text = "born"
        elif b == "in_transit":
            debt = float(e["debt_gbp"]) if "debt_gbp" in e and pd.notna(e["debt_gbp"]) else np.nan
            text = f"{age_txt}leaves for the UK by {ROUTE_NAMES.get(int(e['route']), '?').replace('_', ' ')}, price {_gbp(_price(data, e))}, debt {_gbp(debt)}"
        elif a == "in_transit" and b == "at_origin":
            text = "intercepted and sent back"
        elif b == "dead_in_transit":
            text = "dies on the way"
        elif a == "in_transit":
            text = f"{age_txt}arrives: " + ARRIVAL_WORDS.get(b, b.replace("_", " "))
        elif b == "in_prison":
            prison_start = t
            sentence = e.get("sentence_months") if "sentence_months" in e else None
            text = f"{age_txt}arrested and convicted" + (f", sentenced to {sentence:.0f} months" if sentence is not None and pd.notna(sentence) else "")
        elif a == "in_prison":
            served = f" after {t - prison_start} months" if prison_start is not None else ""
            text = f"released{served}" + (" and removed to Albania" if b == "at_origin" else ", stays in the UK")
        elif b == "at_origin" and a in UK_STATES:
            kind = e.get("removal_kind") if "removal_kind" in e else None
            text = f"returned to Albania{' (' + str(kind) + ')' if kind else ''}"
        elif a == "at_origin" and b == "legal_resident":
            text = f"{age_txt}joins family in the UK (legal route)"
        elif b == "emigrated_elsewhere":
            text = "emigrates elsewhere (not to the UK)"
        elif a == "emigrated_elsewhere" and b == "at_origin":
            text = "comes back to Albania from elsewhere"
        elif b == "dead_other":
            text = f"{age_txt}dies"
        else:
            text = b.replace("_", " ") + ("" if a in ("at_origin",) else f" (was {a.replace('_', ' ')})")
        lines.append((e["month"], text))
    return lines


def render_cases(cases: pd.DataFrame, data: CaseData, console, title: str) -> None:
    """Each case as a dated timeline in the terminal (Rich)."""
    from rich.table import Table

    for i, c in cases.iterrows():
        head = f"case {i + 1}: person {c['person']}"
        if c.get("region"):
            head += f", from {str(c['region']).replace('_', '-')}"
        table = Table(title=head, show_header=False, title_justify="left", box=None, pad_edge=False)
        table.add_column("month", style="bold", no_wrap=True)
        table.add_column("event", overflow="fold")
        for month, text in timeline(data, int(c["person"])):
            table.add_row(month, text)
        console.print(table)
    console.print(f"[dim]{title}[/dim]")


# ---------------------------------------------------------------- the court cases


def load_court_cases() -> pd.DataFrame:
    path = Path(str(resources.files("corridor") / "data" / "court_cases_seed.csv"))
    return pd.read_csv(path)


def court_comparison(summary: pd.DataFrame, court: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per quantity: the court cases' values, the model cases' distribution, and where each court value falls in it."""
    court = load_court_cases() if court is None else court
    prison = summary[summary["prison"].notna()]
    complete = prison[prison["sentence_complete"]]
    quantities = [
        ("age at entry to the UK (years)", summary["age_at_arrival"], "age_at_entry", "all arrivals"),
        ("age at entry to the UK, later imprisoned (years)", prison["age_at_arrival"], "age_at_entry", "imprisoned cases"),
        ("age at sentence (years)", prison["age_at_prison"], "age_at_sentence", "imprisoned cases"),
        ("sentence (months)", complete["sentence_months"], "sentence_months", "completed sentences"),
        ("months from entry to sentence", prison["months_to_prison"], None, "imprisoned cases"),
    ]
    rows = []
    for label, values, column, who in quantities:
        v = values.dropna().to_numpy(float)
        court_values = _court_values(court, column, label)
        rank = ", ".join(f"{case}: {np.mean(v <= x):.0%}" for case, x in court_values) if v.size else "-"
        rows.append({
            "quantity": label,
            "court cases": ", ".join(f"{case} {x:g}" for case, x in court_values) or "-",
            "model cases": who,
            "n": int(v.size),
            "median": float(np.median(v)) if v.size else np.nan,
            "q05": float(np.quantile(v, 0.05)) if v.size else np.nan,
            "q95": float(np.quantile(v, 0.95)) if v.size else np.nan,
            "share of model cases at or below each court value": rank,
        })  # fmt: skip
    lorry = prison["route"].eq("lorry").mean() if len(prison) else np.nan
    court_lorry = court["entry_route"].dropna()
    rows.append({
        "quantity": "came by lorry (share)",
        "court cases": ", ".join(f"{c} {r}" for c, r in zip(court.loc[court_lorry.index, "case"], court_lorry, strict=True)),
        "model cases": "imprisoned cases", "n": int(len(prison)), "median": float(lorry), "q05": np.nan, "q95": np.nan,
        "share of model cases at or below each court value": "-",
    })  # fmt: skip
    roles = "; ".join(f"{c}: {o}" for c, o in zip(court["case"], court["offence"], strict=True))
    rows.append({
        "quantity": "role", "court cases": roles, "model cases": "imprisoned cases", "n": int(len(prison)),
        "median": float(prison["exploited"].mean()) if len(prison) else np.nan, "q05": np.nan, "q95": np.nan,
        "share of model cases at or below each court value": "model: one state, criminal exploitation in the drug trade "
        "(courier and dealer not told apart); median column = share of imprisoned cases exploited before arrest",
    })  # fmt: skip
    return pd.DataFrame(rows)


def _court_values(court: pd.DataFrame, column: str | None, label: str) -> list[tuple[str, float]]:
    if column is None:  # entry to sentence: only where both ages are known
        both = court.dropna(subset=["age_at_entry", "age_at_sentence"])
        both = both[both["sentence_months"].notna()]
        return [(c, 12.0 * (s - e)) for c, e, s in zip(both["case"], both["age_at_entry"], both["age_at_sentence"], strict=True)]
    rows = court.dropna(subset=[column])
    if column == "age_at_entry" and "imprisoned" in label:
        rows = rows[rows["sentence_months"].notna()]
    if column == "age_at_sentence":
        rows = rows[rows["sentence_months"].notna()]  # case D was not sentenced
    return [(c, float(x)) for c, x in zip(rows["case"], rows[column], strict=True)]
