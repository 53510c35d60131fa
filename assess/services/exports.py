"""Aggregated exports (CSV); cells that a spreadsheet would run as formulas are neutralised."""

from __future__ import annotations

import csv
import io

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Prefix text a spreadsheet would treat as a formula (CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def national_csv(data: dict) -> str:
    """One row per region (and 'national') and dimension; empty cells are suppressed."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["period", "questionnaire", "version", "region", "dimension", "networks",
         "mean", "median", "p25", "p75", "suppressed"]
    )
    blocks = [(b["region"], b["dimensions"]) for b in data["regions"]]
    blocks.append(("national", data["national"]["dimensions"]))
    for region, cells in blocks:
        for dim_id, cell in cells.items():
            values = (
                [cell["networks"], cell["mean"], cell["median"], cell["p25"], cell["p75"], "no"]
                if cell
                else ["", "", "", "", "", "yes"]
            )
            writer.writerow(
                [safe_cell(x) for x in [data["period"], data["questionnaire"]["id"],
                                        data["questionnaire"]["version"], region, dim_id, *values]]
            )
    return out.getvalue()
