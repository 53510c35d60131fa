"""Maturity method v1, rules 11-13: benchmarks, trends and the national comparison.

The callers choose what is comparable (closed, non-suppressed rounds of the
same period and questionnaire id + version); these functions only compute.
Scores are compared unrounded (settled against float noise, see numbers.py).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .numbers import settle

BENCHMARK_COLUMNS = [
    "network_id",
    "region_id",
    "dimension_id",
    "score",
    "national_percentile",
    "region_percentile",
    "national_median",
    "networks",
]
TREND_COLUMNS = ["round_id", "dimension_id", "previous_round_id", "delta", "significant"]

#: Welch's test at this level decides whether a change is reported as significant.
SIGNIFICANCE_LEVEL = 0.05


def _require_one_row_per_network(frame: pd.DataFrame, what: str) -> None:
    duplicated = frame.duplicated(["network_id", "dimension_id"])
    if duplicated.any():
        first = frame.loc[duplicated, ["network_id", "dimension_id"]].iloc[0].tolist()
        raise ValueError(f"{what}: more than one score for a network and dimension: {first}")


def _percentile(values: pd.Series, keys: list) -> pd.Series:
    """100 * (below + 0.5 * equal, itself included) / N within each group.

    The average rank of a value among ties is below + (equal + 1) / 2, so the
    formula is 100 * (average rank - 0.5) / N. Rows whose group key is null get NaN.
    """
    groups = values.groupby(keys)
    return 100.0 * (groups.rank(method="average") - 0.5) / groups.transform("size")


def benchmark(scores: pd.DataFrame) -> pd.DataFrame:
    """Rule 11: where each network stands among comparable networks, per dimension.

    ``scores``: network_id, region_id, dimension_id, score, one row per network
    and dimension; rows with a null score are dropped. Adds
    national_percentile and region_percentile (100 * (below + 0.5 * equal) / N,
    the network itself counted among the equal; NaN for a network without a
    region), national_median and networks (N, networks with a score for the
    dimension). Percentiles are not suppressed here: a region percentile among
    few networks is for the caller to withhold.
    """
    frame = scores[scores["score"].notna()].copy()
    _require_one_row_per_network(frame, "benchmark")
    key = settle(frame["score"].astype("float64"))
    frame["national_percentile"] = _percentile(key, [frame["dimension_id"]])
    frame["region_percentile"] = _percentile(key, [frame["dimension_id"], frame["region_id"]])
    by_dimension = key.groupby(frame["dimension_id"])
    frame["national_median"] = by_dimension.transform("median")
    frame["networks"] = by_dimension.transform("size").astype("int64")
    return frame[BENCHMARK_COLUMNS].reset_index(drop=True)


def _organization_stats(org_scores: pd.DataFrame) -> pd.DataFrame:
    groups = org_scores[org_scores["score"].notna()].groupby(["round_id", "dimension_id"])
    return groups["score"].agg(mean="mean", var="var", n="size").reset_index()


def trends(org_scores: pd.DataFrame, dims: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Rule 12: change of each dimension score against the network's previous round.

    ``pairs``: round_id, previous_round_id (a null previous round gives no
    rows). ``dims``: RoundScores.dimensions-shaped; ``org_scores``:
    RoundScores.organizations-shaped. One row per pair and dimension present in
    both rounds' ``dims``: delta = score - previous score (NaN when either is
    null) and significant = Welch's t-test on the two rounds' organisation
    scores gives p < 0.05. Not significant when either score is null, either
    round has fewer than 2 organisations, or both have zero variance (the
    test is undefined there: scipy would warn and give p = NaN).

    The test is scipy.stats.ttest_ind_from_stats(equal_var=False), the same
    computation as ttest_ind(equal_var=False), run on all pairs at once.
    """
    pairs = pairs[["round_id", "previous_round_id"]].dropna().astype("int64")
    current = dims[["round_id", "dimension_id", "score"]]
    previous = current.rename(columns={"round_id": "previous_round_id", "score": "previous_score"})
    rows = pairs.merge(current, on="round_id").merge(
        previous, on=["previous_round_id", "dimension_id"]
    )
    rows["delta"] = rows["score"] - rows["previous_score"]

    org = _organization_stats(org_scores)
    rows = rows.merge(org, on=["round_id", "dimension_id"], how="left")
    org_previous = org.rename(
        columns={"round_id": "previous_round_id", "mean": "mean_p", "var": "var_p", "n": "n_p"}
    )
    rows = rows.merge(org_previous, on=["previous_round_id", "dimension_id"], how="left")
    rows[["n", "n_p"]] = rows[["n", "n_p"]].fillna(0)

    testable = (
        rows["delta"].notna()
        & (rows["n"] >= 2)
        & (rows["n_p"] >= 2)
        & ((rows["var"] / rows["n"] + rows["var_p"] / rows["n_p"]) > 0)
    )
    rows["significant"] = False
    if testable.any():
        from scipy import stats

        t = rows[testable]
        _, p = stats.ttest_ind_from_stats(
            t["mean"].to_numpy(),
            np.sqrt(t["var"].to_numpy()),
            t["n"].to_numpy(),
            t["mean_p"].to_numpy(),
            np.sqrt(t["var_p"].to_numpy()),
            t["n_p"].to_numpy(),
            equal_var=False,
        )
        rows.loc[testable, "significant"] = np.nan_to_num(p, nan=1.0) < SIGNIFICANCE_LEVEL
    rows["significant"] = rows["significant"].astype(bool)
    return rows[TREND_COLUMNS].reset_index(drop=True)


def round_trends(scores: Mapping[str, float | None], previous: Mapping[str, float | None],
                 organizations: Mapping[str, list[float]],
                 previous_organizations: Mapping[str, list[float]]) -> dict[str, dict]:
    """Rule 12 for one pair of rounds, without frames: what ``trends`` gives for one pair.

    ``scores``/``previous``: dimension -> score (None when null) of the round and of the
    previous round; ``organizations``: dimension -> the organisation scores. Returns
    dimension -> {"delta", "significant"} for the dimensions both rounds have. A report
    compares one pair, where pandas' set-up costs far more than the arithmetic.
    """
    result, testable = {}, []
    for dim, score in scores.items():
        if dim not in previous:
            continue
        before = previous[dim]
        delta = None if score is None or before is None else score - before
        result[dim] = {"delta": delta, "significant": False}
        now = np.asarray([v for v in organizations.get(dim, []) if v is not None], "float64")
        then = np.asarray([v for v in previous_organizations.get(dim, []) if v is not None],
                          "float64")
        if delta is None or len(now) < 2 or len(then) < 2:
            continue
        var, var_p = now.var(ddof=1), then.var(ddof=1)
        if var / len(now) + var_p / len(then) > 0:
            testable.append((dim, now.mean(), var, len(now), then.mean(), var_p, len(then)))
    if testable:
        from scipy import stats

        columns = list(zip(*[row[1:] for row in testable], strict=True))
        _, p = stats.ttest_ind_from_stats(
            np.asarray(columns[0]), np.sqrt(np.asarray(columns[1])), np.asarray(columns[2]),
            np.asarray(columns[3]), np.sqrt(np.asarray(columns[4])), np.asarray(columns[5]),
            equal_var=False,
        )
        for (dim, *_rest), value in zip(testable, np.nan_to_num(p, nan=1.0), strict=True):
            result[dim]["significant"] = bool(value < SIGNIFICANCE_LEVEL)
    return result


def shown_groups(sizes: Mapping, min_networks: int = 3, unassigned: int = 0) -> set:
    """Rule 13a: the groups (regions) whose cells may be shown beside the total over all.

    ``sizes``: networks per group; ``unassigned``: networks that count in the total
    only. A group of fewer than ``min_networks`` is withheld (rule 13). Since the total
    is shown too, total minus the shown groups gives the sum over the withheld ones: when
    that is over at least one and fewer than ``min_networks`` networks, the smallest shown
    groups (fewest networks, then name) are withheld as well, until it is not
    (complementary suppression). Depends on the sizes only, never on the scores.
    """
    shown = {group for group, n in sizes.items() if n >= min_networks}
    if sum(sizes.values()) + unassigned < min_networks:
        return shown  # the total is not shown: nothing to subtract from
    hidden = unassigned + sum(n for group, n in sizes.items() if group not in shown)
    while 0 < hidden < min_networks and shown:
        smallest = min(shown, key=lambda group: (sizes[group], str(group)))
        shown.discard(smallest)
        hidden += sizes[smallest]
    return shown


def _cell(scores: pd.Series, min_networks: int) -> dict | None:
    if len(scores) < min_networks:
        return None
    return {
        "networks": int(len(scores)),
        "mean": float(scores.mean()),
        "median": float(scores.median()),
        "p25": float(scores.quantile(0.25)),
        "p75": float(scores.quantile(0.75)),
    }


def _block(frame: pd.DataFrame, dimension_ids: list, min_networks: int,
           shown: Mapping[str, bool] | None = None) -> dict:
    scored = frame[frame["score"].notna()]
    by_dimension = dict(tuple(scored.groupby("dimension_id")["score"]))
    empty = pd.Series([], dtype="float64")
    return {
        "networks": int(scored["network_id"].nunique()),
        "dimensions": {
            dim: _cell(by_dimension.get(dim, empty), min_networks)
            if shown is None or shown.get(dim, False) else None
            for dim in dimension_ids
        },
    }


def national_comparison(scores: pd.DataFrame, min_networks: int = 3) -> dict:
    """Rule 13: distribution of network scores per region and nationally, per dimension.

    ``scores``: region, network_id, dimension_id, score (one row per network
    and dimension). Each cell gives networks, mean, median, p25 and p75
    (linear interpolation, Hyndman & Fan type 7, the pandas default) over the
    non-null scores, or None when fewer than ``min_networks`` networks have a
    score (suppressed), or when the region is withheld by rule 13a so that the
    national cell minus the shown regions reveals no smaller group
    (``shown_groups``). A region's ``networks`` counts its distinct networks
    with any non-null score. Regions are sorted by name; rows without a region
    count nationally only. Every dimension_id in the input gets a key in
    every block. Floats are unrounded: the caller rounds with round1.
    """
    _require_one_row_per_network(scores[scores["score"].notna()], "national_comparison")
    frame = scores.copy()
    frame["score"] = frame["score"].astype("float64")
    dimension_ids = list(dict.fromkeys(frame["dimension_id"].tolist()))
    regional = frame[frame["region"].notna()]
    scored = frame[frame["score"].notna()]
    counts = scored.groupby([scored["dimension_id"], scored["region"].fillna("")]).size()
    shown: dict[str, set] = {}
    for dim in dimension_ids:
        per_region = counts[dim].to_dict() if dim in counts.index.get_level_values(0) else {}
        unassigned = int(per_region.pop("", 0))
        shown[dim] = shown_groups(per_region, min_networks, unassigned)
    regions = [
        {"region": region, **_block(part, dimension_ids, min_networks,
                                    {dim: region in shown[dim] for dim in dimension_ids})}
        for region, part in sorted(regional.groupby("region"), key=lambda pair: pair[0])
    ]
    return {"regions": regions, "national": _block(frame, dimension_ids, min_networks)}
