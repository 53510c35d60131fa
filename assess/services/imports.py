"""Import a wide CSV of responses as survey tools export it: all or nothing.

Every problem of the file is collected first (with line numbers); only a file
without problems is written, in one transaction, with bulk inserts.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select, tuple_, update
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from .. import scoring
from ..models import (
    ORGANIZATION_TYPES,
    Answer,
    Network,
    Organization,
    Period,
    Region,
    Response,
    Round,
)
from ..models.survey import CLOSED, SUBMITTED
from ..questionnaire import Questionnaire, QuestionnaireError
from .questionnaires import definition_of, find_version
from .results import BATCH, insert_columns, recompute_rounds, store_response_scores

FIXED_COLUMNS = ["region", "network", "period", "respondent", "organization", "submitted_at"]
OPTIONAL_COLUMNS = ["organization_type"]
MAX_IMPORT_BYTES = 200 * 1024 * 1024
MAX_TEXT_LENGTH = 5000
MAX_NAME_LENGTH = 200
DONT_KNOW = "dk"


class ImportError_(ValueError):  # noqa: N801 - the builtin ImportError means something else
    """The file cannot be imported; `problems` lists each with its line number."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s): " + "; ".join(problems[:3]))


@dataclass
class ImportSummary:
    responses: int
    answers: int
    rounds: int
    created: dict[str, int]

    def __str__(self) -> str:
        made = ", ".join(f"{n} {what}" for what, n in self.created.items() if n) or "nothing"
        return (
            f"Imported {self.responses} responses ({self.answers} answers) into "
            f"{self.rounds} rounds; created {made}."
        )


def read_table(raw: bytes) -> pd.DataFrame:
    """Decode (UTF-8, with or without BOM) and parse with ';' or ',' as delimiter."""
    if b"\x00" in raw[:65536] or raw[:4] == b"PK\x03\x04":
        raise ImportError_(["line 1: the file is not a CSV text file (it looks binary or zipped)"])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ImportError_([f"line {line}: the file is not UTF-8 text; save it as CSV UTF-8"]) \
            from None
    if "\x00" in text:
        raise ImportError_(["the file contains NUL characters"])
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
            na_filter=False, skipinitialspace=False, quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ImportError_([f"the file is not a valid CSV table: {exc}".split("\n")[0]]) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _line(index) -> int:
    """Line number in the file of a data row (the header is line 1)."""
    return int(index) + 2


def check_columns(frame: pd.DataFrame, questionnaire: Questionnaire) -> list[str]:
    item_ids = [item.id for item in questionnaire.items]
    known = set(FIXED_COLUMNS) | set(OPTIONAL_COLUMNS) | set(item_ids)
    problems = []
    for column in frame.columns:
        if column not in known:
            problems.append(f"line 1: unknown column '{column}'")
    duplicates = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
    for column in duplicates:
        problems.append(f"line 1: column '{column}' appears more than once")
    for column in FIXED_COLUMNS:
        if column not in frame.columns:
            problems.append(f"line 1: missing column '{column}'")
    for item_id in item_ids:
        if item_id not in frame.columns:
            problems.append(f"line 1: missing column for item '{item_id}'")
    return problems


def check_rows(frame: pd.DataFrame, questionnaire: Questionnaire) -> list[str]:
    """Every cell problem, vectorised per column; sorted by line."""
    problems: list[tuple[int, str]] = []

    def report(mask: pd.Series, message) -> None:
        for index in frame.index[mask.to_numpy()]:
            problems.append((_line(index), message(index)))

    for column in ("region", "network", "period", "respondent"):
        values = frame[column].str.strip()
        report(values == "", lambda _i, c=column: f"'{c}' is empty")
        report(values.str.len() > MAX_NAME_LENGTH,
               lambda _i, c=column: f"'{c}' is longer than {MAX_NAME_LENGTH} characters")
    report(frame["organization"].str.len() > MAX_NAME_LENGTH,
           lambda _i: f"'organization' is longer than {MAX_NAME_LENGTH} characters")
    if "organization_type" in frame.columns:
        types = frame["organization_type"].str.strip()
        bad = (types != "") & ~types.isin(ORGANIZATION_TYPES)
        report(bad, lambda i: f"organization_type '{frame.at[i, 'organization_type']}' is not one"
               f" of {', '.join(ORGANIZATION_TYPES)}")

    submitted = pd.to_datetime(frame["submitted_at"].str.strip(), errors="coerce", format="ISO8601")
    report(submitted.isna(),
           lambda i: f"submitted_at '{frame.at[i, 'submitted_at']}' is not a date and time "
           "(use ISO 8601, e.g. 2026-03-15T10:30:00)")

    keys = frame[["network", "period", "respondent"]].apply(lambda s: s.str.strip())
    duplicated = keys.duplicated(keep="first")
    report(duplicated, lambda i: f"respondent '{keys.at[i, 'respondent']}' appears twice for "
           f"network '{keys.at[i, 'network']}' in period '{keys.at[i, 'period']}'")

    scale = questionnaire.scale
    allowed = {str(v) for v in range(scale.min, scale.max + 1)} | {""}
    if scale.dont_know:
        allowed.add(DONT_KNOW)
    for item in questionnaire.items:
        cells = frame[item.id].str.strip()
        if item.is_scored:
            bad = ~cells.str.lower().isin(allowed)
            report(bad, lambda i, c=item.id: f"column '{c}': '{frame.at[i, c]}' is not a value "
                   f"of the scale {scale.min}..{scale.max}"
                   + (f", '{DONT_KNOW}'" if scale.dont_know else "") + " or empty")
        else:
            report(cells.str.len() > MAX_TEXT_LENGTH,
                   lambda _i, c=item.id: f"column '{c}': text longer than {MAX_TEXT_LENGTH} chars")
    problems.sort(key=lambda pair: pair[0])
    return [f"line {line}: {message}" for line, message in problems]


def import_responses(
    session: Session,
    path: str | Path,
    questionnaire_slug: str,
    version: int | None = None,
    default_k: int = 5,
) -> ImportSummary:
    """Validate the whole file, then write it in the caller's transaction (the caller commits)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise ImportError_([f"the file is larger than {MAX_IMPORT_BYTES // 2**20} MB"])
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportError_([f"cannot read {path}: {exc.strerror}"]) from None
    return import_frame(session, read_table(raw), questionnaire_slug, version, default_k)


def import_frame(
    session: Session,
    frame: pd.DataFrame,
    questionnaire_slug: str,
    version: int | None = None,
    default_k: int = 5,
) -> ImportSummary:
    """Validate a table of string cells laid out like the CSV, then write it (caller commits)."""
    try:
        qrow = find_version(session, questionnaire_slug, version)
    except QuestionnaireError as exc:
        raise ImportError_(exc.problems) from None
    questionnaire = definition_of(qrow)
    problems = check_columns(frame, questionnaire)
    if problems:
        raise ImportError_(problems)
    if frame.empty:
        raise ImportError_(["the file has a header but no responses"])
    frame = frame.reset_index(drop=True)
    problems = check_rows(frame, questionnaire)
    for column in ("region", "network", "period", "respondent", "organization"):
        frame[column] = frame[column].str.strip()
    if "organization_type" not in frame.columns:
        frame["organization_type"] = ""
    problems += _check_against_database(session, frame, qrow.id)
    if problems:
        raise ImportError_(problems)
    return _write(session, frame, questionnaire, qrow.id, default_k)


def _check_against_database(session: Session, frame: pd.DataFrame, questionnaire_id: int):
    problems = []
    pairs = frame[["network", "region"]].drop_duplicates()
    inconsistent = pairs[pairs["network"].duplicated(keep=False)]
    for name in sorted(set(inconsistent["network"])):
        first = frame.index[frame["network"] == name][0]
        problems.append(f"line {_line(first)}: network '{name}' is given in several regions")
    existing = dict(
        session.execute(
            select(Network.name, Region.name)
            .join(Region, Network.region_id == Region.id)
            .where(Network.name.in_(set(frame["network"])))
        ).all()
    )
    for row in pairs.itertuples():
        if row.network in existing and existing[row.network] != row.region:
            first = frame.index[frame["network"] == row.network][0]
            problems.append(
                f"line {_line(first)}: network '{row.network}' belongs to region "
                f"'{existing[row.network]}', not '{row.region}'"
            )
    # Respondents already stored for the same network and period (an import run twice).
    stored = session.execute(
        select(Network.name, Period.label, Response.respondent_key)
        .join(Round, Response.round_id == Round.id)
        .join(Network, Round.network_id == Network.id)
        .join(Period, Round.period_id == Period.id)
        .where(
            Network.name.in_(set(frame["network"])),
            Period.label.in_(set(frame["period"])),
            Round.questionnaire_id == questionnaire_id,
        )
    ).all()
    if stored:
        stored_keys = pd.MultiIndex.from_tuples(stored)
        keys = pd.MultiIndex.from_frame(frame[["network", "period", "respondent"]])
        for index in frame.index[keys.isin(stored_keys)]:
            problems.append(
                f"line {_line(index)}: respondent '{frame.at[index, 'respondent']}' of network "
                f"'{frame.at[index, 'network']}' in period '{frame.at[index, 'period']}' "
                "is already stored"
            )
    return problems


def _ensure(session: Session, model, keys: list[str], wanted: list[dict], created: dict,
            label: str) -> dict[tuple, int]:
    """Ids of the rows with these key values, inserting the missing ones: a few queries in all.

    `wanted` holds the key columns plus the values a new row gets.
    """
    key_columns = [getattr(model, key) for key in keys]
    found: dict[tuple, int] = {}
    wanted_keys = [tuple(row[key] for key in keys) for row in wanted]
    for start in range(0, len(wanted_keys), 2000):
        chunk = wanted_keys[start : start + 2000]
        condition = (key_columns[0].in_([k[0] for k in chunk]) if len(keys) == 1
                     else tuple_(*key_columns).in_(chunk))
        for row in session.execute(select(model.id, *key_columns).where(condition)):
            found[tuple(row[1:])] = row[0]
    missing = [row for row, key in zip(wanted, wanted_keys, strict=True) if key not in found]
    for start in range(0, len(missing), BATCH):
        chunk = missing[start : start + BATCH]
        table = model.__table__
        statement = table.insert().returning(
            table.c.id, *(table.c[key] for key in keys), sort_by_parameter_order=True
        )
        result = session.execute(statement, chunk)
        for row in result:
            found[tuple(row[1:])] = row[0]
    created[label] += len(missing)
    return found


def _write(session, frame, questionnaire, questionnaire_id, default_k) -> ImportSummary:
    created: dict[str, int] = {"regions": 0, "networks": 0, "organisations": 0,
                               "periods": 0, "rounds": 0}
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"], format="ISO8601", utc=True)
    frame["submitted_at"] = frame["submitted_at"].dt.tz_localize(None)

    region_ids = _ensure(session, Region, ["name"],
                         [{"name": name} for name in sorted(set(frame["region"]))],
                         created, "regions")
    pairs = frame[["network", "region"]].drop_duplicates()
    network_ids = _ensure(
        session, Network, ["name"],
        [{"name": n, "region_id": region_ids[(r,)], "is_named_nationally": True}
         for n, r in zip(pairs["network"], pairs["region"], strict=True)],
        created, "networks",
    )
    orgs = frame[frame["organization"] != ""].drop_duplicates(["network", "organization"])
    organization_ids = _ensure(
        session, Organization, ["network_id", "name"],
        [{"network_id": network_ids[(n,)], "name": o, "type": t or "other"}
         for n, o, t in zip(orgs["network"], orgs["organization"], orgs["organization_type"],
                            strict=True)],
        created, "organisations",
    )
    firsts = frame.groupby("period")["submitted_at"].min()
    period_ids = _ensure(session, Period, ["label"],
                         [{"label": label} for label in firsts.index], created, "periods")
    for label, first in firsts.items():
        period = session.get(Period, period_ids[(label,)])
        first = first.to_pydatetime()
        if period.first_submitted_at is None or first < period.first_submitted_at:
            period.first_submitted_at = first
    network_periods = frame[["network", "period"]].drop_duplicates()
    round_ids = _ensure(
        session, Round, ["network_id", "period_id", "questionnaire_id"],
        [{"network_id": network_ids[(n,)], "period_id": period_ids[(p,)],
          "questionnaire_id": questionnaire_id, "state": CLOSED, "data_version": 1}
         for n, p in zip(network_periods["network"], network_periods["period"], strict=True)],
        created, "rounds",
    )
    # Existing rounds get new data: raise their version so cached results are rebuilt.
    ids = list(round_ids.values())
    for start in range(0, len(ids), 5000):
        session.execute(update(Round).where(Round.id.in_(ids[start : start + 5000]))
                        .values(data_version=Round.data_version + 1))
    rounds = {
        (n, p): round_ids[(network_ids[(n,)], period_ids[(p,)], questionnaire_id)]
        for n, p in zip(network_periods["network"], network_periods["period"], strict=True)
    }
    session.flush()

    frame["round_id"] = [rounds[key] for key in zip(frame["network"], frame["period"],
                                                     strict=True)]
    # A plain list, not a frame column: pandas would turn the missing ids into NaN floats.
    response_org_ids = [
        organization_ids[(network_ids[(n,)], o)] if o else None
        for n, o in zip(frame["network"], frame["organization"], strict=True)
    ]
    response_rows = [
        {"round_id": int(r), "organization_id": o, "respondent_key": k, "status": SUBMITTED,
         "submitted_at": s.to_pydatetime(), "updated_at": s.to_pydatetime()}
        for r, o, k, s in zip(frame["round_id"], response_org_ids, frame["respondent"],
                              frame["submitted_at"], strict=True)
    ]
    response_ids = _insert_responses(session, response_rows)
    frame["response_id"] = response_ids

    answers, scored = _long_answers(frame, questionnaire)
    insert_columns(session, Answer, answers)
    store_response_scores(session, scoring.score_respondents(scored, questionnaire), [])
    session.flush()
    _refresh_planner_statistics(session)
    recompute_rounds(session, ids, default_k)
    return ImportSummary(len(response_ids), len(answers["response_id"]), len(rounds),
                         {k: v for k, v in created.items()})


def _refresh_planner_statistics(session: Session) -> None:
    """After a bulk load on PostgreSQL, give the planner row counts before aggregating.

    Tables filled in this very transaction look empty to the planner until ANALYZE (which
    counts this transaction's own rows), and the per-round aggregates then sort millions
    of answers on disk; a larger work_mem for this transaction keeps them in memory.
    """
    if session.connection().dialect.name != "postgresql":
        return
    session.execute(sql_text("SET LOCAL work_mem = '64MB'"))
    session.execute(sql_text("ANALYZE responses, answers, response_scores"))


def _insert_responses(session: Session, rows: list[dict]) -> list[int]:
    """Insert the responses and return their ids in order.

    PostgreSQL: the ids are drawn from the table's sequence in one query and the rows
    go in with COPY, several times faster than INSERT .. RETURNING at national scale.
    Elsewhere: batched INSERT .. RETURNING in parameter order.
    """
    table = Response.__table__
    connection = session.connection()
    if connection.dialect.name == "postgresql" and rows:
        ids = list(session.scalars(
            sql_text("SELECT nextval(pg_get_serial_sequence('responses', 'id')) "
                     "FROM generate_series(1, :n)"), {"n": len(rows)}
        ))
        columns = {"id": ids, **{key: [row[key] for row in rows] for key in rows[0]}}
        insert_columns(session, Response, columns)
        return ids
    response_ids: list[int] = []
    for start in range(0, len(rows), BATCH):
        result = session.execute(
            table.insert().returning(table.c.id, sort_by_parameter_order=True),
            rows[start : start + BATCH],
        )
        response_ids.extend(result.scalars().all())
    return response_ids


def _long_answers(frame: pd.DataFrame, questionnaire: Questionnaire):
    """One answer per non-empty cell: (answer columns for the database, scored cells as a
    frame)."""
    item_ids = [item.id for item in questionnaire.items]
    long = frame[["response_id", *item_ids]].melt(
        id_vars="response_id", var_name="item_id", value_name="cell"
    )
    long["cell"] = long["cell"].str.strip()
    long = long[long["cell"] != ""]
    text_items = {item.id for item in questionnaire.items if not item.is_scored}
    is_text = long["item_id"].isin(text_items).to_numpy()
    is_dk = ~is_text & (long["cell"].str.lower() == DONT_KNOW).to_numpy()
    values = pd.to_numeric(long["cell"].where(~is_text & ~is_dk), errors="coerce").to_numpy(float)
    # Plain Python values column by column: a DataFrame would turn missing integers into
    # NaN floats, and a dict per answer costs more than the COPY at national scale.
    answered = ~np.isnan(values)
    value_column = np.full(len(values), None, dtype=object)
    value_column[answered] = values[answered].astype(np.int64)
    cells = long["cell"].to_numpy(dtype=object)
    rows = {
        "response_id": long["response_id"].to_numpy().astype(np.int64).tolist(),
        "item_id": long["item_id"].to_numpy(dtype=object).tolist(),
        "dont_know": is_dk.tolist(),
        "value": [None if v is None else int(v) for v in value_column],
        "text": np.where(is_text, cells, None).tolist(),
    }
    scored = pd.DataFrame(
        {"response_id": long["response_id"].to_numpy()[~is_text].astype(int),
         "item_id": long["item_id"].to_numpy()[~is_text],
         "value": values[~is_text],
         "dont_know": is_dk[~is_text]}
    )
    return rows, scored


__all__ = ["ImportError_", "ImportSummary", "import_frame", "import_responses", "read_table"]
