"""Rebuild src/corridor/data/observed/*.csv from the tidy public tables in data/public/.

Run: .venv/bin/python scripts/build_observed.py [data/public]

Each output file holds one series: period (a year, a quarter YYYYQn or a month
YYYY-MM), value, unit, source_title, source_url, note. Rows after CUTOFF_YEAR are
left in the shared folder (they are kept for an external check of forecasts).
Money in EUR is converted to GBP; a share derived from two counts says so in its
note. Every file written must be described in mapping.yaml (tests check it).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from corridor.observed import CUTOFF_YEAR, parse_period

SHARED = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "data" / "public"
OUT = Path(__file__).resolve().parents[1] / "src" / "corridor" / "data" / "observed"
EUR_PER_GBP = 1.16  # the scenario's origin_economy.eur_per_gbp (EUR 150 = GBP 129 in 003_6a42180f8ac45b94.txt)


@dataclass(frozen=True)
class Copy:
    """Rows of one shared series, of the given period kinds, copied as they are."""

    file: str
    series: str
    kinds: tuple[str, ...] = ("year",)
    note: str = ""
    period_suffix: str = ""  # a yearly row that counts one quarter only: "Q1"


@dataclass(frozen=True)
class Share:
    """A share derived from two counts of the same file and period."""

    file: str
    numerator: str
    denominator: str
    period: str
    note: str


SERIES: dict[str, Copy | Share] = {
    "small_boat_arrivals_albanian": Copy("uk_small_boats.csv", "small_boat_arrivals_albanian"),
    "small_boat_arrivals_albanian_quarterly": Copy("uk_small_boats.csv", "small_boat_arrivals_albanian", ("quarter",)),
    "asylum_applications_main": Copy("uk_asylum_albanian.csv", "asylum_applications_main", note="main applicants"),
    "asylum_applications_incl_dependants": Copy("uk_asylum_albanian.csv", "asylum_applications_incl_dependants"),
    "asylum_applications_unaccompanied_children": Copy(
        "uk_asylum_albanian.csv", "asylum_applications_unaccompanied_children"
    ),
    "asylum_initial_grants": Copy("uk_asylum_albanian.csv", "asylum_initial_grants"),
    "asylum_initial_refusals": Copy("uk_asylum_albanian.csv", "asylum_initial_refusals"),
    "asylum_initial_grant_rate": Copy("uk_asylum_albanian.csv", "asylum_initial_grant_rate"),
    "asylum_initial_grant_rate_quarterly": Copy("uk_asylum_albanian.csv", "asylum_initial_grant_rate", ("quarter",)),
    "nrm_referrals_albanian": Copy("uk_nrm_referrals.csv", "nrm_referrals_albanian"),
    "nrm_referrals_albanian_quarterly": Copy("uk_nrm_referrals.csv", "nrm_referrals_albanian", ("quarter",)),
    "nrm_referrals_albanian_child_share": Copy("uk_nrm_referrals.csv", "nrm_albanian_2023_child_share"),
    "nrm_referrals_albanian_small_boat_arrivals": Copy(
        "uk_nrm_referrals.csv", "nrm_referrals_albanian_small_boat_arrivals"
    ),
    "prisoners_albanian_england_wales": Copy("uk_prisoners_albanian.csv", "prisoners_albanian_england_wales", ("month",)),
    "prison_first_receptions_albanian": Copy(
        "uk_prisoners_albanian.csv", "first_receptions_albanian_q1", note="January-March", period_suffix="Q1"
    ),
    "returns_enforced": Copy("uk_returns_albania.csv", "returns_enforced"),
    "returns_voluntary": Copy("uk_returns_albania.csv", "returns_voluntary"),
    "foreign_national_offender_returns": Copy("uk_returns_albania.csv", "foreign_national_offender_returns"),
    "returns_total": Copy(
        "uk_returns_albania.csv", "returns_total", note="enforced + voluntary + refused entry at port and departed"
    ),
    "detected_at_uk_ports": Copy("uk_irregular_detections_albanian.csv", "detected_at_uk_ports"),
    "detected_in_uk": Copy("uk_irregular_detections_albanian.csv", "detected_in_uk"),
    "stopped_at_juxtaposed_controls": Copy("uk_irregular_detections_albanian.csv", "stopped_at_juxtaposed_controls"),
    "dead_and_missing_route_to_uk": Copy("channel_deaths.csv", "dead_and_missing_route_to_uk", note="all nationalities"),
    "deaths_channel_at_sea": Copy("channel_deaths.csv", "deaths_channel_at_sea", note="all nationalities"),
    "remittances_inflow": Copy("albania_economy.csv", "remittances_inflow"),
    "remittances_from_uk": Copy("albania_economy.csv", "remittances_from_uk"),
    "unemployment_rate_albania": Copy("albania_economy.csv", "unemployment_rate", ("year", "quarter")),
    "population_albania": Copy("albania_population.csv", "population_albania"),
    "emigrants_albania": Copy("albania_population.csv", "emigrants"),
    **{
        f"small_boat_arrivals_albanian_share_{group}": Share(
            "uk_small_boats.csv",
            f"small_boat_arrivals_albanian_2022_{column}",
            "small_boat_arrivals_albanian",
            "2022",
            f"derived: {label} among Albanian small-boat arrivals in 2022",
        )
        for group, column, label in (
            ("under18", "age_under18", "under-18s"),
            ("age_18_24", "age_18_24", "aged 18-24"),
            ("age_25_39", "age_25_39", "aged 25-39"),
            ("age_40plus", "age_40plus", "aged 40 and over"),
            ("female", "female", "women and girls"),
        )
    },
}

URLS = [
    ("britishredcrosssociety/asylum", "https://github.com/britishredcrosssociety/asylum"),
    ("erfagan/erfagan", "https://github.com/erfagan/erfagan"),
    ("ukpol.co.uk", "https://www.ukpol.co.uk"),
    ("gov.uk", "https://www.gov.uk/government/collections/national-referral-mechanism-statistics"),
    ("tiranatimes.com", "https://www.tiranatimes.com"),
    ("ccifa.al", "https://www.ccifa.al"),
    ("polishnews.co.uk", "https://polishnews.co.uk"),
    ("instat.gov.al", "https://www.instat.gov.al"),
    ("bbj.hu", "https://bbj.hu"),
]


def url_for(source: str) -> str:
    for key, url in URLS:
        if key in source:
            return url
    return ""


def shared_rows(file: str, series: str) -> pd.DataFrame:
    df = pd.read_csv(SHARED / file, dtype=str, keep_default_na=False)
    return df[df["series"] == series]


def kind_of(period: str) -> str | None:
    try:
        return parse_period(period).kind
    except ValueError:  # ranges such as 2011-2020 or 2019/20
        return None


def row(period: str, value: float, unit: str, source: str, note: str) -> dict:
    return {
        "period": period,
        "value": value,
        "unit": unit,
        "source_title": source,
        "source_url": url_for(source),
        "note": re.sub(r"\s+", " ", note).strip(),
    }


def copy_rows(spec: Copy) -> list[dict]:
    rows = []
    for _, r in shared_rows(spec.file, spec.series).iterrows():
        if kind_of(r["period"]) not in spec.kinds or parse_period(r["period"]).year > CUTOFF_YEAR:
            continue
        value, unit = float(r["value"]), r["unit"]
        note = "; ".join(x for x in (r["note"], spec.note) if x)
        if unit == "EUR million":
            value, unit = round(value * 1e6 / EUR_PER_GBP), "GBP"
            note = "; ".join(x for x in (note, f"converted from EUR {r['value']} million at {EUR_PER_GBP} EUR per GBP") if x)
        rows.append(row(r["period"] + spec.period_suffix, value, unit, r["source"], note))
    return rows


def share_rows(spec: Share) -> list[dict]:
    num = shared_rows(spec.file, spec.numerator).set_index("period").loc[spec.period]
    den = shared_rows(spec.file, spec.denominator).set_index("period").loc[spec.period]
    value = float(num["value"]) / float(den["value"])
    note = f"{spec.note}: {float(num['value']):,.0f} of {float(den['value']):,.0f}"
    return [row(spec.period, round(value, 4), "fraction", num["source"], note)]


def main() -> None:
    for name, spec in SERIES.items():
        rows = copy_rows(spec) if isinstance(spec, Copy) else share_rows(spec)
        if not rows:
            raise SystemExit(f"{name}: no rows in {spec.file}; check the series name")
        pd.DataFrame(rows).to_csv(OUT / f"{name}.csv", index=False)
        print(f"{name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
