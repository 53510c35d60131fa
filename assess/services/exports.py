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


# -- the national dashboard's downloads ----------------------------------------------------------


def _table_rows(data: dict) -> list[list]:
    """The region x dimension rows of national_csv: region, dimension, figures, suppressed."""
    blocks = [(b["region"], b["dimensions"]) for b in data["regions"]]
    blocks.append(("national", data["national"]["dimensions"]))
    rows = []
    for region, cells in blocks:
        for dim_id, cell in cells.items():
            figures = (
                [cell["networks"], cell["mean"], cell["median"], cell["p25"], cell["p75"], "no"]
                if cell
                else [None, None, None, None, None, "yes"]
            )
            rows.append([region, dim_id, *figures])
    return rows


def dashboard_csv(data: dict) -> str:
    """national_csv for an unfiltered dashboard; with a theme filter, a `theme` column is added.

    Without a filter the output is exactly national_csv's, so a file never changes
    meaning; a filtered file says on every row which networks it covers.
    """
    if not data.get("theme"):
        return national_csv(data)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["period", "questionnaire", "version", "region", "dimension", "networks",
         "mean", "median", "p25", "p75", "suppressed", "theme"]
    )
    for row in _table_rows(data):
        values = ["" if v is None else v for v in row]
        writer.writerow([safe_cell(x) for x in [data["period"], data["questionnaire"]["id"],
                                                data["questionnaire"]["version"], *values,
                                                data["theme"]]])
    return out.getvalue()


def _sheet(workbook, title: str, header: list[str], rows: list[list]) -> None:
    from openpyxl.styles import Font

    sheet = workbook.create_sheet(title)
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for values in rows:
        sheet.append(values)
    # Text is text: openpyxl would store a string starting with "=" as a formula.
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    sheet.freeze_panes = "A2"
    for column in sheet.columns:
        width = max(len(str(c.value)) if c.value is not None else 0 for c in column)
        sheet.column_dimensions[column[0].column_letter].width = min(max(width + 2, 8), 60)


def national_xlsx(data: dict) -> bytes:
    """The national dashboard as a workbook: the table, stages, trends and funnel plot data.

    Suppressed cells are empty with suppressed = "yes"; nothing that the dashboard
    withholds is in the file.
    """
    from openpyxl import Workbook

    workbook = Workbook()
    about = workbook.active
    about.title = "About"
    theme = data.get("theme") or ""
    lead = [data["period"], data["questionnaire"]["id"], data["questionnaire"]["version"], theme]
    for key, value in [
        ("period", data["period"]), ("questionnaire", data["questionnaire"]["id"]),
        ("version", data["questionnaire"]["version"]), ("theme", theme or "(all networks)"),
        ("note", "Closed rounds with enough responses only; a group of fewer than 3 "
                 "networks is never shown (suppressed = yes)."),
    ]:
        about.append([key, value])
    for row in about.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    about.column_dimensions["A"].width = 16
    about.column_dimensions["B"].width = 90

    head = ["period", "questionnaire", "version", "theme"]
    _sheet(workbook, "Regions",
           [*head, "region", "dimension", "networks", "mean", "median", "p25", "p75",
            "suppressed"],
           [[*lead, *row] for row in _table_rows(data)])
    if data.get("stages"):
        stage_rows = []
        for block in [*data["stages"]["regions"],
                      {"region": "national", **data["stages"]["national"]}]:
            counts = block["counts"] or [None] * 5
            stage_rows.append([*lead, block["region"], block["networks"] if block["counts"]
                               else None, *counts, "no" if block["counts"] else "yes"])
        _sheet(workbook, "Stages",
               [*head, "region", "networks", *(f"stage_{s}" for s in range(5)), "suppressed"],
               stage_rows)
    trend_rows = []
    for dim, trend in data.get("trends", {}).items():
        lines = [("national", trend["national"])]
        lines += [(r["region"], r["medians"]) for r in trend["regions"]]
        for region, medians in lines:
            for label, median in zip(trend["periods"], medians, strict=True):
                trend_rows.append([*lead, dim, region, label, median])
    _sheet(workbook, "Trends", [*head, "dimension", "region", "trend_period", "median"],
           trend_rows)
    funnel_rows, point_rows = [], []
    for dim, funnel in data.get("funnel", {}).items():
        if funnel is None:
            funnel_rows.append([*lead, dim, None, None, None, None, "yes"])
            continue
        funnel_rows.append([*lead, dim, funnel["networks"], funnel["drawn"], funnel["mean"],
                            funnel["sd"], "no"])
        for point in funnel["points"]:
            point_rows.append([*lead, dim, point["organizations"], point["score"],
                               point["band"]])
    _sheet(workbook, "Funnel",
           [*head, "dimension", "networks", "drawn", "mean", "sd", "suppressed"], funnel_rows)
    _sheet(workbook, "Funnel points", [*head, "dimension", "organizations", "score", "band"],
           point_rows)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def instrument_csv(report: dict) -> str:
    """Instrument quality, one row per likert item, with its dimension's alpha."""
    low, high = report["scale"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        ["period", "questionnaire", "version", "dimension", "alpha", "alpha_respondents",
         "alpha_flag", "item", "reverse", "item_total", "item_total_flag", "responses",
         "answered", "dont_know", "no_answer", "dont_know_rate",
         *(f"count_{v}" for v in range(low, high + 1))]
    )
    for dim in report["dimensions"]:
        for item in dim["items"]:
            writer.writerow([safe_cell(x) for x in [
                report["period"], report["questionnaire"]["id"],
                report["questionnaire"]["version"], dim["id"],
                "" if dim["alpha"] is None else dim["alpha"], dim["respondents"],
                "yes" if dim["alpha_flag"] else "no", item["id"],
                "yes" if item["reverse"] else "no",
                "" if item["item_total"] is None else item["item_total"],
                "yes" if item["item_total_flag"] else "no", report["responses"],
                item["answered"], item["dont_know"], item["no_answer"],
                "" if item["dont_know_rate"] is None else item["dont_know_rate"],
                *(item["distribution"][str(v)] for v in range(low, high + 1)),
            ]])
    return out.getvalue()
