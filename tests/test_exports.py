"""Exports: tables as CSV and XLSX, figures as PNG and SVG, a data dictionary beside every output, pipe-safe tables."""

import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import write_short_scenario

from corridor.exports import export_folder, output_metadata, significant


def test_output_metadata_reads_declared_outputs_and_falls_back_to_kinds():
    declared = {"outputs": {"departures": {"kind": "flow", "unit": "persons", "description": "left for the UK", "aggregation": "sum"}}}
    assert output_metadata(declared)["departures"]["description"] == "left for the UK"
    legacy = output_metadata({"output_kinds": {"prison_population": "stock", "price_lorry_gbp": "level", "remittances_gbp": "flow"}})
    assert legacy["prison_population"]["aggregation"] == "last" and legacy["prison_population"]["unit"] == "persons"
    assert legacy["price_lorry_gbp"]["aggregation"] == "mean" and legacy["remittances_gbp"]["unit"] == "GBP"


def test_a_run_folder_exports_every_table_and_its_data_dictionary(tmp_path):
    from corridor.engine import Simulation
    from corridor.scenario import load_scenario

    folder = Simulation(load_scenario(write_short_scenario(tmp_path / "short.yaml")), agents=500, seed=1).run().write(tmp_path / "run")
    assert (folder / "data_dictionary.csv").is_file()  # every run folder carries its dictionary
    target, written = export_folder(folder)
    assert target == tmp_path / "run-export" and {"series.csv", "series.xlsx", "data_dictionary.csv"} <= set(written)
    series = pd.read_parquet(folder / "series.parquet")
    dictionary = pd.read_csv(target / "data_dictionary.csv")
    assert set(series.columns) <= set(dictionary["column"])
    assert dictionary[["unit", "meaning", "aggregation"]].notna().all().all()
    assert pd.read_excel(target / "series.xlsx")["departures"].sum() == pytest.approx(series["departures"].sum())
    assert export_folder(folder)[0] == target  # exported again: its own folder is replaced whole


def test_numbers_are_rounded_to_three_significant_digits():
    assert [significant(x) for x in (4123.4, -0.01234, 0.0, 987654.0, float("nan"))] == ["4,120", "-0.0123", "0", "988,000", "-"]


def test_a_piped_table_keeps_long_scenario_names_whole(tmp_path):
    long = "a-very-long-scenario-name-that-a-narrow-terminal-would-cut-in-two"
    path = write_short_scenario(tmp_path / f"{long}.yaml", name=long)
    other = write_short_scenario(tmp_path / "other.yaml", name="other-scenario-with-a-name-just-as-long-as-the-first-one")
    proc = subprocess.run([sys.executable, "-m", "corridor", "compare", str(path), str(other), "--agents", "500"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert long in proc.stdout and "other-scenario-with-a-name-just-as-long-as-the-first-one" in proc.stdout
    assert "…" not in proc.stdout


def test_the_run_summary_prints_markdown_and_json(tmp_path):
    path = write_short_scenario(tmp_path / "short.yaml")
    proc = subprocess.run([sys.executable, "-m", "corridor", "run", str(path), "--agents", "500", "--out", str(tmp_path / "r"),
                           "--markdown", "--json", str(tmp_path / "s.json")], capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "| output | total | peak | peak month | last month |" in proc.stdout
    rows = json.loads((tmp_path / "s.json").read_text())["rows"]
    assert rows[0]["output"] == "departures" and rows[0]["total"] > 0
