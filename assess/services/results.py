"""Scores in the database: respondent scores stored at submission, round results on change.

The maths lives in assess.scoring; this module moves rows in and out of frames.
A report or a national comparison reads only the stored results, never raw answers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable

import pandas as pd
from sqlalchemy import Integer, case, cast, delete, func, select
from sqlalchemy.orm import Session

from .. import scoring
from ..models import (
    Answer,
    OrganizationScore,
    QuestionnaireVersion,
    Response,
    ResponseScore,
    Round,
    RoundDimensionResult,
    RoundItemStat,
    RoundSummary,
)
from ..models.survey import SUBMITTED
from ..questionnaire import Questionnaire
from .questionnaires import definition_of

#: Rows per INSERT statement batch; keeps memory flat for national-scale imports.
BATCH = 20_000


def _chunks(rows: list[dict], size: int = BATCH) -> Iterable[list[dict]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def bulk_insert(session: Session, model, rows: list[dict]) -> None:
    """Insert many rows in the session's transaction: COPY on PostgreSQL, else executemany."""
    if not rows:
        return
    columns = list(rows[0])
    copy_rows(session, model, columns, [tuple(row[c] for c in columns) for row in rows])


def copy_rows(session: Session, model, columns: list[str], rows: list[tuple]) -> None:
    """The fastest bulk insert each database offers, inside the caller's transaction."""
    if not rows:
        return
    table = model.__table__
    # COPY skips the models' Python-side defaults (timestamps, flags): fill them in here.
    defaults = {
        column.name: column.default
        for column in table.columns
        if column.name not in columns and column.default is not None and not column.primary_key
    }
    if defaults:
        extra = [
            default.arg(None) if default.is_callable else default.arg
            for default in defaults.values()
        ]
        columns = [*columns, *defaults]
        rows = [(*row, *extra) for row in rows]
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return
    insert_statement = table.insert()
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        session.execute(insert_statement, [dict(zip(columns, row, strict=True)) for row in chunk])


def insert_columns(session: Session, model, columns: dict[str, list]) -> None:
    """Insert rows given column-wise (plain Python values, None for NULL): COPY on PostgreSQL.

    Column lists skip the dict per row that `bulk_insert` needs: at national scale
    (millions of answers) those dicts cost more time and memory than the COPY itself.
    """
    names = list(columns)
    if not names or not columns[names[0]]:
        return
    copy_rows(session, model, names, list(zip(*columns.values(), strict=True)))


def insert_frame(session: Session, model, frame: pd.DataFrame, columns: list[str]) -> None:
    """Insert a frame's rows; NaN and NA become NULL, numpy scalars Python values."""
    if frame.empty:
        return
    insert_columns(session, model, {column: plain_values(frame[column]) for column in columns})


def plain_values(series: pd.Series) -> list:
    """A column as a list of Python values, None where missing (NaN, NA, NaT)."""
    values = series.astype(object)
    return values.where(series.notna(), None).tolist()


def rows_frame(rows, columns: list[str]) -> pd.DataFrame:
    """A frame from result rows: plain tuples first, since pandas probes each SQLAlchemy
    Row for namedtuple attributes, which costs seconds on a million rows."""
    return pd.DataFrame([tuple(row) for row in rows], columns=columns)


def records(frame: pd.DataFrame, columns: list[str]) -> list[dict]:
    """Rows as dicts of plain Python values; NaN and NA become None (NULL)."""
    subset = frame[columns]
    plain = subset.astype(object).where(subset.notna(), None)
    return [
        {column: (value.item() if hasattr(value, "item") else value)
         for column, value in zip(columns, row, strict=True)}
        for row in plain.itertuples(index=False, name=None)
    ]


def _nullable(value):
    """NaN and pandas' NA become NULL; numpy scalars become Python numbers."""
    if value is None or value is pd.NA:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value.item() if hasattr(value, "item") else value


# -- respondent scores ------------------------------------------------------------------------


def answer_frame(session: Session, response_ids: Collection[int]) -> pd.DataFrame:
    rows = session.execute(
        select(Answer.response_id, Answer.item_id, Answer.value, Answer.dont_know).where(
            Answer.response_id.in_(list(response_ids))
        )
    ).all()
    frame = rows_frame(rows, ["response_id", "item_id", "value", "dont_know"])
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    frame["dont_know"] = frame["dont_know"].astype(bool)
    return frame


def store_response_scores(session: Session, scores: pd.DataFrame, response_ids) -> None:
    """Replace the stored dimension scores of `response_ids` with `scores`."""
    ids = list(response_ids)
    for start in range(0, len(ids), BATCH):
        session.execute(
            delete(ResponseScore).where(ResponseScore.response_id.in_(ids[start : start + BATCH]))
        )
    insert_frame(session, ResponseScore, scores, ["response_id", "dimension_id", "score"])


def score_responses(session: Session, questionnaire: Questionnaire, response_ids) -> None:
    """Score responses from their stored answers and store the result (the caller commits)."""
    frame = answer_frame(session, response_ids)
    store_response_scores(session, scoring.score_respondents(frame, questionnaire), response_ids)


# -- round results ----------------------------------------------------------------------------


def organization_key(organization_id: int | None, response_id: int) -> str:
    """A respondent without an organisation counts as an organisation of its own."""
    return f"org:{organization_id}" if organization_id is not None else f"response:{response_id}"


def recompute_rounds(session: Session, round_ids: Collection[int], default_k: int = 5) -> None:
    """Recompute and store the results of these rounds from stored respondent scores."""
    if not round_ids:
        return
    by_questionnaire: dict[int, list[Round]] = defaultdict(list)
    for round_ in session.scalars(select(Round).where(Round.id.in_(list(round_ids)))):
        by_questionnaire[round_.questionnaire_id].append(round_)
    for questionnaire_id, rounds in by_questionnaire.items():
        questionnaire = definition_of(session.get(QuestionnaireVersion, questionnaire_id))
        _recompute(session, questionnaire, rounds, questionnaire.suppression_threshold(default_k))


def _recompute(session: Session, questionnaire: Questionnaire, rounds: list[Round], k: int):
    ids = [r.id for r in rounds]
    submitted = (
        select(Response.id).where(Response.round_id.in_(ids), Response.status == SUBMITTED)
    ).scalar_subquery()
    response_rows = session.execute(
        select(Response.round_id, Response.id, Response.organization_id).where(
            Response.round_id.in_(ids), Response.status == SUBMITTED
        )
    ).all()
    responses = rows_frame(response_rows, ["round_id", "response_id", "organization_id"])
    responses["organization_key"] = [
        organization_key(None if pd.isna(org) else int(org), int(rid))
        for org, rid in zip(responses["organization_id"], responses["response_id"], strict=True)
    ]
    score_rows = session.execute(
        select(ResponseScore.response_id, ResponseScore.dimension_id, ResponseScore.score).where(
            ResponseScore.response_id.in_(submitted)
        )
    ).all()
    respondent_scores = rows_frame(score_rows, ["response_id", "dimension_id", "score"])
    results = scoring.score_rounds(
        respondent_scores, responses[["round_id", "response_id", "organization_key"]],
        questionnaire, k,
    )
    for model in (RoundSummary, RoundDimensionResult, OrganizationScore, RoundItemStat):
        session.execute(delete(model).where(model.round_id.in_(ids)))

    summaries = results.rounds.set_index("round_id")
    summary_rows = []
    for round_ in rounds:
        if round_.id in summaries.index:
            row = summaries.loc[round_.id]
            summary_rows.append(
                {
                    "round_id": round_.id,
                    "respondents": int(row["respondents"]),
                    "organizations": int(row["organizations"]),
                    "suppressed": bool(row["suppressed"]),
                    "overall": _nullable(row["overall"]),
                    "stage_reached": _nullable(row["stage_reached"]),
                    "data_version": round_.data_version,
                }
            )
        else:  # no submitted response yet
            summary_rows.append(
                {"round_id": round_.id, "respondents": 0, "organizations": 0, "suppressed": True,
                 "overall": None, "stage_reached": None, "data_version": round_.data_version}
            )
    bulk_insert(session, RoundSummary, summary_rows)
    insert_frame(session, RoundDimensionResult, results.dimensions, [
        "round_id", "dimension_id", "score", "level", "respondents", "organizations",
        "sd", "ci_low", "ci_high",
    ])
    insert_frame(session, OrganizationScore, results.organizations,
                 ["round_id", "dimension_id", "organization_key", "score", "respondents"])
    bulk_insert(session, RoundItemStat, _item_stats(session, questionnaire, ids))


def _item_stats(session: Session, questionnaire: Questionnaire, round_ids: list[int]) -> list[dict]:
    """Reverse-coded item means per round and per organisation, aggregated in SQL.

    mean(min + max - v) = min + max - mean(v), so reverse-coding after averaging is exact.
    """
    # A respondent without an organisation is an organisation of its own: key -response id.
    org_key = case((Response.organization_id.is_(None), -Response.id),
                   else_=Response.organization_id)
    rows = session.execute(
        select(
            Response.round_id,
            org_key,
            Answer.item_id,
            func.avg(Answer.value),
            func.count(Answer.value),
            func.sum(cast(Answer.dont_know, Integer)),
        )
        .join(Response, Answer.response_id == Response.id)
        .where(Response.round_id.in_(round_ids), Response.status == SUBMITTED)
        .group_by(Response.round_id, org_key, Answer.item_id)
    ).all()
    frame = rows_frame(rows, ["round_id", "organization_key", "item_id", "mean", "n",
                              "dont_know"])
    scale = questionnaire.scale
    scored = {item.id: (item, dim.id) for dim in questionnaire.dimensions
              for item in dim.items if item.is_scored}
    frame = frame[frame["item_id"].isin(scored.keys())]
    if frame.empty:
        return []
    frame["mean"] = frame["mean"].astype(float)  # PostgreSQL returns Decimal
    frame["dont_know"] = frame["dont_know"].fillna(0).astype(int)
    reverse = frame["item_id"].map(lambda item_id: scored[item_id][0].reverse)
    frame.loc[reverse, "mean"] = scale.min + scale.max - frame.loc[reverse, "mean"]
    frame["sum"] = frame["mean"] * frame["n"]
    grouped = frame.groupby(["round_id", "item_id"])
    totals = grouped[["sum", "n", "dont_know"]].sum()
    answered = frame[frame["n"] > 0]
    spread = answered.groupby(["round_id", "item_id"])["mean"].agg(["std", "count"])
    totals = totals.join(spread, how="left").reset_index()
    totals = totals[totals["n"] > 0]
    return [
        {
            "round_id": int(row.round_id),
            "item_id": row.item_id,
            "dimension_id": scored[row.item_id][1],
            "mean": float(row.sum) / int(row.n),
            "n": int(row.n),
            "dont_know": int(row.dont_know),
            "organization_sd": _nullable(row.std),
            "organizations": int(row.count) if not pd.isna(row.count) else 0,
        }
        for row in totals.itertuples()
    ]


def ensure_current(session: Session, round_: Round, default_k: int = 5) -> RoundSummary:
    """The round's stored summary, recomputed first if the round's data changed since."""
    summary = session.get(RoundSummary, round_.id)
    if summary is None or summary.data_version != round_.data_version:
        recompute_rounds(session, [round_.id], default_k)
        session.flush()
        session.expire_all()
        summary = session.get(RoundSummary, round_.id)
    return summary
