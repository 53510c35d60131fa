"""Properties of maturity method v1 that must hold for any answers (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from assess.scoring import benchmark, score_respondents, score_rounds, trends

DK = "dk"  # what Build.answers reads as "don't know"
K = 3

#: (dimension, stage, [(item, reverse, weight)]): four stages and a theme.
LAYOUT = [
    ("s1", 1, [("a", False, 1.0), ("b", False, 2.0), ("c", True, 1.0)]),
    ("s2", 2, [("e", True, 1.0), ("f", False, 0.5)]),
    ("s3", 3, [("g", False, 1.0)]),
    ("s4", 4, [("h", False, 1.0), ("i", False, 1.0), ("j", True, 3.0), ("m", False, 1.0)]),
    ("t", None, [("n", False, 1.0), ("o", True, 1.0), ("p", False, 1.0)]),
]
ITEMS = [item for _, _, items in LAYOUT for item, _, _ in items]

answer = st.one_of(st.integers(1, 5).map(float), st.none(), st.just(DK))
respondent = st.tuples(
    st.integers(1, 2),  # round
    st.sampled_from(["o1", "o2", "o3", "own-x", "own-y"]),  # organisation key
    st.fixed_dictionaries({item: answer for item in ITEMS}),
)
respondent_lists = st.lists(respondent, min_size=1, max_size=16)

SETTINGS = settings(max_examples=50, deadline=None)


def questionnaire(build, flipped: frozenset = frozenset()):
    """The layout above, with the reverse flag of the ``flipped`` items inverted."""
    dims = [
        build.dimension(
            dim,
            [build.item(i, reverse=rev != (i in flipped), weight=w) for i, rev, w in items],
            stage=stage,
        )
        for dim, stage, items in LAYOUT
    ]
    return build.questionnaire(dims)


def run(build, q, people: list) -> tuple[pd.DataFrame, object]:
    answers = build.answers({rid: answered for rid, (_, _, answered) in enumerate(people)})
    responses = build.responses({rid: (rnd, org) for rid, (rnd, org, _) in enumerate(people)})
    scores = score_respondents(answers, q)
    return scores, score_rounds(scores, responses, q, K)


def assert_same_results(left, right) -> None:
    for name in ("rounds", "dimensions", "organizations"):
        pd.testing.assert_frame_equal(
            getattr(left, name), getattr(right, name), check_exact=False, atol=1e-9
        )


@SETTINGS
@given(people=respondent_lists)
def test_scores_stay_between_0_and_100(build, people):
    scores, result = run(build, questionnaire(build), people)
    assert scores["score"].between(0, 100).all()
    assert result.organizations["score"].between(0, 100).all()
    dims = result.dimensions
    for column in ("score", "ci_low", "ci_high"):
        assert dims[column].dropna().between(0, 100).all()
    assert (dims["ci_low"].dropna() <= dims.loc[dims["ci_low"].notna(), "score"]).all()
    assert dims["level"].dropna().isin([1, 2, 3, 4, 5]).all()
    assert result.rounds["overall"].dropna().between(0, 100).all()
    assert result.rounds["stage_reached"].dropna().isin([0, 1, 2, 3, 4]).all()


@SETTINGS
@given(
    people=respondent_lists,
    org=st.sampled_from(["o1", "o2", "own-x"]),
    copies=st.integers(1, 3),
)
def test_replicating_an_organisation_leaves_network_scores_unchanged(build, people, org, copies):
    # Every respondent of one organisation answers again, `copies` more times: the
    # organisation's mean, and so the network score, must not move. (A lone respondent
    # of an own organisation is the simplest case.) Only more respondents: what was
    # shown stays shown.
    q = questionnaire(build)
    _, before = run(build, q, people)
    more = people + [p for p in people if p[1] == org] * copies
    _, after = run(build, q, more)
    was, now = before.dimensions, after.dimensions
    shown = was["score"].notna()
    assert now.loc[shown, "score"].notna().all()
    for column in ("score", "sd", "ci_low", "ci_high"):
        assert now.loc[shown, column].to_numpy() == pytest.approx(
            was.loc[shown, column].to_numpy(), abs=1e-9, nan_ok=True
        )
    assert (now.loc[shown, "organizations"] == was.loc[shown, "organizations"]).all()


@SETTINGS
@given(people=respondent_lists, item=st.sampled_from(ITEMS))
def test_flipping_reverse_flag_and_mirroring_answers_changes_no_score(build, people, item):
    # v -> 1 + 5 - v on the answers and reverse -> not reverse in the file cancel out.
    def mirror(person):
        rnd, org, answered = person
        value = answered[item]
        mirrored = value if value is None or value == DK else 6.0 - value
        return rnd, org, {**answered, item: mirrored}

    scores, result = run(build, questionnaire(build), people)
    scores_m, result_m = run(
        build, questionnaire(build, frozenset({item})), [mirror(p) for p in people]
    )
    pd.testing.assert_frame_equal(scores, scores_m, check_exact=False, atol=1e-9)
    assert_same_results(result, result_m)


@SETTINGS
@given(people=respondent_lists, data=st.data())
def test_permuting_rows_changes_nothing(build, people, data):
    q = questionnaire(build)
    answers = build.answers({rid: answered for rid, (_, _, answered) in enumerate(people)})
    responses = build.responses({rid: (rnd, org) for rid, (rnd, org, _) in enumerate(people)})
    order_a = data.draw(st.permutations(range(len(answers))))
    order_r = data.draw(st.permutations(range(len(responses))))
    shuffled_a = answers.iloc[list(order_a)].reset_index(drop=True)
    shuffled_r = responses.iloc[list(order_r)].reset_index(drop=True)

    scores = score_respondents(answers, q)
    scores_s = score_respondents(shuffled_a, q)
    pd.testing.assert_frame_equal(scores, scores_s, check_exact=False, atol=1e-9)
    shuffled_scores = scores_s.sample(frac=1, random_state=0).reset_index(drop=True)
    assert_same_results(
        score_rounds(scores, responses, q, K), score_rounds(shuffled_scores, shuffled_r, q, K)
    )


@SETTINGS
@given(st.lists(st.integers(0, 20).map(lambda x: 5.0 * x), min_size=1, max_size=12))
def test_percentiles_lie_in_0_100_and_average_50(values):
    # sum over networks of (below + equal/2) = N^2 / 2, so the mean percentile is 50.
    scores = pd.DataFrame(
        {
            "network_id": range(len(values)),
            "region_id": [i % 2 for i in range(len(values))],
            "dimension_id": "d",
            "score": values,
        }
    )
    result = benchmark(scores)
    assert result["national_percentile"].between(0, 100, inclusive="right").all()
    assert result["region_percentile"].between(0, 100, inclusive="right").all()
    assert result["national_percentile"].mean() == pytest.approx(50.0)
    assert result["national_median"].iloc[0] == pytest.approx(float(np.median(values)))


org_scores = st.lists(st.integers(0, 20).map(lambda x: 5.0 * x), min_size=0, max_size=6)


@SETTINGS
@given(before=org_scores, after=org_scores)
def test_trend_significance_agrees_with_scipy_and_never_warns(before, after):
    def orgs(round_id, values):
        return pd.DataFrame(
            {
                "round_id": round_id,
                "dimension_id": "d",
                "organization_key": [f"o{i}" for i in range(len(values))],
                "score": values,
                "respondents": 1,
            },
            columns=["round_id", "dimension_id", "organization_key", "score", "respondents"],
        )

    mean = lambda values: float(np.mean(values)) if values else math.nan  # noqa: E731
    dims = pd.DataFrame(
        {"round_id": [1, 2], "dimension_id": "d", "score": [mean(before), mean(after)]}
    )
    pairs = pd.DataFrame({"round_id": [2], "previous_round_id": [1]})
    result = trends(pd.concat([orgs(1, before), orgs(2, after)]), dims, pairs)
    significant = bool(result["significant"].iloc[0])
    testable = len(before) >= 2 and len(after) >= 2 and np.var(before) + np.var(after) > 0
    if not testable:
        assert not significant
    elif np.var(before) > 0 and np.var(after) > 0:
        p = stats.ttest_ind(after, before, equal_var=False).pvalue
        assert significant == (p < 0.05)
