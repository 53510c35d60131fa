"""Maturity method v1, rules 1-2: answers -> item values -> respondent dimension scores.

Everything is vectorised over all responses at once; nothing here queries.
"""

from __future__ import annotations

import pandas as pd

from assess.questionnaire.model import Questionnaire

ANSWER_COLUMNS = ["response_id", "item_id", "value", "dont_know"]
VALUE_COLUMNS = ["response_id", "item_id", "dimension_id", "value", "weight"]
SCORE_COLUMNS = ["response_id", "dimension_id", "score"]


def item_table(questionnaire: Questionnaire) -> pd.DataFrame:
    """The scored (likert) items: item_id, dimension_id, reverse, weight, in file order."""
    rows = [
        (item.id, dim.id, item.reverse, float(item.weight))
        for dim in questionnaire.dimensions
        for item in dim.likert_items
    ]
    return pd.DataFrame(rows, columns=["item_id", "dimension_id", "reverse", "weight"])


def item_values(answers: pd.DataFrame, questionnaire: Questionnaire) -> pd.DataFrame:
    """Rule 1: the answered likert items with their value after reverse-coding.

    ``answers`` has columns response_id, item_id, value (NaN = no answer) and
    dont_know (bool; a missing column or NA counts as False). A "don't know"
    is missing whatever its value says. Text items and item ids the
    questionnaire does not know are dropped. A reverse-coded item counts
    ``min + max - v``.

    Returns columns response_id, item_id, dimension_id, value, weight with one
    row per answered likert item (no NaN values).

    Raises ValueError when an item is answered twice in one response or an
    answer lies outside the scale: both would silently skew the scores.
    """
    missing = {"response_id", "item_id", "value"} - set(answers.columns)
    if missing:
        raise ValueError(f"answers: missing columns {sorted(missing)}")
    scale = questionnaire.scale
    frame = answers[["response_id", "item_id", "value"]].copy()
    frame["value"] = pd.to_numeric(frame["value"], errors="raise").astype("float64")
    if "dont_know" in answers.columns:
        dont_know = answers["dont_know"].astype("boolean").fillna(False).astype(bool)
        frame = frame[~dont_know.to_numpy()]
    frame = frame[frame["value"].notna()]
    frame = frame.merge(item_table(questionnaire), on="item_id", how="inner")

    duplicated = frame.duplicated(["response_id", "item_id"])
    if duplicated.any():
        first = frame.loc[duplicated, ["response_id", "item_id"]].iloc[0].tolist()
        raise ValueError(f"answers: item answered more than once in a response: {first}")
    outside = (frame["value"] < scale.min) | (frame["value"] > scale.max)
    if outside.any():
        first = frame.loc[outside, ["response_id", "item_id", "value"]].iloc[0].tolist()
        raise ValueError(f"answers: value outside the scale {scale.min}..{scale.max}: {first}")

    mirrored = scale.min + scale.max - frame["value"]
    frame["value"] = frame["value"].where(~frame["reverse"].astype(bool), mirrored)
    frame["response_id"] = frame["response_id"].astype("int64")
    return frame[VALUE_COLUMNS].reset_index(drop=True)


def score_respondents(answers: pd.DataFrame, questionnaire: Questionnaire) -> pd.DataFrame:
    """Rule 2: each respondent's score 0..100 per dimension, where it is defined.

    score = 100 * sum(w * (v - min) / S) / sum(w) over the answered likert items
    of the dimension (S = max - min), defined only when at least ceil(n/2) of
    the dimension's n likert items are answered; otherwise there is no row.

    Returns columns response_id, dimension_id, score, sorted by response and
    then by the questionnaire's dimension order.
    """
    values = item_values(answers, questionnaire)
    scale = questionnaire.scale
    values["part"] = values["weight"] * (values["value"] - scale.min) / scale.span
    sums = values.groupby(["response_id", "dimension_id"], sort=False).agg(
        part=("part", "sum"), weight=("weight", "sum"), answered=("value", "size")
    )
    sums = sums.reset_index()
    needed = {dim.id: dim.min_answered for dim in questionnaire.dimensions}
    sums = sums[sums["answered"] >= sums["dimension_id"].map(needed)].copy()
    sums["score"] = 100.0 * sums["part"] / sums["weight"]

    order = {dim.id: i for i, dim in enumerate(questionnaire.dimensions)}
    sums["_order"] = sums["dimension_id"].map(order)
    sums = sums.sort_values(["response_id", "_order"], kind="stable")
    return sums[SCORE_COLUMNS].reset_index(drop=True)
