"""A round's aggregated results as CSV and XLSX: per dimension and per statement, never per person.

The dimension rows come from the report dict (``network_report``), the statement rows
from ``RoundItemStat`` (means after reverse-coding, counts): no individual response
ever leaves through an export. A suppressed or still open round exports no scores.
A statement mean of fewer than k answers is left empty, as a dimension score is
(rule 5). Every text cell a spreadsheet would run as a formula is neutralised.
"""

from __future__ import annotations

import io

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..labels import LEVEL_LABELS
from ..models import Round, RoundItemStat
from .exports import safe_cell
from .reports import round2

DIMENSION_COLUMNS = [
    "network", "region", "period", "questionnaire", "version", "status",
    "dimension", "title", "kind", "stage", "score", "level", "level_name",
    "respondents", "organizations", "sd", "ci95_low", "ci95_high",
    "national_percentile", "region_percentile", "national_median", "region_median",
    "benchmark_networks", "previous_period", "change", "change_significant",
    "target_level", "target_gap",
]
ITEM_COLUMNS = [
    "network", "period", "questionnaire", "version", "dimension", "item", "text",
    "mean", "n", "dont_know", "organizations", "organization_sd",
]
TABLES = ("dimensions", "items")


def report_status(report: dict) -> str:
    """shown, suppressed (fewer than k responses) or open (not closed yet)."""
    if report["state"] != "closed":
        return "open"
    return "suppressed" if report["suppressed"] else "shown"


def _safe_frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame([{c: safe_cell(row.get(c)) for c in columns} for row in rows],
                         columns=columns, dtype=object)
    return frame


def dimension_frame(report: dict) -> pd.DataFrame:
    """One row per dimension, every figure as the report dict has it (rounded)."""
    status = report_status(report)
    base = {
        "network": report["network"], "region": report["region"], "period": report["period"],
        "questionnaire": report["questionnaire"]["id"],
        "version": report["questionnaire"]["version"], "status": status,
    }
    if status != "shown":
        return _safe_frame([base], DIMENSION_COLUMNS)
    targets = {t["dimension"]: t for t in (report.get("targets") or {}).get("dimensions", [])}
    rows = []
    for dim in report["dimensions"]:
        bench = dim["benchmark"] or {}
        trend = dim["trend"] or {}
        target = targets.get(dim["id"], {})
        region_ok = dim.get("region_networks", 0) >= 3
        rows.append({
            **base,
            "dimension": dim["id"], "title": dim["title"], "kind": dim["kind"],
            "stage": dim["stage"], "score": dim["score"], "level": dim["level"],
            "level_name": str(LEVEL_LABELS[dim["level"]]) if dim["level"] else None,
            "respondents": dim["respondents"], "organizations": dim["organizations"],
            "sd": dim["sd"],
            "ci95_low": dim["ci95"][0] if dim["ci95"] else None,
            "ci95_high": dim["ci95"][1] if dim["ci95"] else None,
            "national_percentile": bench.get("national_percentile"),
            # Withheld, as on the page, when the region has fewer than 3 networks.
            "region_percentile": bench.get("region_percentile") if region_ok else None,
            "national_median": bench.get("national_median"),
            "region_median": dim.get("region_median"),
            "benchmark_networks": bench.get("networks"),
            "previous_period": trend.get("previous_period"),
            "change": trend.get("delta"),
            "change_significant": trend.get("significant") if trend else None,
            "target_level": target.get("level"),
            "target_gap": target.get("gap"),
        })
    return _safe_frame(rows, DIMENSION_COLUMNS)


def item_frame(session: Session, round_: Round, report: dict) -> pd.DataFrame:
    """One row per likert statement: mean after reverse-coding, answers, don't-knows."""
    if report_status(report) != "shown":
        return _safe_frame([], ITEM_COLUMNS)
    k = report["min_respondents"]
    stats = session.scalars(
        select(RoundItemStat).where(RoundItemStat.round_id == round_.id)
    ).all()
    by_item = {stat.item_id: stat for stat in stats}
    texts = report.get("item_texts", {})
    order = {item_id: index for index, item_id in enumerate(texts)}
    rows = []
    for stat in sorted(by_item.values(), key=lambda s: (order.get(s.item_id, 10**6), s.item_id)):
        enough = stat.n >= k
        rows.append({
            "network": report["network"], "period": report["period"],
            "questionnaire": report["questionnaire"]["id"],
            "version": report["questionnaire"]["version"],
            "dimension": stat.dimension_id, "item": stat.item_id,
            "text": texts.get(stat.item_id),
            "mean": round2(stat.mean) if enough else None,
            "n": stat.n, "dont_know": stat.dont_know,
            "organizations": stat.organizations,
            "organization_sd": round2(stat.organization_sd) if enough else None,
        })
    return _safe_frame(rows, ITEM_COLUMNS)


def report_csv(session: Session, round_: Round, report: dict, table: str = "dimensions") -> str:
    """One table as CSV (UTF-8, comma-separated, decimal point)."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; choose one of {', '.join(TABLES)}")
    frame = dimension_frame(report) if table == "dimensions" else item_frame(
        session, round_, report)
    return frame.to_csv(index=False, lineterminator="\n")


def report_xlsx(session: Session, round_: Round, report: dict) -> bytes:
    """Both tables as sheets of one workbook (written by openpyxl through pandas)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        dimension_frame(report).to_excel(writer, sheet_name="dimensions", index=False)
        item_frame(session, round_, report).to_excel(writer, sheet_name="items", index=False)
    return buffer.getvalue()


def export_filename(report: dict, extension: str, table: str | None = None) -> str:
    """An ASCII file name from the network and period (names may hold any letter)."""
    from werkzeug.utils import secure_filename

    stem = secure_filename(f"{report['network']}-{report['period']}") or "report"
    suffix = f"-{table}" if table else ""
    return f"{stem}{suffix}.{extension}"
