"""Observed public series and the observation models that link them to model outputs.

Each series is one tidy CSV in ``corridor/data/observed/`` with the columns
``year`` (or ``month`` as YYYY-MM), ``value``, ``unit``, ``source_title``,
``source_url``, ``note``. ``mapping.yaml`` says which model output(s) a series
measures, how the monthly output is aggregated (a yearly sum for flows, the value
at the month for stocks) and the observation model: expected observed value =
factor x model quantity, with the factor fixed at 1 only where the series counts
exactly what the model counts, and otherwise a reporting/coverage parameter with
its own prior (``inverse: true`` means expected = model / factor, for a share).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from corridor.errors import CorridorInputError
from corridor.scenario import Prior, parse_month, read_yaml

COLUMNS_YEAR = ["year", "value", "unit", "source_title", "source_url", "note"]
COLUMNS_MONTH = ["month", "value", "unit", "source_title", "source_url", "note"]


def data_dir() -> Path:
    return Path(str(resources.files("corridor") / "data" / "observed"))


class ObservedRow(BaseModel):
    """One observation of a series."""

    model_config = ConfigDict(extra="forbid")
    year: int | None = Field(default=None, ge=1990, le=2100)
    month: str | None = None
    value: float = Field(ge=0)
    unit: str = Field(min_length=1)
    source_title: str = Field(min_length=1)
    source_url: str = ""
    note: str = ""

    @field_validator("month")
    @classmethod
    def _month(cls, v: str | None) -> str | None:
        if v is not None:
            parse_month(v)
        return v

    @field_validator("source_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("source_url must be empty or start with http:// or https://")
        return v


class Observation(BaseModel):
    """Observation model: expected observed = factor * model (or model / factor if inverse)."""

    model_config = ConfigDict(extra="forbid")
    value: float | None = Field(default=None, gt=0)
    parameter: str | None = None
    prior: Prior | None = None
    inverse: bool = False
    note: str = ""

    @model_validator(mode="after")
    def _fixed_or_prior(self) -> Observation:
        if (self.value is None) == (self.parameter is None):
            raise ValueError("give either a fixed value or a parameter with a prior")
        if self.parameter is not None and self.prior is None:
            raise ValueError("an observation parameter needs a prior")
        if self.parameter is not None and not self.parameter.startswith("observation."):
            raise ValueError("observation parameters are named observation.<name>")
        return self


class SeriesMap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outputs: list[str] = Field(min_length=1)
    aggregate: Literal["sum", "at_month"]
    observation: Observation
    fit: bool = True


class Mapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    series: dict[str, SeriesMap]

    def observation_priors(self, names: list[str] | None = None) -> dict[str, Prior]:
        out: dict[str, Prior] = {}
        for name, m in self.series.items():
            if names is not None and name not in names:
                continue
            if m.observation.parameter is not None:
                out[m.observation.parameter] = m.observation.prior
        return out


@dataclass
class ObservedSeries:
    name: str
    kind: Literal["year", "month"]
    frame: pd.DataFrame  # columns: period, year, month (YYYY-MM or ''), value, unit, source_title, source_url, note

    @property
    def periods(self) -> list[str]:
        return list(self.frame["period"])

    @property
    def values(self) -> np.ndarray:
        return self.frame["value"].to_numpy(float)

    def years(self) -> np.ndarray:
        return self.frame["year"].to_numpy(int)


def read_series_csv(path: str | Path, name: str | None = None) -> ObservedSeries:
    """Read and validate one observed CSV; a malformed file raises a one-line CorridorInputError."""
    path = Path(path)
    label = path.name
    name = name or path.stem
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
        raise CorridorInputError(f"{label}: empty file; write the header {','.join(COLUMNS_YEAR)}")
    header = [h.strip() for h in header]
    if header == COLUMNS_YEAR:
        kind = "year"
    elif header == COLUMNS_MONTH:
        kind = "month"
    else:
        raise CorridorInputError(
            f"{label}: row 1 (header): columns are {','.join(header)}; write {','.join(COLUMNS_YEAR)} "
            f"(or month instead of year)"
        )
    records = []
    for i, raw in enumerate(rows, start=2):
        if not any(c.strip() for c in raw):
            continue
        if len(raw) != len(header):
            raise CorridorInputError(f"{label}: row {i}: has {len(raw)} fields, expected {len(header)}; quote commas")
        data = dict(zip(header, raw, strict=True))
        if data.get("year", "x").strip() == "" or data.get("month", "x").strip() == "":
            raise CorridorInputError(f"{label}: row {i}: column {kind}: empty; give the {kind}")
        if data["value"].strip() == "":
            raise CorridorInputError(f"{label}: row {i}: column value: empty; give a number")
        try:
            row = ObservedRow.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            col = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            raise CorridorInputError(f"{label}: row {i}: column {col}: {msg} (got {data.get(col)!r})") from None
        if kind == "year":
            year, month = row.year, ""
        else:
            year, month = parse_month(row.month)[0], row.month
        records.append(
            {
                "period": str(year) if kind == "year" else month,
                "year": year,
                "month": month,
                "value": row.value,
                "unit": row.unit,
                "source_title": row.source_title,
                "source_url": row.source_url,
                "note": row.note,
            }
        )
    if not records:
        raise CorridorInputError(f"{label}: no observations; add at least one row")
    frame = pd.DataFrame(records)
    dup = frame["period"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0]) + 2
        raise CorridorInputError(f"{label}: row {i}: column {kind}: duplicate period {frame['period'][dup].iloc[0]}")
    return ObservedSeries(name=name, kind=kind, frame=frame)


def load_mapping(path: str | Path | None = None) -> Mapping:
    path = Path(path) if path is not None else data_dir() / "mapping.yaml"
    data = read_yaml(path)
    try:
        return Mapping.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise CorridorInputError(f"{path.name}: {loc}: {err['msg'].removeprefix('Value error, ')}") from None


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


def check_mapping_outputs(mapping: Mapping, outputs: list[str]) -> None:
    """Every mapped output must be a column of the model's results."""
    known = set(outputs)
    for name, m in mapping.series.items():
        for o in m.outputs:
            if o not in known:
                raise CorridorInputError(f"mapping.yaml: series.{name}.outputs: '{o}' is not a model output")


def model_quantity(series: pd.DataFrame, smap: SeriesMap, obs: ObservedSeries) -> np.ndarray:
    """The model's value of what each observation measures (before the observation factor); NaN outside the run."""
    months = series["month"].to_numpy()
    total = np.zeros(len(series))
    for o in smap.outputs:
        total = total + series[o].to_numpy(float)
    out = np.full(len(obs.frame), np.nan)
    if smap.aggregate == "sum":
        years = np.array([int(m[:4]) for m in months])
        for i, y in enumerate(obs.years()):
            sel = years == y
            if sel.sum() == 12:
                out[i] = total[sel].sum()
    else:
        index = {m: k for k, m in enumerate(months)}
        for i, p in enumerate(obs.frame["month"]):
            if p in index:
                out[i] = total[index[p]]
    return out


def apply_observation(quantity: np.ndarray, observation: Observation, factors: dict[str, float]) -> np.ndarray:
    f = observation.value if observation.parameter is None else float(factors[observation.parameter])
    return quantity / f if observation.inverse else quantity * f


def expected_observed(
    series: pd.DataFrame, mapping: Mapping, observed: dict[str, ObservedSeries], factors: dict[str, float]
) -> dict[str, np.ndarray]:
    """Expected observed values of each series for one model run."""
    return {
        name: apply_observation(
            model_quantity(series, mapping.series[name], obs), mapping.series[name].observation, factors
        )
        for name, obs in observed.items()
    }


def default_factors(mapping: Mapping) -> dict[str, float]:
    """Prior medians of the observation parameters (used when no posterior is given)."""
    from corridor.priors import prior_median

    return {k: prior_median(p) for k, p in mapping.observation_priors().items()}
