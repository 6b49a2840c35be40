"""Observed public series and the observation model that links each to the model's outputs.

Each series is one tidy CSV in ``corridor/data/observed/`` with the columns
``period, value, unit, source_title, source_url, note``; a period is a year
(``2022``), a quarter (``2022Q3``) or a month (``2022-07``), and one series may mix
them. Data after ``CUTOFF_YEAR`` stay out of the package: they are kept in the
shared data folder for an external check of forecasts.

``mapping.yaml`` says, for every series, which model outputs it measures and how
(the observation model):

- **aggregation** of the monthly outputs over the period: ``sum`` (flows),
  ``mean`` (stocks and levels over the period), ``last`` (a stock at the end of
  the period; for a month, its value that month) or ``ratio`` (sum of the outputs
  over sum of a denominator, e.g. grants / decisions);
- **expected observed value** = quantity x ``value`` x product(``multiply_by``) /
  product(``divide_by``): the factors are observation parameters with priors
  (reporting shares, coverage), calibrated with the model; a series equals a model
  total only where it counts exactly what the model counts;
- **noise**: the distribution of the observed value around its expectation, which
  carries reporting error and the model's structural error: negative binomial for
  counts (mean mu, variance mu + (cv mu)^2), log-normal for money and censuses
  (mean mu, sd of the log sigma), beta for shares and rates (mean mu / upper,
  precision kappa). Its dispersion (cv, sigma or kappa) is an observation
  parameter with a prior; calibration integrates it out (once for the series that
  share it) on a
  quadrature of the prior (``ObservationModel.log_likelihood``), and posterior-predictive
  draws take it from its posterior given the fitted data (``draw_dispersion``).

A series has ``fit: true`` or a written ``reason`` for being left out of the fit;
``not_fitted_periods`` leaves some periods out (those covered by a finer series).
"""

from __future__ import annotations

import csv
import re
import zlib
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from scipy.special import betaln, gammaln

from corridor.errors import CorridorInputError
from corridor.scenario import Prior, read_yaml

CUTOFF_YEAR = 2023  # the last year shipped in the package
COLUMNS = ["period", "value", "unit", "source_title", "source_url", "note"]
LEGACY_PERIOD_COLUMNS = ("year", "quarter", "month")  # older files name the period column by its kind
QUADRATURE_POINTS = 41  # grid over a dispersion prior (equal-probability midpoints)
MIN_EXPECTED = 0.5  # people (or GBP): an expectation of zero would make any positive count impossible
RESOLUTION_ATTR = "people_per_agent"  # set on a run's series by ``run_series``: the weight of one agent
# output names of the engine's declared state, with the older column names they replace
OUTPUT_ALIASES = {"at_origin": "stock_at_origin"}

_PERIOD_RE = re.compile(r"^(\d{4})(?:Q([1-4])|-(\d{2}))?$")


def data_dir() -> Path:
    return Path(str(resources.files("corridor") / "data" / "observed"))


# ---------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """A calendar year, quarter or month."""

    label: str
    kind: Literal["year", "quarter", "month"]
    year: int
    first_month: int  # 1..12
    n_months: int

    @property
    def months(self) -> list[str]:
        return [f"{self.year}-{m:02d}" for m in range(self.first_month, self.first_month + self.n_months)]


def parse_period(label: str) -> Period:
    """``2022`` -> the year, ``2022Q3`` -> July-September, ``2022-07`` -> the month; ValueError otherwise."""
    text = str(label).strip()
    m = _PERIOD_RE.match(text)
    if not m or not 1990 <= int(m.group(1)) <= 2100 or (m.group(3) and not 1 <= int(m.group(3)) <= 12):
        raise ValueError(f"'{label}' is not a period; write a year (2022), a quarter (2022Q3) or a month (2022-07)")
    year = int(m.group(1))
    if m.group(2):
        return Period(text, "quarter", year, 3 * int(m.group(2)) - 2, 3)
    if m.group(3):
        return Period(text, "month", year, int(m.group(3)), 1)
    return Period(text, "year", year, 1, 12)


def periods_between(kind: str, first_year: int, last_year: int, month_of_year: int = 12) -> list[str]:
    """Every period of a kind from ``first_year`` to ``last_year`` (months: one a year, at ``month_of_year``)."""
    years = range(first_year, last_year + 1)
    if kind == "year":
        return [str(y) for y in years]
    if kind == "quarter":
        return [f"{y}Q{q}" for y in years for q in range(1, 5)]
    return [f"{y}-{month_of_year:02d}" for y in years]


# ---------------------------------------------------------------- data files


class ObservedRow(BaseModel):
    """One observation of a series."""

    model_config = ConfigDict(extra="forbid")
    period: str
    value: float = Field(ge=0)
    unit: str = Field(min_length=1)
    source_title: str = Field(min_length=1)
    source_url: str = ""
    note: str = ""

    @field_validator("period")
    @classmethod
    def _period(cls, v: str) -> str:
        parse_period(v)
        return v.strip()

    @field_validator("source_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("source_url must be empty or start with http:// or https://")
        return v


@dataclass
class ObservedSeries:
    name: str
    frame: pd.DataFrame  # period, period_kind, year, value, unit, source_title, source_url, note

    @property
    def kind(self) -> str:
        kinds = set(self.frame["period_kind"])
        return kinds.pop() if len(kinds) == 1 else "mixed"

    @property
    def periods(self) -> list[str]:
        return list(self.frame["period"])

    @property
    def values(self) -> np.ndarray:
        return self.frame["value"].to_numpy(float)

    def years(self) -> np.ndarray:
        return self.frame["year"].to_numpy(int)

    def subset(self, keep) -> ObservedSeries:
        return ObservedSeries(self.name, self.frame[np.asarray(keep, bool)].reset_index(drop=True))


def _series_frame(records: list[dict]) -> pd.DataFrame:
    rows = []
    for r in records:
        p = parse_period(r["period"])
        rows.append({"period": p.label, "period_kind": p.kind, "year": p.year, **{k: r[k] for k in COLUMNS[1:]}})
    return pd.DataFrame(rows, columns=["period", "period_kind", "year", *COLUMNS[1:]])


def read_series_csv(path: str | Path, name: str | None = None) -> ObservedSeries:
    """Read and validate one observed CSV; a malformed file raises a one-line CorridorInputError."""
    path = Path(path)
    label = path.name
    try:
        with open(path, newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            rows = list(reader)
    except FileNotFoundError:
        raise CorridorInputError(f"{label}: file not found; check the path") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CorridorInputError(f"{label}: cannot read CSV ({exc}); fix the file") from None
    if header is None:
        raise CorridorInputError(f"{label}: empty file; write the header {','.join(COLUMNS)}")
    header = [h.strip() for h in header]
    if header[1:] != COLUMNS[1:] or header[0] not in ("period", *LEGACY_PERIOD_COLUMNS):
        raise CorridorInputError(f"{label}: row 1 (header): columns are {','.join(header)}; write {','.join(COLUMNS)}")
    period_col = header[0]
    records = []
    for i, raw in enumerate(rows, start=2):
        if not any(c.strip() for c in raw):
            continue
        if len(raw) != len(header):
            raise CorridorInputError(f"{label}: row {i}: has {len(raw)} fields, expected {len(header)}; quote commas")
        data = dict(zip(COLUMNS, raw, strict=True))
        for col in ("period", "value"):
            if data[col].strip() == "":
                what = "a number" if col == "value" else "the period"
                raise CorridorInputError(f"{label}: row {i}: column {period_col if col == 'period' else col}: empty; give {what}")
        try:
            row = ObservedRow.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            col = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            shown = period_col if col == "period" else col
            raise CorridorInputError(f"{label}: row {i}: column {shown}: {msg} (got {data.get(col)!r})") from None
        if parse_period(row.period).year > CUTOFF_YEAR:
            raise CorridorInputError(
                f"{label}: row {i}: column {period_col}: {row.period} is after {CUTOFF_YEAR}; later data stay out "
                f"of the package (they are kept for checking forecasts)"
            )
        records.append(row.model_dump())
    if not records:
        raise CorridorInputError(f"{label}: no observations; add at least one row")
    frame = _series_frame(records)
    dup = frame["period"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0]) + 2
        raise CorridorInputError(
            f"{label}: row {i}: column {period_col}: duplicate period {frame['period'][dup].iloc[0]}"
        )
    return ObservedSeries(name=name or path.stem, frame=frame)


# ---------------------------------------------------------------- the mapping


class ObservationParameter(BaseModel):
    """An observation parameter (a reporting factor or a noise dispersion) with its prior."""

    model_config = ConfigDict(extra="forbid")
    prior: Prior
    note: str = Field(min_length=1)

    @field_validator("prior")
    @classmethod
    def _not_fixed(cls, v: Prior) -> Prior:
        if v.dist == "fixed":
            raise ValueError("an observation parameter needs a proper prior; give a fixed number in the series instead")
        return v


class Observation(BaseModel):
    """Expected observed = quantity x value x product(multiply_by) / product(divide_by)."""

    model_config = ConfigDict(extra="forbid")
    value: float = Field(default=1.0, gt=0)
    multiply_by: list[str] = []
    divide_by: list[str] = []
    note: str = Field(min_length=1)

    @property
    def parameters(self) -> list[str]:
        return [*self.multiply_by, *self.divide_by]


class Noise(BaseModel):
    """Distribution of the observed value around its expectation.

    ``dispersion``: a number, or the name of an observation parameter. It is the cv
    of a negative binomial (variance mu + (cv mu)^2), the sd of the log of a
    log-normal, or the precision kappa of a beta (a + b)."""

    model_config = ConfigDict(extra="forbid")
    family: Literal["negative_binomial", "lognormal", "beta"]
    dispersion: float | str
    upper: float = Field(default=1.0, gt=0, description="beta only: the value of a share of 1 (100 for percent)")

    @field_validator("dispersion")
    @classmethod
    def _positive(cls, v):
        if isinstance(v, float | int) and not v > 0:
            raise ValueError("a fixed dispersion must be positive")
        return v

    @property
    def parameter(self) -> str | None:
        return self.dispersion if isinstance(self.dispersion, str) else None


class SeriesMap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outputs: list[str] = Field(min_length=1)
    aggregate: Literal["sum", "mean", "last", "ratio"]
    denominator: list[str] = []
    observation: Observation
    noise: Noise
    fit: bool
    not_fitted_periods: list[str] = []
    reason: str = ""
    # the scenario's inputs that copy this series (e.g. events setting the grant rate to its values):
    # its out-of-sample points are then no forecast, and validation scores them apart
    scenario_input: str = ""

    @property
    def copied_by_scenario(self) -> bool:
        """Whether the scenario's inputs copy this series (its out-of-sample points forecast nothing)."""
        return bool(self.scenario_input.strip())

    @model_validator(mode="after")
    def _consistent(self) -> SeriesMap:
        if (self.aggregate == "ratio") != bool(self.denominator):
            raise ValueError("a ratio needs a denominator, and only a ratio has one")
        if (not self.fit or self.not_fitted_periods) and not self.reason.strip():
            raise ValueError("a series (or periods of it) left out of the fit needs a reason: write why in `reason`")
        if self.fit and self.reason.strip() and not self.not_fitted_periods:
            raise ValueError("`reason` says why a series or some periods are not fitted; this series is fitted")
        for p in self.not_fitted_periods:
            parse_period(p)
        if self.copied_by_scenario and self.fit:
            raise ValueError("a series the scenario's inputs copy (`scenario_input`) tests nothing when fitted: set fit: false")
        if self.noise.family == "beta" and self.aggregate not in ("ratio", "mean"):
            raise ValueError("a beta noise is for shares and rates (aggregate ratio or mean)")
        return self

    @property
    def parameters(self) -> list[str]:
        return [*self.observation.parameters, *([self.noise.parameter] if self.noise.parameter else [])]


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parameters: dict[str, ObservationParameter]
    series: dict[str, SeriesMap]

    @model_validator(mode="after")
    def _parameters_declared(self) -> Mapping:
        for key in self.parameters:
            if not key.startswith("observation."):
                raise ValueError(f"parameters.{key}: observation parameters are named observation.<name>")
        dispersions = {m.noise.parameter for m in self.series.values()} - {None}
        for name, m in self.series.items():
            for key in m.parameters:
                if key not in self.parameters:
                    raise ValueError(f"series.{name}: parameter {key} is not declared under parameters")
            for key in m.observation.parameters:
                if key in dispersions:
                    raise ValueError(f"series.{name}: {key} is a noise dispersion; it cannot also be a factor")
        return self

    def factor_priors(self, names: list[str] | None = None) -> dict[str, Prior]:
        """Priors of the reporting factors of the given series (all series by default)."""
        keys = [k for n, m in self.series.items() if names is None or n in names for k in m.observation.parameters]
        return {k: self.parameters[k].prior for k in dict.fromkeys(keys)}

    def dispersion_priors(self) -> dict[str, Prior]:
        keys = [m.noise.parameter for m in self.series.values() if m.noise.parameter]
        return {k: self.parameters[k].prior for k in dict.fromkeys(keys)}

    def fitted(self) -> list[str]:
        return [n for n, m in self.series.items() if m.fit]


def load_mapping(path: str | Path | None = None) -> Mapping:
    path = Path(path) if path is not None else data_dir() / "mapping.yaml"
    data = read_yaml(path)
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        where = f"{loc}: " if loc else ""
        raise CorridorInputError(f"{path.name}: {where}{err['msg'].removeprefix('Value error, ')}") from None


def load_observed(names: list[str] | None = None, folder: str | Path | None = None) -> dict[str, ObservedSeries]:
    """All series named in the mapping (or the given names), validated."""
    folder = Path(folder) if folder is not None else data_dir()
    mapping = load_mapping(folder / "mapping.yaml" if (folder / "mapping.yaml").exists() else None)
    names = list(mapping.series) if names is None else names
    out = {}
    for name in names:
        if name not in mapping.series:
            raise CorridorInputError(
                f"observed series '{name}' is not in mapping.yaml; use one of: {', '.join(mapping.series)}"
            )
        out[name] = read_series_csv(folder / f"{name}.csv", name)
    return out


def fit_window(
    observed: dict[str, ObservedSeries], mapping: Mapping, first_year: int, until: int, fitted_only: bool = True
) -> dict[str, ObservedSeries]:
    """The observations a calibration up to ``until`` uses: fitted series, fitted periods, years in the window."""
    window = {}
    for name, obs in observed.items():
        m = mapping.series[name]
        if fitted_only and not m.fit:
            continue
        f = obs.frame
        keep = (f["year"] >= first_year) & (f["year"] <= until) & ~f["period"].isin(m.not_fitted_periods)
        if keep.any():
            window[name] = obs.subset(keep)
    return window


# ---------------------------------------------------------------- expected observed values


def output_column(series: pd.DataFrame, output: str) -> np.ndarray:
    """A model output by name (or the older column it replaces); a clear error if the run lacks it."""
    for col in (output, OUTPUT_ALIASES.get(output)):
        if col is not None and col in series.columns:
            return series[col].to_numpy(float)
    raise CorridorInputError(
        f"mapping.yaml: output '{output}' is not a column of this run; the engine must record it "
        f"(or mark the series fit: false and leave it out)"
    )


def has_outputs(series: pd.DataFrame, smap: SeriesMap) -> bool:
    return all(o in series.columns or OUTPUT_ALIASES.get(o) in series.columns for o in [*smap.outputs, *smap.denominator])


class MonthIndex:
    """Rows of a monthly results table by month label, and the rows of each period."""

    def __init__(self, months):
        self.row = {m: i for i, m in enumerate(months)}

    def rows(self, period: str) -> np.ndarray | None:
        idx = [self.row.get(m) for m in parse_period(period).months]
        return None if any(i is None for i in idx) else np.asarray(idx)


def model_quantity(series: pd.DataFrame, smap: SeriesMap, periods: list[str], index: MonthIndex | None = None) -> np.ndarray:
    """The model's value of what each period's observation measures (before the factors); NaN outside the run."""
    index = index or MonthIndex(series["month"])
    total = sum(output_column(series, o) for o in smap.outputs)
    denom = sum(output_column(series, o) for o in smap.denominator) if smap.denominator else None
    out = np.full(len(periods), np.nan)
    for i, p in enumerate(periods):
        rows = index.rows(p)
        if rows is None:
            continue
        if smap.aggregate == "sum":
            out[i] = total[rows].sum()
        elif smap.aggregate == "mean":
            out[i] = total[rows].mean()
        elif smap.aggregate == "last":
            out[i] = total[rows[-1]]
        else:
            d = denom[rows].sum()
            out[i] = total[rows].sum() / d if d > 0 else np.nan
    return out


def observation_factor(observation: Observation, params: dict[str, float]) -> float:
    f = observation.value
    for k in observation.multiply_by:
        f *= float(params[k])
    for k in observation.divide_by:
        f /= float(params[k])
    return f


def run_series(results) -> pd.DataFrame:
    """A run's monthly series, carrying the weight of one agent (for the resolution floor)."""
    series = results.series
    series.attrs[RESOLUTION_ATTR] = float(results.manifest.get("agent_scale_people_per_agent", 0.0))
    return series


def resolution_floor(series: pd.DataFrame) -> float:
    """The smallest count a run resolves: half an agent's weight in people.

    A count the run records as zero is below one agent, not exactly nothing; without
    this floor a coarse run that shows no crossings in 2019 (observed: 13) would be
    judged as impossible rather than as unresolved."""
    return 0.5 * float(series.attrs.get(RESOLUTION_ATTR, 0.0))


def expected_observed(
    series: pd.DataFrame, mapping: Mapping, periods: dict[str, list[str]] | dict[str, ObservedSeries], params: dict
) -> dict[str, np.ndarray]:
    """Expected observed value of each series at each period for one model run (factors from ``params``).

    Counts of agents (negative binomial series) are floored at the run's resolution before the
    factors; expected flows (``expected_*`` outputs, given each month's state) are not quantised."""
    index = MonthIndex(series["month"])
    floor = resolution_floor(series)
    out = {}
    for name, ps in periods.items():
        smap = mapping.series[name]
        labels = ps.periods if isinstance(ps, ObservedSeries) else list(ps)
        quantity = model_quantity(series, smap, labels, index)
        if smap.noise.family == "negative_binomial" and not all(o.startswith("expected_") for o in smap.outputs):
            quantity = np.where(np.isnan(quantity), np.nan, np.maximum(quantity, floor))
        out[name] = quantity * observation_factor(smap.observation, params)
    return out


# ---------------------------------------------------------------- noise


def _shape(noise: Noise, mu, dispersion):
    """Distribution arguments; mu and dispersion broadcast (dispersion as a column for a grid)."""
    if noise.family == "beta":
        m = np.clip(np.asarray(mu, float) / noise.upper, 1e-4, 1 - 1e-4)
        return m * dispersion, (1 - m) * dispersion
    return np.maximum(np.asarray(mu, float), MIN_EXPECTED), dispersion


def log_likelihood(noise: Noise, observed, mu, dispersion) -> np.ndarray:
    """log p(observed | mu, dispersion) per point (a density for log-normal and beta, a mass for counts).

    A ratio that the run leaves undefined (no decisions in a quarter) has mu NaN: the
    model says nothing about it and it gets the density of a uniform share."""
    y = np.asarray(observed, float)
    a, b = _shape(noise, mu, dispersion)
    if noise.family == "negative_binomial":
        r = 1.0 / b**2
        return gammaln(y + r) - gammaln(r) - gammaln(y + 1) + r * np.log(r / (r + a)) + y * np.log(a / (r + a))
    if noise.family == "lognormal":
        logy = np.log(np.maximum(y, 1e-12))
        z = (logy - np.log(a) + 0.5 * b**2) / b
        return -0.5 * z**2 - np.log(b) - logy - 0.5 * np.log(2 * np.pi)
    s = np.clip(y / noise.upper, 1e-4, 1 - 1e-4)
    ll = (a - 1) * np.log(s) + (b - 1) * np.log1p(-s) - betaln(a, b) - np.log(noise.upper)
    return np.where(np.isnan(np.asarray(mu, float)), -np.log(noise.upper), ll)


def draw_noise(noise: Noise, mu: float, dispersion: float, rng: np.random.Generator) -> float:
    """One observed value given its expectation."""
    if not np.isfinite(mu):
        return np.nan
    a, b = _shape(noise, mu, dispersion)
    if noise.family == "negative_binomial":
        r = 1.0 / b**2
        return float(rng.negative_binomial(r, r / (r + a)))
    if noise.family == "lognormal":
        return float(rng.lognormal(np.log(a) - 0.5 * b**2, b))
    return float(noise.upper * rng.beta(a, b))


def quadrature(prior: Prior, points: int = QUADRATURE_POINTS) -> np.ndarray:
    """Equal-probability midpoints of a prior: a K-point rule for integrals over it."""
    from corridor.priors import frozen

    return frozen(prior).ppf((np.arange(points) + 0.5) / points)


class SeriesLikelihood:
    """log p(observed points of one series | expected), for each value of a dispersion grid.

    The terms that do not depend on the expectation are computed once (this runs for
    every particle of a calibration)."""

    def __init__(self, noise: Noise, observed: np.ndarray, grid: np.ndarray):
        self.noise = noise
        self.observed = np.asarray(observed, float)
        self.grid = grid
        self.defined = np.isfinite(self.observed)
        y, col = self.observed[self.defined][None, :], grid[:, None]
        if noise.family == "negative_binomial":
            r = 1.0 / col**2
            self._r = r
            self._const = gammaln(y + r) - gammaln(r) - gammaln(y + 1) + r * np.log(r)

    def grid_log_likelihood(self, mu: np.ndarray) -> np.ndarray:
        """Per grid value, the log-likelihood of the points with a defined expectation (beta: all)."""
        return self.batch_log_likelihood(np.asarray(mu, float)[None, :])[0]

    def batch_log_likelihood(self, mu: np.ndarray) -> np.ndarray:
        """(runs, grid) log-likelihoods for expectations of several runs (rows of ``mu``).

        An undefined expectation contributes nothing, except in a beta series (a uniform share)."""
        mu = np.asarray(mu, float)[:, None, self.defined]  # (runs, 1, points)
        y = self.observed[self.defined][None, None, :]
        if self.noise.family != "negative_binomial":
            ll = log_likelihood(self.noise, y, mu, self.grid[None, :, None])
            keep = np.isfinite(mu) | (self.noise.family == "beta")
            return np.where(keep, ll, 0.0).sum(axis=2)
        ok = np.isfinite(mu)
        m = np.maximum(np.where(ok, mu, 1.0), MIN_EXPECTED)
        r = self._r[None, :, :]
        ll = self._const[None, :, :] - (r + y) * np.log(r + m) + y * np.log(m)
        return np.where(ok, ll, 0.0).sum(axis=2)


def _logsumexp(x: np.ndarray) -> float:
    top = float(np.max(x))
    return top + float(np.log(np.sum(np.exp(x - top)))) if np.isfinite(top) else top


@dataclass
class ObservationModel:
    """The whole observation model: likelihood of the fitted data and posterior-predictive draws.

    Series that share a dispersion parameter form one group: the dispersion is
    integrated out (or drawn) once for the group, from the product of their likelihoods."""

    mapping: Mapping
    fitted: dict[str, ObservedSeries]  # the data that inform the dispersions (may be empty)
    points: int = QUADRATURE_POINTS

    def group_of(self, name: str) -> str:
        noise = self.mapping.series[name].noise
        return noise.parameter or f"fixed dispersion of {name}"

    def grid(self, name: str) -> np.ndarray:
        noise = self.mapping.series[name].noise
        if noise.parameter is None:
            return np.array([float(noise.dispersion)])
        return quadrature(self.mapping.parameters[noise.parameter].prior, self.points)

    @cached_property
    def likelihoods(self) -> dict[str, SeriesLikelihood]:
        return {
            name: SeriesLikelihood(self.mapping.series[name].noise, obs.values, self.grid(name))
            for name, obs in self.fitted.items()
        }

    @cached_property
    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name in self.fitted:
            out.setdefault(self.group_of(name), []).append(name)
        return out

    def _group_log_likelihood(self, group: str, expected: dict[str, np.ndarray]) -> np.ndarray:
        return sum(self.likelihoods[n].grid_log_likelihood(expected[n]) for n in self.groups[group])

    def log_likelihood(self, expected: dict[str, np.ndarray]) -> float:
        """log p(fitted data | expected), each group's dispersion integrated out over its prior."""
        return sum(self.group_log_likelihoods(expected).values(), 0.0)

    def group_log_likelihoods(self, expected: dict[str, np.ndarray]) -> dict[str, float]:
        """Each dispersion group's share of ``log_likelihood``: which series pull a fit, and how hard."""
        out = {}
        for group in self.groups:
            ll = self._group_log_likelihood(group, expected)
            out[group] = _logsumexp(ll) - np.log(ll.size)
        return out

    def batch_log_likelihood(self, expected: dict[str, np.ndarray]) -> np.ndarray:
        """``log_likelihood`` of several runs at once: ``expected[name]`` has one row per run."""
        total = 0.0
        for names in self.groups.values():
            ll = sum(self.likelihoods[n].batch_log_likelihood(expected[n]) for n in names)
            top = ll.max(axis=1, keepdims=True)
            total = total + top[:, 0] + np.log(np.exp(ll - top).mean(axis=1))
        return np.asarray(total, float)

    def draw_dispersion(self, name: str, fitted_expected: dict[str, np.ndarray] | None, rng) -> float:
        """A dispersion for a series: from its posterior given the fitted data of its group and
        this run's expectations there, or from its prior when nothing of the group is fitted."""
        group, grid = self.group_of(name), self.grid(name)
        if group in self.groups and fitted_expected is not None:
            ll = self._group_log_likelihood(group, fitted_expected)
            w = np.exp(ll - ll.max())
            return float(rng.choice(grid, p=w / w.sum()))
        return float(rng.choice(grid))

    def draw(self, name: str, periods: list[str], values: np.ndarray, fitted_expected, seed: int) -> np.ndarray:
        """Observed values drawn around ``values`` (the expectations at ``periods``), reproducibly from ``seed``.

        The dispersion stream is keyed by (seed, dispersion parameter), so the series of
        a group share one draw; each period's value has its own stream keyed by (seed,
        series, period), so it does not depend on which other periods are drawn."""
        noise = self.mapping.series[name].noise
        dispersion = self.draw_dispersion(
            name, fitted_expected, np.random.default_rng([seed, zlib.crc32(self.group_of(name).encode())])
        )
        key = zlib.crc32(name.encode())
        return np.array(
            [
                draw_noise(noise, mu, dispersion, np.random.default_rng([seed, key, zlib.crc32(p.encode())]))
                for p, mu in zip(periods, values, strict=True)
            ]
        )


def check_mapping_outputs(mapping: Mapping, outputs: list[str]) -> None:
    """Every output a fitted series maps to must be a column of the model's results."""
    known = set(outputs)
    for name, m in mapping.series.items():
        for o in [*m.outputs, *m.denominator]:
            if o not in known and OUTPUT_ALIASES.get(o) not in known and m.fit:
                raise CorridorInputError(f"mapping.yaml: series.{name}.outputs: '{o}' is not a model output")


def prior_factors(mapping: Mapping, rng: np.random.Generator | None = None) -> dict[str, float]:
    """Reporting factors from their priors: medians, or one draw each when ``rng`` is given."""
    from corridor.priors import frozen, prior_median

    priors = mapping.factor_priors()
    if rng is None:
        return {k: prior_median(p) for k, p in priors.items()}
    return {k: float(frozen(p).rvs(random_state=rng)) for k, p in priors.items()}
