"""Instrument quality: do the items of each dimension measure one thing, and are they answerable?

Classical test theory on the answers of one period and questionnaire version:

* Cronbach's alpha per dimension, α = k/(k−1) · (1 − Σσᵢ²/σₜ²), over the respondents
  who answered every likert item of the dimension (listwise), with sample variances
  (ddof = 1) and reverse-coded values;
* corrected item-total correlations: each item against the sum of the OTHER items of
  its dimension, over the same respondents;
* response distributions (counts per scale value, as answered) and "don't know" rates.

Pure pandas and numpy: no Flask, no SQLAlchemy. The service passes the answers in.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..questionnaire.model import Questionnaire
from .numbers import settle

#: A dimension whose alpha is below this is flagged: its items hang together weakly.
ALPHA_THRESHOLD = 0.7
#: An item whose corrected item-total correlation is below this is flagged.
ITEM_TOTAL_THRESHOLD = 0.3

ANSWER_COLUMNS = ["response_id", "item_id", "value", "dont_know"]


def complete_cases(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows (respondents) with a value for every column (item): listwise deletion."""
    return frame.dropna(how="any").astype("float64")


def cronbach_alpha(frame: pd.DataFrame) -> float | None:
    """Cronbach's alpha of the items (columns) over the respondents (rows) who answered all.

    α = k/(k−1) · (1 − Σσᵢ²/σₜ²) with k items, σᵢ² the sample variance of item i and
    σₜ² the sample variance of the respondents' sums. None when it is undefined: fewer
    than 2 items, fewer than 2 complete respondents, or sums without any variance.
    Values must already be reverse-coded. Alpha may be negative (items that disagree).
    """
    data = complete_cases(frame)
    k = data.shape[1]
    if k < 2 or len(data) < 2:
        return None
    total_variance = float(data.sum(axis=1).var(ddof=1))
    if settle(total_variance) <= 0:
        return None
    item_variance = float(data.var(axis=0, ddof=1).sum())
    return k / (k - 1) * (1 - item_variance / total_variance)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r; NaN when either side is constant (numpy would warn and divide by 0)."""
    dx, dy = x - x.mean(), y - y.mean()
    denominator = float(np.sqrt((dx * dx).sum() * (dy * dy).sum()))
    if settle(denominator) <= 0:
        return float("nan")
    return float((dx * dy).sum() / denominator)


def item_total_correlations(frame: pd.DataFrame) -> pd.Series:
    """Corrected item-total correlation of each item (column): r(item, sum of the other items).

    Over the respondents who answered every item (listwise, as for alpha). NaN for an item
    when fewer than 2 complete respondents, the dimension has a single item, or the item
    or the rest is constant.
    """
    data = complete_cases(frame)
    result = pd.Series(np.nan, index=frame.columns, dtype="float64")
    if data.shape[1] < 2 or len(data) < 2:
        return result
    values = data.to_numpy()
    totals = values.sum(axis=1)
    for position, item in enumerate(data.columns):
        own = values[:, position]
        result[item] = _pearson(own, totals - own)
    return result


def item_distributions(values: pd.DataFrame, scale_min: int, scale_max: int) -> pd.DataFrame:
    """Counts of each scale value per item (rows: items, columns: scale values).

    ``values``: wide, one column per item, the answers as given (not reverse-coded),
    NaN for no answer or "don't know".
    """
    scale = list(range(scale_min, scale_max + 1))
    counts = {
        item: values[item].dropna().astype(int).value_counts().reindex(scale, fill_value=0)
        for item in values.columns
    }
    return pd.DataFrame(counts, index=scale, dtype="int64").T


def wide_values(answers: pd.DataFrame, item_ids: list[str]) -> pd.DataFrame:
    """Answers (long: response_id, item_id, value, dont_know) -> one row per response.

    "Don't know" and no answer are NaN. Responses without any answer to these items
    still get a row when they appear in ``answers`` (with a null item_id, say).
    """
    responses = pd.Index(answers["response_id"].dropna().unique(), name="response_id")
    scored = answers[answers["item_id"].isin(item_ids) & ~answers["dont_know"].astype(bool)]
    wide = scored.pivot_table(index="response_id", columns="item_id", values="value",
                              aggfunc="first")
    return wide.reindex(index=responses, columns=item_ids).astype("float64")


def assess_instrument(answers: pd.DataFrame, questionnaire: Questionnaire) -> list[dict]:
    """Alpha, item-total correlations, distributions and don't-know rates per dimension.

    ``answers``: response_id, item_id, value, dont_know over every submitted response
    of the period (a response with no answer at all appears once with a null item_id).
    Floats are unrounded; the caller rounds for output. Flags are decided on the
    unrounded values: alpha < ALPHA_THRESHOLD, item-total r < ITEM_TOTAL_THRESHOLD.
    """
    scale = questionnaire.scale
    responses = int(answers["response_id"].nunique())
    likert = [item.id for dim in questionnaire.dimensions for item in dim.likert_items]
    raw = wide_values(answers, likert)
    dont_know = (
        answers[answers["dont_know"].astype(bool) & answers["item_id"].isin(likert)]
        .groupby("item_id")["response_id"].nunique()
        .reindex(likert, fill_value=0)
    )
    distributions = item_distributions(raw, scale.min, scale.max)
    dimensions = []
    for dim in questionnaire.dimensions:
        ids = [item.id for item in dim.likert_items]
        coded = raw[ids].copy()
        for item in dim.likert_items:
            if item.reverse:
                coded[item.id] = scale.min + scale.max - coded[item.id]
        alpha = cronbach_alpha(coded)
        correlations = item_total_correlations(coded)
        items = []
        for item in dim.likert_items:
            answered = int(raw[item.id].notna().sum())
            r = correlations[item.id]
            items.append({
                "id": item.id,
                "reverse": item.reverse,
                "item_total": None if pd.isna(r) else float(r),
                "item_total_flag": bool(not pd.isna(r) and settle(r) < ITEM_TOTAL_THRESHOLD),
                "answered": answered,
                "dont_know": int(dont_know[item.id]),
                "no_answer": responses - answered - int(dont_know[item.id]),
                "dont_know_rate": (int(dont_know[item.id]) / responses) if responses else None,
                "distribution": {
                    int(value): int(count) for value, count in distributions.loc[item.id].items()
                },
            })
        dimensions.append({
            "id": dim.id,
            "items_count": len(ids),
            "respondents": int(len(complete_cases(coded))),
            "alpha": alpha,
            "alpha_flag": bool(alpha is not None and settle(alpha) < ALPHA_THRESHOLD),
            "items": items,
        })
    return dimensions


__all__ = [
    "ALPHA_THRESHOLD",
    "ITEM_TOTAL_THRESHOLD",
    "assess_instrument",
    "complete_cases",
    "cronbach_alpha",
    "item_distributions",
    "item_total_correlations",
    "wide_values",
]
