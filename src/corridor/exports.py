"""Exports users ask for: tables as CSV and XLSX, figures as PNG and SVG, and a data dictionary.

Every folder a reporting verb writes gets ``data_dictionary.csv`` (file, column, unit,
meaning, how it aggregates). The meaning of a model output comes from the run's
manifest: ``outputs`` (column -> kind, unit, description, aggregation) when the engine
declares it, otherwise ``output_kinds`` (column -> flow|stock|level) with the unit read
off the column's name. Tables printed in the terminal go through ``print_table`` so
that ``--markdown`` and ``--json`` give the same rows, and a pipe never cuts a name.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from corridor.errors import CorridorInputError

if TYPE_CHECKING:
    import pandas as pd

AGGREGATION_OF_KIND = {"flow": "sum", "stock": "last", "level": "mean"}
AGGREGATION_WORDS = {
    "sum": "summed over the months of a period",
    "last": "value in the last month of a period",
    "mean": "averaged over the months of a period",
}


def _unit_from_name(column: str, kind: str) -> str:
    if column.endswith("_gbp") or "_gbp_" in column:
        return "GBP" if kind != "level" else "GBP (price or level in the month)"
    if column.startswith(("p_", "perceived_")) or column.endswith(("_awareness", "_rate", "_share")):
        return "share (0-1)"
    if column in ("min_sending_age",):
        return "years"
    if kind == "level":
        return "level (see docs/odd.md)"
    return "persons per month" if kind == "flow" else "persons"


def _meaning_from_name(column: str, kind: str) -> str:
    words = column.replace("_gbp", "").replace("_", " ")
    what = {"flow": "monthly flow", "stock": "stock at the end of the month", "level": "monthly level"}.get(kind, kind)
    return f"{words} ({what}; scaled from agents to real people)" if kind != "level" else f"{words} ({what})"


def output_metadata(manifest: dict) -> dict[str, dict[str, str]]:
    """column -> {kind, unit, description, aggregation} from a run manifest (``outputs`` or ``output_kinds``)."""
    declared = manifest.get("outputs")
    if isinstance(declared, dict) and declared:
        out = {}
        for col, m in declared.items():
            kind = m.get("kind", "flow")
            out[col] = {
                "kind": kind,
                "unit": m.get("unit") or _unit_from_name(col, kind),
                "description": m.get("description") or _meaning_from_name(col, kind),
                "aggregation": m.get("aggregation") or AGGREGATION_OF_KIND.get(kind, "sum"),
            }
        return out
    kinds = manifest.get("output_kinds") or {}
    return {
        col: {
            "kind": kind,
            "unit": _unit_from_name(col, kind),
            "description": _meaning_from_name(col, kind),
            "aggregation": AGGREGATION_OF_KIND.get(kind, "sum"),
        }
        for col, kind in kinds.items()
    }


def aggregate(series: pd.DataFrame, column: str, aggregation: str) -> float:
    """One number for a period of monthly values, by the column's aggregation rule."""
    values = series[column].to_numpy(float)
    if values.size == 0:
        return math.nan
    if aggregation == "last":
        return float(values[-1])
    if aggregation == "mean":
        return float(values.mean())
    return float(values.sum())


# ---------------------------------------------------------------- the data dictionary


def dictionary_rows(file: str, columns: dict[str, tuple[str, str, str]]) -> list[dict]:
    """Rows of the dictionary for one file: column -> (unit, meaning, aggregation)."""
    return [
        {"file": file, "column": c, "unit": u, "meaning": m, "aggregation": a} for c, (u, m, a) in columns.items()
    ]


def output_dictionary_rows(file: str, metadata: dict[str, dict[str, str]], columns=None) -> list[dict]:
    names = columns if columns is not None else list(metadata)
    return dictionary_rows(
        file,
        {
            c: (metadata[c]["unit"], metadata[c]["description"], AGGREGATION_WORDS.get(metadata[c]["aggregation"], ""))
            for c in names
            if c in metadata
        },
    )


def write_dictionary(folder: str | Path, rows: list[dict]) -> Path:
    """``data_dictionary.csv`` (and .xlsx) beside the outputs it describes, merged with an existing one."""
    import pandas as pd

    folder = Path(folder)
    path = folder / "data_dictionary.csv"
    new = pd.DataFrame(rows, columns=["file", "column", "unit", "meaning", "aggregation"])
    if path.is_file():
        old = pd.read_csv(path)
        new = pd.concat([old[~old["file"].isin(new["file"])], new], ignore_index=True)
    write_table(new, folder / "data_dictionary", formats=("csv", "xlsx"))
    return path


# ---------------------------------------------------------------- tables and figures


def write_table(df: pd.DataFrame, stem: str | Path, formats=("csv", "xlsx")) -> list[Path]:
    """The table as ``stem.csv`` and ``stem.xlsx`` (openpyxl), written to a temporary name and renamed."""
    from corridor.folders import write_atomic as _atomic

    stem = Path(stem)
    written = []
    for fmt in formats:
        path = stem.with_name(stem.name + "." + fmt)
        if fmt == "csv":
            _atomic(path, lambda tmp: df.to_csv(tmp, index=False, float_format="%.6g"))
        elif fmt == "xlsx":
            _atomic(path, lambda tmp: _write_xlsx(df, tmp, stem.name[:31]))
        else:
            raise ValueError(fmt)
        written.append(path)
    return written


def _write_xlsx(df: pd.DataFrame, tmp: str, sheet: str) -> None:
    with open(tmp, "wb") as fh:  # a handle: the temporary name has no .xlsx suffix to pick the engine by
        df.to_excel(fh, index=False, engine="openpyxl", sheet_name=sheet)


def save_figure(fig, stem: str | Path, dpi: int = 110) -> list[Path]:
    """A matplotlib figure as ``stem.png`` and ``stem.svg``."""
    import matplotlib.pyplot as plt

    stem = Path(stem)
    paths = [stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")]
    try:
        for p in paths:
            fig.savefig(p, dpi=dpi)
    except OSError as exc:
        raise CorridorInputError(f"{stem}: cannot write figure ({exc.strerror}); choose a writable folder") from None
    finally:
        plt.close(fig)
    return paths


def export_folder(folder: str | Path, out: str | Path | None = None) -> tuple[Path, list[str]]:
    """CSV and XLSX of every table of a complete corridor folder (run, ensemble, comparison, sweep,
    calibration), with the data dictionary of a run, into a new folder beside it (``NAME-export``):
    the source folder keeps only what its manifest vouches for."""
    import pandas as pd

    from corridor import folders

    folder = Path(folder)
    manifest_name = "manifest.json" if (folder / "manifest.json").is_file() else "meta.json"
    rerun = f"the command that wrote {folder}"
    manifest = folders.read_manifest(folder, manifest_name, "corridor output folder", lambda _: rerun, "FOLDER")
    tables = sorted(n for n in (manifest.get("files") or {}) if isinstance(n, str) and n.endswith(".parquet"))
    if not tables:
        raise CorridorInputError(f"FOLDER {folder}: its {manifest_name} lists no tables; give a folder written by corridor")
    folders.verify(folder, manifest, tables, "corridor output folder", rerun)
    out = folders.check_output_folder(out if out is not None else folder.parent / f"{folder.name}-export")
    written = []
    with folders.staging(out) as stage:
        for name in tables:
            df = pd.read_parquet(folder / name)
            formats = ("csv", "xlsx") if len(df) <= 1_000_000 else ("csv",)  # Excel's sheet limit
            written += [p.name for p in write_table(df, stage.path / Path(name).stem, formats)]
        if manifest_name == "manifest.json" and "series.parquet" in tables:
            write_run_dictionary(stage.path, manifest, life_events="life_events.parquet" in tables)
            written.append("data_dictionary.csv")
        stage.commit("meta.json", {"kind": "export", "exported_from": str(folder), "tables": tables})
    return out, written


LIFE_EVENT_DICTIONARY = {
    "month_index": ("months", "months since the scenario's start", "-"),
    "month": ("YYYY-MM", "month of the change of state", "-"),
    "person": ("index", "the person (same index in every file of the run)", "-"),
    "from_state": ("life-course state", "state before the change (net change within the month)", "-"),
    "to_state": ("life-course state", "state after the change", "-"),
    "route": ("0 lorry, 1 small boat, -1 none", "route of the person's last crossing", "-"),
    "age_years": ("years", "age at the change", "-"),
    "region": ("region", "origin region (north, tirana_durres, centre_south)", "-"),
    "debt_gbp": ("GBP", "crossing debt owed after the change", "-"),
    "price_gbp": ("GBP", "price of the crossing (departures only)", "-"),
    "sentence_months": ("months", "length of the prison sentence (entries to prison only)", "-"),
    "removal_kind": ("fast_track, enforced, offender, voluntary", "how a return to Albania came about (returns only)", "-"),
}


def write_run_dictionary(folder: str | Path, manifest: dict, life_events: bool | None = None) -> Path:
    """The data dictionary of a run folder: every column of series.parquet (and of life_events.parquet)."""
    rows = dictionary_rows("series", {"month": ("YYYY-MM", "calendar month", "the period itself")})
    rows += output_dictionary_rows("series", output_metadata(manifest))
    if life_events if life_events is not None else (Path(folder) / "life_events.parquet").is_file():
        rows += dictionary_rows("life_events", LIFE_EVENT_DICTIONARY)
    return write_dictionary(folder, rows)


# ---------------------------------------------------------------- terminal tables


def stdout_console(quiet: bool = False):
    """A Rich console that, when stdout is not a terminal, never wraps or cuts a name."""
    from rich.console import Console

    return Console(quiet=quiet) if sys.stdout.isatty() else Console(width=1000, soft_wrap=True, quiet=quiet)


def markdown_table(df: pd.DataFrame) -> str:
    cells = df.astype(str).map(lambda s: s.replace("|", "\\|"))
    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in cells.itertuples(index=False)]
    return "\n".join(lines)


def _jsonable(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if hasattr(x, "item"):
        return _jsonable(x.item())
    return x


def records(df: pd.DataFrame) -> list[dict]:
    return [{k: _jsonable(v) for k, v in row.items()} for row in df.to_dict(orient="records")]


def write_json(data, target: str | Path) -> None:
    """JSON to a file, or to stdout for ``-``."""
    text = json.dumps(data, indent=2, default=_jsonable, allow_nan=False)
    if str(target) == "-":
        print(text)
        return
    path = Path(target)
    if path.is_dir():
        raise CorridorInputError(f"--json {path}: is a folder; give a file name")
    try:
        path.write_text(text + "\n")
    except OSError as exc:
        raise CorridorInputError(f"--json {path}: cannot write ({exc.strerror}); choose a writable path") from None


def print_table(df: pd.DataFrame, title: str, markdown: bool = False, console=None, left: tuple[str, ...] = ()) -> None:
    """Print a table of display strings: Markdown (plain, never wrapped) or a Rich table."""
    if markdown:
        if title:
            print(f"**{title}**\n")
        print(markdown_table(df) + "\n")
        return
    from rich.table import Table

    console = console or stdout_console()
    table = Table(title=title)
    for col in df.columns:
        table.add_column(str(col), justify="left" if col in left else "right", overflow="fold")
    for row in df.astype(str).itertuples(index=False):
        table.add_row(*row)
    console.print(table)


def significant(x: float, digits: int = 3) -> str:
    """A number rounded to what the model can support, with thousands separators."""
    if x is None or not math.isfinite(x):
        return "-"
    if abs(x) < 1e-9:  # the rounding residue of a difference of equal sums
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    if abs(x) >= 1:  # counts and money: no decimals below one person or one pound
        return f"{round(x, min(0, digits - 1 - magnitude)):,.0f}"
    rounded = round(x, -magnitude + digits - 1)
    if abs(rounded) >= 10 ** (digits - 1) or float(rounded).is_integer():
        return f"{rounded:,.0f}"
    return f"{rounded:,.{max(0, digits - 1 - magnitude)}f}"
