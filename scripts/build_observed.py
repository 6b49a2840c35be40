"""Rebuild src/corridor/data/observed/*.csv from the tidy shared tables in shared/data/.

Run: .venv/bin/python scripts/build_observed.py [/work/shared/data]
Each output file holds one series: year (or month), value, unit, source_title, source_url, note.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

SHARED = Path(sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data")
OUT = Path(__file__).resolve().parents[1] / "src" / "corridor" / "data" / "observed"
EUR_PER_GBP = 1.16  # the scenario's origin_economy.eur_per_gbp (EUR 150 = GBP 129 in 003_6a42180f8ac45b94.txt)

# out name: (shared file, shared series, period kind, note added)
SERIES = {
    "small_boat_arrivals_albanian": ("uk_small_boats.csv", "small_boat_arrivals_albanian", "year", ""),
    "asylum_applications_main": ("uk_asylum_albanian.csv", "asylum_applications_main", "year", "main applicants"),
    "nrm_referrals_albanian": ("uk_nrm_referrals.csv", "nrm_referrals_albanian", "year", ""),
    "prisoners_albanian_england_wales": ("uk_prisoners_albanian.csv", "prisoners_albanian_england_wales", "month", ""),
    "returns_enforced": ("uk_returns_albania.csv", "returns_enforced", "year", ""),
    "returns_total": ("uk_returns_albania.csv", "returns_total", "year", "includes refused entry at port and departed"),
    "returns_voluntary": ("uk_returns_albania.csv", "returns_voluntary", "year", ""),
    "foreign_national_offender_returns": ("uk_returns_albania.csv", "foreign_national_offender_returns", "year", ""),
    "detected_at_uk_ports": ("uk_irregular_detections_albanian.csv", "detected_at_uk_ports", "year", ""),
    "stopped_at_juxtaposed_controls": (
        "uk_irregular_detections_albanian.csv",
        "stopped_at_juxtaposed_controls",
        "year",
        "",
    ),
    "dead_and_missing_route_to_uk": ("channel_deaths.csv", "dead_and_missing_route_to_uk", "year", "all nationalities"),
    "deaths_channel_at_sea": ("channel_deaths.csv", "deaths_channel_at_sea", "year", "all nationalities"),
    "remittances_inflow": ("albania_economy.csv", "remittances_inflow", "year", ""),
    "remittances_from_uk": ("albania_economy.csv", "remittances_from_uk", "year", ""),
}

URLS = [
    ("britishredcrosssociety/asylum", "https://github.com/britishredcrosssociety/asylum"),
    ("erfagan/erfagan", "https://github.com/erfagan/erfagan"),
    ("ukpol.co.uk", "https://www.ukpol.co.uk"),
    ("gov.uk", "https://www.gov.uk/government/collections/national-referral-mechanism-statistics"),
    ("tiranatimes.com", "https://www.tiranatimes.com"),
    ("ccifa.al", "https://www.ccifa.al"),
    ("polishnews.co.uk", "https://polishnews.co.uk"),
]


def url_for(source: str) -> str:
    for key, url in URLS:
        if key in source:
            return url
    return ""


def main() -> None:
    for name, (file, series, kind, extra) in SERIES.items():
        df = pd.read_csv(SHARED / file, dtype=str, keep_default_na=False)
        df = df[df["series"] == series]
        if kind == "year":
            df = df[df["period"].str.fullmatch(r"\d{4}")]
        else:
            df = df[df["period"].str.fullmatch(r"\d{4}-\d{2}")]
        rows = []
        for _, r in df.iterrows():
            value = float(r["value"])
            unit = r["unit"]
            note = "; ".join(x for x in (r["note"], extra) if x)
            if unit == "EUR million":
                value = round(value * 1e6 / EUR_PER_GBP)
                unit = "GBP"
                note = "; ".join(
                    x for x in (note, f"converted from EUR {r['value']} million at {EUR_PER_GBP} EUR per GBP") if x
                )
            rows.append(
                {
                    kind: r["period"],
                    "value": value,
                    "unit": unit,
                    "source_title": r["source"],
                    "source_url": url_for(r["source"]),
                    "note": re.sub(r"\s+", " ", note),
                }
            )
        pd.DataFrame(rows).to_csv(OUT / f"{name}.csv", index=False)
        print(f"{name}: {len(rows)} rows")


if __name__ == "__main__":
    main()
