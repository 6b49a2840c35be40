"""Quantitative claims of the sources (data/claims.yaml) evaluated against an ensemble.

A claim's condition is computed in every run of the ensemble (``runs.parquet``):
the result is the share of runs in which it holds and the 90% interval of the
quantity it is about.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from corridor.errors import CorridorInputError
from corridor.scenario import SEED_FILES, parse_month, read_yaml


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    output: str
    from_: str = Field(alias="from")
    to: str
    agg: Literal["sum", "mean", "max"] = "mean"

    @field_validator("from_", "to")
    @classmethod
    def _m(cls, v: str) -> str:
        parse_month(v)
        return v


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    kind: Literal["reaches", "level", "ratio"]
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    threshold: float | None = None
    low: float | None = None
    high: float | None = None
    numerator: Window | None = None
    denominator: Window | None = None

    @model_validator(mode="after")
    def _complete(self) -> Condition:
        if self.kind == "reaches" and (self.threshold is None or self.from_ is None or self.to is None):
            raise ValueError("a 'reaches' condition needs from, to and threshold")
        if self.kind == "level" and (self.low is None or self.from_ is None or self.to is None):
            raise ValueError("a 'level' condition needs from, to and low (high optional)")
        if self.kind == "ratio" and (self.numerator is None or self.denominator is None or self.low is None):
            raise ValueError("a 'ratio' condition needs numerator, denominator and low (high optional)")
        return self


class Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    text: str
    source: str
    output: str
    condition: Condition

    @field_validator("source")
    @classmethod
    def _source(cls, v: str) -> str:
        if not (v in SEED_FILES or v.endswith(".csv")):
            raise ValueError(f"source must be a seed file ({', '.join(SEED_FILES)}) or a data file")
        return v


def load_claims(path: str | Path | None = None) -> list[Claim]:
    path = Path(path) if path else Path(str(resources.files("corridor") / "data" / "claims.yaml"))
    data = read_yaml(path)
    if not isinstance(data, dict) or not isinstance(data.get("claims"), list) or not data["claims"]:
        raise CorridorInputError(
            f"{path.name}: not a claims file; give a mapping with a list of claims under 'claims:' (see data/claims.yaml)"
        )
    claims = []
    for i, item in enumerate(data["claims"]):
        try:
            claims.append(Claim.model_validate(item))
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = "".join(f".{p}" for p in err["loc"])
            raise CorridorInputError(
                f"{path.name}: claims[{i}]{loc}: {err['msg'].removeprefix('Value error, ')}"
            ) from None
    return claims


def _window(runs: pd.DataFrame, output: str, lo: str, hi: str, agg: str) -> np.ndarray:
    if output not in runs.columns:
        raise CorridorInputError(f"claim output '{output}' is not in the ensemble's runs; use one of the model outputs")
    sel = runs[(runs["month"] >= lo) & (runs["month"] <= hi)]
    if sel.empty:
        raise CorridorInputError(f"claim window {lo}..{hi} is outside the ensemble's months")
    return sel.groupby("run")[output].agg(agg).sort_index().to_numpy(float)


def evaluate_claim(claim: Claim, runs: pd.DataFrame) -> dict:
    c = claim.condition
    if c.kind == "reaches":
        q = _window(runs, claim.output, c.from_, c.to, "max")
        holds = q >= c.threshold
        target = f">= {c.threshold:g} (max {c.from_}..{c.to})"
    else:
        if c.kind == "level":
            q = _window(runs, claim.output, c.from_, c.to, "mean")
            where = f"mean {c.from_}..{c.to}"
        else:
            n, d = c.numerator, c.denominator
            num = _window(runs, n.output, n.from_, n.to, n.agg)
            den = _window(runs, d.output, d.from_, d.to, d.agg)
            with np.errstate(divide="ignore", invalid="ignore"):
                q = np.where(den > 0, num / np.where(den > 0, den, 1), np.inf)
            where = f"{n.output} {n.from_[:4]} / {d.output} {d.from_[:4]}"
        holds = q >= c.low
        if c.high is not None:
            holds &= q <= c.high
        target = f"in [{c.low:g}, {c.high:g}] ({where})" if c.high is not None else f">= {c.low:g} ({where})"
    finite = q[np.isfinite(q)]
    lo, med, hi = np.quantile(finite, [0.05, 0.5, 0.95]) if finite.size else (np.nan, np.nan, np.nan)
    return {
        "id": claim.id,
        "text": claim.text,
        "source": claim.source,
        "output": claim.output,
        "condition": target,
        "probability": float(np.mean(holds)),
        "median": float(med),
        "q05": float(lo),
        "q95": float(hi),
        "runs": int(len(q)),
    }


def evaluate_claims(runs: pd.DataFrame, claims: list[Claim] | None = None) -> pd.DataFrame:
    claims = claims if claims is not None else load_claims()
    return pd.DataFrame([evaluate_claim(c, runs) for c in claims])


def print_claims(table: pd.DataFrame, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    t = Table(title="claims against the posterior-predictive ensemble")
    for col in ("id", "source", "condition", "P(holds)", "median [90%]"):
        t.add_column(col)
    for r in table.itertuples():
        t.add_row(r.id, r.source, r.condition, f"{r.probability:.2f}", f"{r.median:,.3g} [{r.q05:,.3g}, {r.q95:,.3g}]")
    console.print(t)
