"""round_trends (one pair, no frames, what a report uses) agrees with scoring.trends."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from assess.scoring import trends
from assess.scoring.comparisons import round_trends


@pytest.mark.parametrize("seed", range(40))
def test_round_trends_agrees_with_trends(seed):
    rng = random.Random(seed)
    dims = [f"d{i}" for i in range(rng.randint(1, 6))]
    scores, orgs = {}, {}
    for round_id in (1, 2):
        asked = [d for d in dims if rng.random() < 0.85]
        scores[round_id] = {d: (None if rng.random() < 0.1 else rng.choice(
            [rng.uniform(0, 100), 50.0, 25.0])) for d in asked}
        orgs[round_id] = {d: [rng.choice([rng.uniform(0, 100), 40.0])
                              for _ in range(rng.choice([0, 1, 2, 3, 5]))] for d in asked}
    frame_dims = pd.DataFrame(
        [(r, d, s) for r in (1, 2) for d, s in scores[r].items()],
        columns=["round_id", "dimension_id", "score"]).astype({"score": float})
    frame_orgs = pd.DataFrame(
        [(r, d, f"org:{i}", v, 1) for r in (1, 2) for d, values in orgs[r].items()
         for i, v in enumerate(values)],
        columns=["round_id", "dimension_id", "organization_key", "score", "respondents"],
    ).astype({"score": float})
    pairs = pd.DataFrame({"round_id": [2], "previous_round_id": [1]})
    expected = {row.dimension_id: (None if pd.isna(row.delta) else row.delta,
                                   bool(row.significant))
                for row in trends(frame_orgs, frame_dims, pairs).itertuples()}
    got = {d: (r["delta"], r["significant"])
           for d, r in round_trends(scores[2], scores[1], orgs[2], orgs[1]).items()}
    assert got == expected


def test_the_funnel_quantiles_are_scipys():
    from scipy import stats

    from assess.services.national import Z95, Z998

    assert Z95 == float(stats.norm.ppf(0.975))
    assert Z998 == float(stats.norm.ppf(0.999))
