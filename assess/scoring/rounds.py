"""Maturity method v1, rules 3-10: respondent scores -> organisation, network and round results.

All rounds are scored at once, vectorised with pandas; loops run over
dimensions only. Suppression (rule 5) is applied here, so nothing downstream
can show a score this module has nulled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from assess.questionnaire.model import Questionnaire, localized

from .numbers import settle

ROUND_COLUMNS = [
    "round_id",
    "respondents",
    "organizations",
    "suppressed",
    "overall",
    "stage_reached",
]
DIMENSION_COLUMNS = [
    "round_id",
    "dimension_id",
    "score",
    "level",
    "respondents",
    "organizations",
    "sd",
    "ci_low",
    "ci_high",
]
ORGANIZATION_COLUMNS = ["round_id", "dimension_id", "organization_key", "score", "respondents"]
ITEM_MEAN_COLUMNS = ["round_id", "item_id", "dimension_id", "mean", "n"]


@dataclass(frozen=True)
class RoundScores:
    """The results of score_rounds: per round, per round and dimension, per organisation."""

    rounds: pd.DataFrame
    dimensions: pd.DataFrame
    organizations: pd.DataFrame


def level_for(score: float) -> int:
    """Rule 6: maturity level 1..5 = 1 + min(4, floor(score / 20)), from the unrounded score."""
    if score is None or math.isnan(score):
        raise ValueError("a missing score has no level")
    return 1 + min(4, math.floor(round(float(score), 9) / 20))


def levels_for(scores: pd.Series) -> pd.Series:
    """Rule 6 for a whole Series: nullable Int64 levels, <NA> where the score is null."""
    scores = settle(scores.astype("float64"))
    levels = 1 + np.minimum(4, np.floor(scores / 20))
    return levels.astype("Int64")


def _dimension_order(questionnaire: Questionnaire) -> dict[str, int]:
    return {dim.id: i for i, dim in enumerate(questionnaire.dimensions)}


def score_rounds(
    respondent_scores: pd.DataFrame,
    responses: pd.DataFrame,
    questionnaire: Questionnaire,
    k: int,
) -> RoundScores:
    """Rules 3-9 for every round at once.

    ``respondent_scores``: score_respondents' output (response_id, dimension_id,
    score); rows of responses not listed in ``responses`` are ignored.
    ``responses``: round_id, response_id, organization_key, one row per
    submitted response, also those without any score; a respondent without an
    organisation must come with a key of its own. ``k``: the suppression
    threshold, already resolved by the caller.

    Organisation score = mean of its respondents' scores; network score = mean
    of the organisation scores, so every actor weighs the same. A round with
    fewer than k responses is suppressed: all its scores, levels, spreads,
    overall and stage are null. A dimension with fewer than k scored
    respondents has a null score, level, sd and ci.

    ``organizations`` holds organisation scores only where the dimension score
    itself is shown (round not suppressed, at least k scored respondents): an
    organisation of one respondent would otherwise leak an individual answer.
    """
    responses = responses[["round_id", "response_id", "organization_key"]]
    if responses["response_id"].duplicated().any():
        raise ValueError("responses: a response_id is listed more than once")
    if responses["organization_key"].isna().any():
        # Dropping them would silently lose respondents; own organisations need own keys.
        raise ValueError(
            "responses: organization_key is missing; give each such respondent its own"
        )
    order = _dimension_order(questionnaire)
    dim_ids = list(order)

    rounds = responses.groupby("round_id").agg(
        respondents=("response_id", "size"), organizations=("organization_key", "nunique")
    )
    rounds["suppressed"] = rounds["respondents"] < k

    scored = respondent_scores[["response_id", "dimension_id", "score"]].merge(
        responses, on="response_id", how="inner"
    )
    scored = scored[scored["dimension_id"].isin(order) & scored["score"].notna()]

    # Rule 3: organisation scores.
    keys = ["round_id", "dimension_id", "organization_key"]
    orgs = scored.groupby(keys).agg(score=("score", "mean"), respondents=("score", "size"))
    orgs = orgs.reset_index()

    # Rule 4: network dimension scores over every round x questionnaire dimension.
    per_dim = orgs.groupby(["round_id", "dimension_id"]).agg(
        score=("score", "mean"),
        sd=("score", "std"),
        respondents=("respondents", "sum"),
        organizations=("score", "size"),
    )
    grid = pd.MultiIndex.from_product([rounds.index, dim_ids], names=["round_id", "dimension_id"])
    dims = per_dim.reindex(grid).reset_index()
    dims["respondents"] = dims["respondents"].fillna(0).astype("int64")
    dims["organizations"] = dims["organizations"].fillna(0).astype("int64")

    # Rule 5: suppression.
    suppressed = dims["round_id"].map(rounds["suppressed"]).astype(bool)
    shown = ~suppressed & (dims["respondents"] >= k)
    dims["score"] = dims["score"].where(shown)
    dims["level"] = levels_for(dims["score"])

    # Rule 7: spread over m organisations, only when the score is shown and m >= 2.
    m = dims["organizations"]
    spread = shown & (m >= 2)
    dims["sd"] = dims["sd"].where(spread)
    t = pd.Series(np.nan, index=dims.index)
    if spread.any():
        t[spread] = stats.t.ppf(0.975, (m[spread] - 1).to_numpy())
    half = t * dims["sd"] / np.sqrt(m.where(spread))
    dims["ci_low"] = (dims["score"] - half).clip(0, 100)
    dims["ci_high"] = (dims["score"] + half).clip(0, 100)
    dims = dims[DIMENSION_COLUMNS]

    # Rule 8: stage reached = leading run of stage dimensions at or above the threshold.
    by_round = dims.pivot(index="round_id", columns="dimension_id", values="score")
    by_round = by_round.reindex(index=rounds.index, columns=dim_ids)
    stage_ids = [dim.id for dim in questionnaire.stage_dimensions]
    if stage_ids:
        passed = settle(by_round[stage_ids]).ge(questionnaire.stage_threshold)  # NaN -> False
        reached = passed.astype("int64").cumprod(axis=1).sum(axis=1).astype("Int64")
        rounds["stage_reached"] = reached.where(~rounds["suppressed"], pd.NA)
    else:
        # A questionnaire of themes only has no stages to reach.
        rounds["stage_reached"] = pd.Series(pd.NA, index=rounds.index, dtype="Int64")

    # Rule 9: overall = unweighted mean of the non-null dimension scores.
    rounds["overall"] = by_round.mean(axis=1, skipna=True)
    rounds = rounds.reset_index()[ROUND_COLUMNS]
    rounds["suppressed"] = rounds["suppressed"].astype(bool)

    shown_keys = dims.loc[dims["score"].notna(), ["round_id", "dimension_id"]]
    orgs = orgs.merge(shown_keys, on=["round_id", "dimension_id"], how="inner")
    orgs["_order"] = orgs["dimension_id"].map(order)
    orgs = orgs.sort_values(["round_id", "_order", "organization_key"], kind="stable")
    orgs = orgs[ORGANIZATION_COLUMNS].reset_index(drop=True)
    return RoundScores(rounds=rounds, dimensions=dims.reset_index(drop=True), organizations=orgs)


def item_means(values: pd.DataFrame) -> pd.DataFrame:
    """Mean value per round and item (after reverse-coding) over the respondents who answered.

    ``values`` is item_values' output with a round_id column joined on. Returns
    round_id, item_id, dimension_id, mean, n (respondents who answered).
    """
    values = values[values["value"].notna()]
    means = values.groupby(["round_id", "item_id", "dimension_id"]).agg(
        mean=("value", "mean"), n=("value", "size")
    )
    means = means.reset_index()
    means["n"] = means["n"].astype("int64")
    return means[ITEM_MEAN_COLUMNS]


def recommendations(
    dimension_rows: pd.DataFrame,
    item_means: pd.DataFrame,
    questionnaire: Questionnaire,
    lang: str,
) -> list[dict]:
    """Rule 10 for one round: what to work on, in the order to work on it.

    Every dimension with a non-null score below the stage threshold: stage
    dimensions first in stage order, then themes by ascending score (ties by
    id). Each gets the questionnaire's text for its level (nearest lower
    level, else nearest higher, in ``lang`` else the default language; "" if
    the dimension has no recommendations at all) and ``focus_items``: the (at
    most) two likert items of the dimension with the lowest mean after
    reverse-coding, ties by item id, items nobody answered skipped.

    ``dimension_rows``: that round's rows of RoundScores.dimensions.
    ``item_means``: item_id, mean for the same round (e.g. item_means(...) filtered).
    A suppressed round has only null scores and so gets an empty list.
    """
    rows = dimension_rows[dimension_rows["score"].notna()]
    rows = rows[settle(rows["score"]) < questionnaire.stage_threshold]
    # Settled, so that float noise neither breaks a tie nor moves a level.
    below = dict(zip(rows["dimension_id"], settle(rows["score"]), strict=True))

    stages = [dim for dim in questionnaire.stage_dimensions if dim.id in below]
    themes = sorted(
        (dim for dim in questionnaire.dimensions if dim.kind == "theme" and dim.id in below),
        key=lambda dim: (below[dim.id], dim.id),
    )
    means = item_means[["item_id", "mean"]].assign(mean=lambda f: settle(f["mean"]))
    means = means[means["mean"].notna()]
    if "n" in item_means.columns:
        means = means[item_means.loc[means.index, "n"] > 0]

    result = []
    for dim in [*stages, *themes]:
        level = level_for(below[dim.id])
        recommendation = dim.recommendation_for(level)
        text = (
            localized(recommendation.text, lang, questionnaire.default_language)
            if recommendation
            else ""
        )
        likert = [item.id for item in dim.likert_items]
        candidates = means[means["item_id"].isin(likert)]
        candidates = candidates.sort_values(["mean", "item_id"], kind="stable")
        result.append(
            {
                "dimension": dim.id,
                "level": level,
                "text": text,
                "focus_items": candidates["item_id"].head(2).tolist(),
            }
        )
    return result
