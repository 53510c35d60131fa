"""Where the actors of a network disagree: by item, and by actor type.

A network leader's job is to dampen tensions and interpret between actors
(docs/methodology.md, "Agreement"). These figures show where that work is needed,
without ever showing one organisation or one person alone.
"""

from __future__ import annotations

import pandas as pd

from .numbers import settle

#: Actor types pooled when each alone has too few respondents.
POOLED_TYPE = "other"


def item_disagreement(org_item_means: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """The `top` items with the largest standard deviation of organisation means, per round.

    ``org_item_means``: round_id, organization_key, item_id, mean (reverse-coded).
    Returns round_id, item_id, sd, organizations, sorted by sd descending (ties by
    item id); items answered by fewer than 2 organisations have no sd and are left out.
    """
    grouped = org_item_means.groupby(["round_id", "item_id"])["mean"]
    stats = pd.DataFrame({"sd": grouped.std(ddof=1), "organizations": grouped.count()})
    stats = stats[stats["organizations"] >= 2].reset_index()
    stats["sd"] = settle(stats["sd"])
    stats = stats.sort_values(["round_id", "sd", "item_id"], ascending=[True, False, True])
    return stats.groupby("round_id").head(top).reset_index(drop=True)


def agreement_by_type(org_scores: pd.DataFrame, k: int) -> pd.DataFrame:
    """Mean organisation score per actor type and dimension, for types with >= k respondents.

    ``org_scores``: dimension_id, organization_key, type, score, respondents (one round).
    Types with fewer than k respondents in a dimension are pooled as "other"; the pool
    is shown only when it reaches k itself. Returns dimension_id, type, score,
    organizations, respondents.
    """
    columns = ["dimension_id", "type", "score", "organizations", "respondents"]
    if org_scores.empty:
        return pd.DataFrame(columns=columns)
    frame = org_scores.copy()
    frame["type"] = frame["type"].fillna(POOLED_TYPE)
    sizes = frame.groupby(["dimension_id", "type"])["respondents"].transform("sum")
    frame.loc[sizes < k, "type"] = POOLED_TYPE
    grouped = frame.groupby(["dimension_id", "type"])
    result = pd.DataFrame(
        {
            "score": grouped["score"].mean(),
            "organizations": grouped["score"].count(),
            "respondents": grouped["respondents"].sum(),
        }
    ).reset_index()
    result = result[result["respondents"] >= k]
    result["score"] = settle(result["score"])
    return result[columns].sort_values(["dimension_id", "type"]).reset_index(drop=True)
