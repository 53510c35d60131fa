"""Maturity method v1, rule by rule, on hand-computed examples.

Scale 1..5 unless said otherwise, so min = 1 and S = 4; an answer v on a
plain item counts (v - 1) / 4, i.e. 1 -> 0, 2 -> 25, 3 -> 50, 4 -> 75, 5 -> 100.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from assess.scoring import (
    benchmark,
    item_means,
    item_values,
    level_for,
    levels_for,
    national_comparison,
    recommendations,
    round1,
    score_respondents,
    score_rounds,
    trends,
)

DK = "dk"  # what Build.answers reads as "don't know"


#: item_means for a round where nobody answered anything.
NO_MEANS = pd.DataFrame({"item_id": pd.Series([], dtype=str), "mean": pd.Series([], dtype=float)})


def scores_of(frame: pd.DataFrame) -> dict:
    return {(r.response_id, r.dimension_id): r.score for r in frame.itertuples()}


def respondent_scores(table: dict[int, dict[str, float]]) -> pd.DataFrame:
    """{response_id: {dimension_id: score}} -> score_respondents-shaped frame."""
    rows = [(rid, dim, score) for rid, dims in table.items() for dim, score in dims.items()]
    return pd.DataFrame(rows, columns=["response_id", "dimension_id", "score"])


def dimension_row(result, round_id: int, dimension_id: str) -> pd.Series:
    dims = result.dimensions
    match = dims[(dims["round_id"] == round_id) & (dims["dimension_id"] == dimension_id)]
    assert len(match) == 1
    return match.iloc[0]


def round_row(result, round_id: int) -> pd.Series:
    return result.rounds.set_index("round_id").loc[round_id]


@pytest.fixture
def one_dimension(build):
    """Theme 'd' of three plain items a, b, c."""
    return build.questionnaire([build.dimension("d", ["a", "b", "c"])])


@pytest.fixture
def staged(build):
    """Stages s1..s4 and themes ta, tb, each of one item named after it."""
    dims = [build.dimension(f"s{n}", [f"i-s{n}"], stage=n) for n in (1, 2, 3, 4)]
    dims += [build.dimension(t, [f"i-{t}"]) for t in ("ta", "tb")]
    return build.questionnaire(dims)


# Rule 1: item values ----------------------------------------------------------------------


def test_reverse_coded_item_counts_mirrored_value(build):
    q = build.questionnaire([build.dimension("d", [build.item("r", reverse=True)])])
    answers = build.answers({1: {"r": 2}, 2: {"r": 5}})
    # 2 on a reverse item is 1 + 5 - 2 = 4 -> (4-1)/4 = 75; 5 -> 1 -> 0.
    assert item_values(answers, q)["value"].tolist() == [4.0, 1.0]
    assert scores_of(score_respondents(answers, q)) == {(1, "d"): 75.0, (2, "d"): 0.0}


def test_item_values_keep_only_answered_likert_items_of_the_questionnaire(build):
    q = build.questionnaire([build.dimension("d", ["a", "b", build.item("note", kind="text")])])
    answers = build.answers({1: {"a": 3, "b": DK, "note": 4, "ghost": 5}, 2: {"a": None, "b": 2}})
    values = item_values(answers, q)
    assert list(values.columns) == ["response_id", "item_id", "dimension_id", "value", "weight"]
    # b of 1 is "don't know", a of 2 unanswered, note is a text item, ghost is unknown.
    assert values[["response_id", "item_id", "value"]].values.tolist() == [
        [1, "a", 3.0],
        [2, "b", 2.0],
    ]


def test_dont_know_wins_over_a_stray_value(build, one_dimension):
    answers = pd.DataFrame(
        {"response_id": [1], "item_id": ["a"], "value": [5.0], "dont_know": [True]}
    )
    assert item_values(answers, one_dimension).empty


def test_value_outside_the_scale_is_rejected(build, one_dimension):
    with pytest.raises(ValueError, match="outside the scale"):
        item_values(build.answers({1: {"a": 6}}), one_dimension)


def test_item_answered_twice_in_a_response_is_rejected(one_dimension):
    answers = pd.DataFrame(
        {"response_id": [1, 1], "item_id": ["a", "a"], "value": [2.0, 3.0], "dont_know": False}
    )
    with pytest.raises(ValueError, match="more than once"):
        item_values(answers, one_dimension)


# Rule 2: respondent dimension scores ------------------------------------------------------


def test_weights_scale_each_item_contribution(build):
    q = build.questionnaire([build.dimension("d", ["a", build.item("b", weight=3)])])
    # a = 5 -> 1.0 with weight 1, b = 1 -> 0.0 with weight 3: 100 * (1*1 + 3*0) / (1+3) = 25.
    # Unweighted it would be 50.
    assert scores_of(score_respondents(build.answers({1: {"a": 5, "b": 1}}), q)) == {(1, "d"): 25.0}


def test_unanswered_items_carry_no_weight(build):
    q = build.questionnaire([build.dimension("d", ["a", build.item("b", weight=3)])])
    # Only a = 4 answered (1 of 2 >= ceil(2/2) = 1): 100 * (1 * 3/4) / 1 = 75, b's weight is gone.
    assert scores_of(score_respondents(build.answers({1: {"a": 4, "b": None}}), q)) == {
        (1, "d"): 75.0
    }


def test_score_needs_ceil_half_of_an_odd_number_of_items(build, one_dimension):
    # n = 3 -> ceil(3/2) = 2 answered items needed.
    answers = build.answers({1: {"a": 5}, 2: {"a": 5, "b": 3}})
    # Respondent 2: (100 + 50) / 2 = 75; respondent 1 has too few answers: no row.
    assert scores_of(score_respondents(answers, one_dimension)) == {(2, "d"): 75.0}


def test_score_needs_half_of_an_even_number_of_items(build):
    q = build.questionnaire([build.dimension("d", ["a", "b", "c", "e"])])
    # n = 4 -> ceil(4/2) = 2 answered items needed.
    answers = build.answers({1: {"a": 2}, 2: {"a": 2, "e": 4}})
    # Respondent 2: (25 + 75) / 2 = 50.
    assert scores_of(score_respondents(answers, q)) == {(2, "d"): 50.0}


def test_dont_know_counts_as_missing(build, one_dimension):
    # 1: a = 3 and b = 5 answered, c don't know: (50 + 100) / 2 = 75 (not (50+100+?)/3).
    # 2: only a answered, b and c don't know: 1 < 2 needed -> no score.
    answers = build.answers({1: {"a": 3, "b": 5, "c": DK}, 2: {"a": 3, "b": DK, "c": DK}})
    assert scores_of(score_respondents(answers, one_dimension)) == {(1, "d"): 75.0}


def test_text_items_do_not_count_toward_the_half_rule(build):
    q = build.questionnaire([build.dimension("d", ["a", "b", build.item("why", kind="text")])])
    # 2 likert items -> 1 needed; the text item neither counts nor helps.
    assert scores_of(score_respondents(build.answers({1: {"a": 2}}), q)) == {(1, "d"): 25.0}


def test_scores_follow_the_scale_of_the_questionnaire(build):
    q = build.questionnaire([build.dimension("d", ["a"])], scale_min=0, scale_max=10)
    # S = 10: 7 -> 100 * (7 - 0) / 10 = 70.
    assert scores_of(score_respondents(build.answers({1: {"a": 7}}), q)) == {(1, "d"): 70.0}


# Rules 3 and 4: organisations, then the network -------------------------------------------


def test_organisation_is_averaged_before_the_network(one_dimension):
    scores = respondent_scores({1: {"d": 100}, 2: {"d": 75}, 3: {"d": 50}, 4: {"d": 25}})
    responses = pd.DataFrame(
        {"round_id": 1, "response_id": [1, 2, 3, 4], "organization_key": ["A", "A", "A", "B"]}
    )
    result = score_rounds(scores, responses, one_dimension, k=3)
    # A = (100 + 75 + 50) / 3 = 75, B = 25; network = (75 + 25) / 2 = 50,
    # where the respondent mean would be 62.5.
    row = dimension_row(result, 1, "d")
    assert (row.score, row.respondents, row.organizations) == (50.0, 4, 2)
    orgs = result.organizations
    assert orgs[["organization_key", "score", "respondents"]].values.tolist() == [
        ["A", 75.0, 3],
        ["B", 25.0, 1],
    ]


def test_respondents_without_organisation_each_count_as_their_own(one_dimension):
    # The caller keys each respondent without an organisation on its own ("own-<id>").
    scores = respondent_scores({1: {"d": 100}, 2: {"d": 100}, 3: {"d": 40}, 4: {"d": 0}})
    responses = pd.DataFrame(
        {
            "round_id": 1,
            "response_id": [1, 2, 3, 4],
            "organization_key": ["A", "A", "own-3", "own-4"],
        }
    )
    result = score_rounds(scores, responses, one_dimension, k=3)
    # A = 100, own-3 = 40, own-4 = 0: (100 + 40 + 0) / 3 = 46.67, three organisations.
    row = dimension_row(result, 1, "d")
    assert row.score == pytest.approx(140 / 3)
    assert row.organizations == 3
    assert round_row(result, 1).organizations == 3


def test_scores_of_responses_outside_the_rounds_are_ignored(one_dimension):
    scores = respondent_scores({1: {"d": 10}, 2: {"d": 20}, 3: {"d": 30}, 99: {"d": 100}})
    responses = pd.DataFrame({"round_id": 1, "response_id": [1, 2, 3], "organization_key": "A"})
    result = score_rounds(scores, responses, one_dimension, k=3)
    assert dimension_row(result, 1, "d").score == 20.0  # (10 + 20 + 30) / 3


def test_every_round_gets_a_row_for_every_dimension(staged):
    responses = pd.DataFrame({"round_id": [1, 2], "response_id": [1, 2], "organization_key": "A"})
    result = score_rounds(respondent_scores({}), responses, staged, k=3)
    assert result.dimensions[["round_id", "dimension_id"]].values.tolist() == [
        [r, d] for r in (1, 2) for d in ("s1", "s2", "s3", "s4", "ta", "tb")
    ]
    assert result.rounds["round_id"].tolist() == [1, 2]


# Rule 5: suppression ----------------------------------------------------------------------


def test_round_with_fewer_than_k_responses_is_suppressed(one_dimension):
    scores = respondent_scores({i: {"d": 80} for i in range(1, 6)})
    # k = 3: round 1 has k - 1 = 2 responses, round 2 has 3.
    responses = pd.DataFrame(
        {"round_id": [1, 1, 2, 2, 2], "response_id": [1, 2, 3, 4, 5], "organization_key": "A"}
    )
    result = score_rounds(scores, responses, one_dimension, k=3)
    small, enough = round_row(result, 1), round_row(result, 2)
    assert small.suppressed and not enough.suppressed
    assert math.isnan(small.overall) and enough.overall == 80.0
    row = dimension_row(result, 1, "d")
    assert math.isnan(row.score) and pd.isna(row.level)
    assert math.isnan(row.sd) and math.isnan(row.ci_low) and math.isnan(row.ci_high)
    assert dimension_row(result, 2, "d").score == 80.0
    # No organisation score of a suppressed round leaves the core either.
    assert result.organizations["round_id"].unique().tolist() == [2]


def test_dimension_with_fewer_than_k_scored_respondents_has_no_score(build):
    q = build.questionnaire([build.dimension("d", ["a"]), build.dimension("e", ["b"])])
    # Three responses (not suppressed), but only two scored in e.
    scores = respondent_scores({1: {"d": 50, "e": 0}, 2: {"d": 50, "e": 100}, 3: {"d": 50}})
    responses = pd.DataFrame(
        {"round_id": 1, "response_id": [1, 2, 3], "organization_key": ["A", "B", "C"]}
    )
    result = score_rounds(scores, responses, q, k=3)
    e = dimension_row(result, 1, "e")
    assert math.isnan(e.score) and pd.isna(e.level) and math.isnan(e.sd)
    assert e.respondents == 2
    assert dimension_row(result, 1, "d").score == 50.0
    # overall is the mean of the non-null dimensions only: d = 50.
    assert round_row(result, 1).overall == 50.0
    assert set(result.organizations["dimension_id"]) == {"d"}


def test_submitted_response_without_any_score_counts_toward_round_size(one_dimension):
    # Response 3 answered too little for a score, but it was submitted.
    scores = respondent_scores({1: {"d": 60}, 2: {"d": 40}})
    responses = pd.DataFrame({"round_id": 1, "response_id": [1, 2, 3], "organization_key": "A"})
    result = score_rounds(scores, responses, one_dimension, k=3)
    assert round_row(result, 1).respondents == 3
    assert not round_row(result, 1).suppressed
    assert math.isnan(dimension_row(result, 1, "d").score)  # 2 scored < k = 3


# Rule 6: levels ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (0, 1),
        (19.99, 1),
        (20, 2),
        (39.99, 2),
        (40, 3),
        (59.99, 3),
        (60, 4),
        (79.99, 4),
        (80, 5),
        (100, 5),
    ],
)
def test_level_boundaries(score, level):
    # 1 + min(4, floor(score / 20)).
    assert level_for(score) == level
    assert levels_for(pd.Series([float(score)])).tolist() == [level]


def test_level_comes_from_the_unrounded_score():
    # 19.96 is shown as 20.0 but stays on level 1.
    assert round1(19.96) == 20.0
    assert level_for(19.96) == 1


def test_float_noise_does_not_cost_a_level():
    # (200/3 + 160/3) / 2 is exactly 60 by the method; in binary it may land a hair below.
    assert level_for(59.99999999999999) == 4


def test_score_of_exactly_60_reaches_the_stage_despite_float_noise(build):
    # Weights 0.1, 0.2, 0.7 and answers 2, 2, 4: (0.1*1/4 + 0.2*1/4 + 0.7*3/4) / 1.0 = 0.6,
    # exactly 60 by the method, but 59.999999999999986 in binary floating point.
    dims = [
        build.dimension(
            f"s{n}",
            [build.item(f"{x}{n}", weight=w) for x, w in (("a", 0.1), ("b", 0.2), ("c", 0.7))],
            stage=n,
        )
        for n in (1, 2, 3, 4)
    ]
    q = build.questionnaire(dims)
    one = {f"{x}{n}": v for n in (1, 2, 3, 4) for x, v in (("a", 2), ("b", 2), ("c", 4))}
    scores = score_respondents(build.answers({r: one for r in range(3)}), q)
    assert scores["score"].tolist() == pytest.approx([60.0] * 12)
    responses = build.responses({r: (1, f"o{r}") for r in range(3)})
    result = score_rounds(scores, responses, q, k=3)
    assert result.dimensions["level"].tolist() == [4] * 4
    assert round_row(result, 1).stage_reached == 4
    assert recommendations(result.dimensions, NO_MEANS, q, "en") == []


def test_missing_score_has_no_level():
    assert levels_for(pd.Series([np.nan, 45.0])).tolist() == [pd.NA, 3]
    with pytest.raises(ValueError):
        level_for(float("nan"))


# Rule 7: spread ---------------------------------------------------------------------------


def test_sd_and_ci95_come_from_organisation_scores(one_dimension):
    scores = respondent_scores({1: {"d": 50}, 2: {"d": 60}, 3: {"d": 70}})
    responses = pd.DataFrame(
        {"round_id": 1, "response_id": [1, 2, 3], "organization_key": ["A", "B", "C"]}
    )
    row = dimension_row(score_rounds(scores, responses, one_dimension, k=3), 1, "d")
    # mean 60; sd = sqrt(((50-60)^2 + 0^2 + (70-60)^2) / (3-1)) = sqrt(100) = 10.
    t = stats.t.ppf(0.975, 2)  # 4.3027
    half = t * 10 / math.sqrt(3)  # 24.84
    assert row.sd == pytest.approx(10.0)
    assert row.ci_low == pytest.approx(60 - half)  # 35.16
    assert row.ci_high == pytest.approx(60 + half)  # 84.84


def test_ci95_is_clipped_to_0_and_100(one_dimension):
    scores = respondent_scores({1: {"d": 0}, 2: {"d": 0}, 3: {"d": 100}})
    responses = pd.DataFrame(
        {"round_id": 1, "response_id": [1, 2, 3], "organization_key": ["A", "B", "C"]}
    )
    row = dimension_row(score_rounds(scores, responses, one_dimension, k=3), 1, "d")
    # mean 33.33; sd = sqrt((1111.1 + 1111.1 + 4444.4) / 2) = 57.74;
    # half = 4.3027 * 57.74 / sqrt(3) = 143.4 -> [-110.1, 176.8] clipped to [0, 100].
    assert row.sd == pytest.approx(math.sqrt(10000 / 3))
    assert (row.ci_low, row.ci_high) == (0.0, 100.0)


def test_two_organisations_use_t_with_one_degree_of_freedom(one_dimension):
    scores = respondent_scores({1: {"d": 40}, 2: {"d": 50}, 3: {"d": 60}})
    responses = pd.DataFrame(
        {"round_id": 1, "response_id": [1, 2, 3], "organization_key": ["A", "B", "B"]}
    )
    row = dimension_row(score_rounds(scores, responses, one_dimension, k=3), 1, "d")
    # A = 40, B = 55; score 47.5; sd = 15 / sqrt(2) = 10.607;
    # half = 12.706 * 10.607 / sqrt(2) = 12.706 * 7.5 = 95.3 -> clipped at 0 and 100.
    assert row.score == 47.5
    assert row.sd == pytest.approx(15 / math.sqrt(2))
    assert (row.ci_low, row.ci_high) == (0.0, 100.0)


def test_single_organisation_has_a_score_but_no_spread(one_dimension):
    scores = respondent_scores({1: {"d": 40}, 2: {"d": 50}, 3: {"d": 60}})
    responses = pd.DataFrame({"round_id": 1, "response_id": [1, 2, 3], "organization_key": "A"})
    row = dimension_row(score_rounds(scores, responses, one_dimension, k=3), 1, "d")
    assert row.score == 50.0
    assert math.isnan(row.sd) and math.isnan(row.ci_low) and math.isnan(row.ci_high)


# Rules 8 and 9: stage reached, overall ----------------------------------------------------


def staged_round(staged, stage_scores: dict[str, float | None], k: int = 3):
    """One round of k respondents in separate organisations who all give these scores."""
    table = {rid: {d: s for d, s in stage_scores.items() if s is not None} for rid in range(k)}
    responses = pd.DataFrame(
        {"round_id": 1, "response_id": range(k), "organization_key": [f"o{i}" for i in range(k)]}
    )
    return score_rounds(respondent_scores(table), responses, staged, k=k)


def test_stage_reached_stops_at_the_first_stage_below_threshold(staged):
    # s1 70 ok, s2 50 < 60 stops the climb although s3 and s4 are above: stage 1.
    result = staged_round(staged, {"s1": 70, "s2": 50, "s3": 80, "s4": 90})
    assert round_row(result, 1).stage_reached == 1


def test_stage_with_null_score_stops_the_climb(staged):
    assert round_row(staged_round(staged, {"s1": 70, "s2": None, "s3": 80}), 1).stage_reached == 1
    assert round_row(staged_round(staged, {"s1": None, "s2": 90}), 1).stage_reached == 0


def test_stage_threshold_is_inclusive_and_all_four_stages_can_be_reached(staged):
    result = staged_round(staged, {"s1": 60, "s2": 60, "s3": 99, "s4": 60})
    assert round_row(result, 1).stage_reached == 4


def test_stage_threshold_comes_from_the_questionnaire(build):
    dims = [build.dimension(f"s{n}", [f"i{n}"], stage=n) for n in (1, 2, 3, 4)]
    q = build.questionnaire(dims, stage_threshold=50)
    result = staged_round(q, {"s1": 55, "s2": 50, "s3": 45, "s4": 90})
    assert round_row(result, 1).stage_reached == 2


def test_suppressed_round_has_no_stage(staged):
    scores = respondent_scores({1: {"s1": 90}, 2: {"s1": 90}})
    responses = pd.DataFrame({"round_id": 1, "response_id": [1, 2], "organization_key": "A"})
    assert pd.isna(round_row(score_rounds(scores, responses, staged, k=3), 1).stage_reached)


def test_questionnaire_of_themes_only_has_no_stage(one_dimension):
    scores = respondent_scores({1: {"d": 90}, 2: {"d": 90}, 3: {"d": 90}})
    responses = pd.DataFrame({"round_id": 1, "response_id": [1, 2, 3], "organization_key": "A"})
    assert pd.isna(round_row(score_rounds(scores, responses, one_dimension, k=3), 1).stage_reached)


def test_overall_is_the_unweighted_mean_of_non_null_dimension_scores(staged):
    # (70 + 50 + 30) / 3 = 50: missing stages and themes do not count as 0.
    result = staged_round(staged, {"s1": 70, "s2": 50, "ta": 30})
    assert round_row(result, 1).overall == 50.0
    assert math.isnan(round_row(staged_round(staged, {}), 1).overall)


# Rule 10: recommendations -----------------------------------------------------------------


def dimension_rows(scores: dict[str, float | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "round_id": 1,
            "dimension_id": list(scores),
            "score": [np.nan if s is None else float(s) for s in scores.values()],
        }
    )


def test_recommendations_list_stages_in_order_then_themes_by_score_then_id(build):
    dims = [build.dimension(f"s{n}", [f"i-s{n}"], stage=n) for n in (1, 2, 3, 4)]
    dims += [build.dimension(t, [f"i-{t}"]) for t in ("tb", "ta", "tc", "td", "te")]
    q = build.questionnaire(dims)
    rows = dimension_rows(
        # listed out of order on purpose
        {"s4": 10, "tb": 30, "s1": 70, "s2": 50, "s3": None, "ta": 30, "tc": 5, "td": 65, "te": 60}
    )
    # Below 60: s2, s4 (stages, stage order); tc 5, then ta 30 and tb 30 (tie by id).
    # s1 70, td 65 and te 60 (not below) are fine; s3 has no score.
    result = recommendations(rows, NO_MEANS, q, "en")
    assert [r["dimension"] for r in result] == ["s2", "s4", "tc", "ta", "tb"]
    assert [r["level"] for r in result] == [3, 1, 1, 2, 2]


def test_recommendation_text_falls_back_to_nearest_lower_then_higher_level(build):
    recs = {2: "level two", 4: "level four"}
    q = build.questionnaire(
        [build.dimension(d, [f"i-{d}"], recommendations=recs) for d in ("a", "b", "c")],
        stage_threshold=80,
    )
    # a 70 -> level 4 (exact); b 50 -> level 3 -> none, lower 2; c 10 -> level 1 -> higher 2.
    result = recommendations(dimension_rows({"a": 70, "b": 50, "c": 10}), NO_MEANS, q, "en")
    assert {r["dimension"]: r["text"] for r in result} == {
        "a": "level four",
        "b": "level two",
        "c": "level two",
    }


def test_recommendation_text_is_in_the_asked_language_else_the_default(build):
    q = build.questionnaire(
        [
            {
                "id": "d",
                "kind": "theme",
                "title": {"fi": "D", "sv": "D"},
                "items": [{"id": "a", "text": {"fi": "A", "sv": "A"}}],
                "recommendations": [{"level": 1, "text": {"fi": "Aloittakaa", "sv": "Börja"}}],
            }
        ],
        languages=["fi", "sv"],
        title={"fi": "T", "sv": "T"},
        scale={"min": 1, "max": 5, "labels": {"fi": list("12345"), "sv": list("12345")}},
    )
    rows = dimension_rows({"d": 10})
    assert recommendations(rows, NO_MEANS, q, "sv")[0]["text"] == "Börja"
    assert recommendations(rows, NO_MEANS, q, "en")[0]["text"] == "Aloittakaa"


def test_dimension_without_recommendation_texts_still_gets_listed(build, one_dimension):
    result = recommendations(dimension_rows({"d": 10}), NO_MEANS, one_dimension, "en")
    assert result == [{"dimension": "d", "level": 1, "text": "", "focus_items": []}]


def test_focus_items_are_the_two_lowest_item_means_ties_by_id(build):
    q = build.questionnaire(
        [
            build.dimension("d", ["a", "c", "b", "e", build.item("why", kind="text")]),
            build.dimension("other", ["x"]),
        ]
    )
    means = pd.DataFrame(
        {
            # e nobody answered (no row or NaN); x is lower but of another dimension.
            "item_id": ["a", "b", "c", "e", "x"],
            "mean": [3.0, 2.0, 2.0, np.nan, 1.0],
        }
    )
    result = recommendations(dimension_rows({"d": 30, "other": 90}), means, q, "en")
    # b 2.0 and c 2.0 tie: by id, b then c; a 3.0 is third.
    assert result == [{"dimension": "d", "level": 2, "text": "", "focus_items": ["b", "c"]}]


def test_item_means_are_reverse_coded_means_over_those_who_answered(build):
    q = build.questionnaire([build.dimension("d", ["a", build.item("r", reverse=True)])])
    answers = build.answers({1: {"a": 1, "r": 2}, 2: {"a": 2, "r": 5}, 3: {"a": 3, "r": DK}})
    values = item_values(answers, q)
    values["round_id"] = 7
    result = item_means(values)
    # a: (1 + 2 + 3) / 3 = 2; r: 2 -> 4 and 5 -> 1, don't know skipped: (4 + 1) / 2 = 2.5.
    assert result.values.tolist() == [[7, "a", "d", 2.0, 3], [7, "r", "d", 2.5, 2]]


def test_suppressed_round_gets_no_recommendations(staged):
    scores = respondent_scores({1: {"s1": 10}, 2: {"s1": 10}})
    responses = pd.DataFrame({"round_id": 1, "response_id": [1, 2], "organization_key": "A"})
    result = score_rounds(scores, responses, staged, k=3)
    assert recommendations(result.dimensions, NO_MEANS, staged, "en") == []


# The worked example of docs/methodology.md ------------------------------------------------


def test_worked_example_of_the_methodology(build):
    q = build.questionnaire(
        [
            build.dimension(
                "trust",
                ["t1", build.item("t2", weight=2), build.item("t3", reverse=True)],
                recommendations={3: "Agree on shared goals."},
            )
        ]
    )
    answers = build.answers(
        {
            1: {"t1": 4, "t2": 5, "t3": 2},
            2: {"t1": 3, "t2": DK, "t3": 4},
            3: {"t1": 2, "t2": 3, "t3": None},
        }
    )
    responses = build.responses({1: (1, "A"), 2: (1, "A"), 3: (1, "B")})
    scores = score_respondents(answers, q)
    # R1: t3 2 -> 4; (1*3/4 + 2*4/4 + 1*3/4) / (1+2+1) = 3.5/4 -> 87.5
    # R2: t2 don't know; t3 4 -> 2; (2/4 + 1/4) / 2 = 0.375 -> 37.5
    # R3: t3 unanswered; (1*1/4 + 2*2/4) / 3 = 1.25/3 -> 41.667
    assert scores["score"].tolist() == pytest.approx([87.5, 37.5, 125 / 3])
    result = score_rounds(scores, responses, q, k=3)
    row = dimension_row(result, 1, "trust")
    # A = (87.5 + 37.5) / 2 = 62.5, B = 41.667; network = (62.5 + 41.667) / 2 = 52.083.
    assert row.score == pytest.approx(625 / 12)
    assert round1(row.score) == 52.1
    assert row.level == 3  # 1 + floor(52.083 / 20)
    assert row.sd == pytest.approx((62.5 - 125 / 3) / math.sqrt(2))  # 14.73
    assert (row.ci_low, row.ci_high) == (0.0, 100.0)  # +- 12.706 * 10.417 = 132.4
    values = item_values(answers, q).merge(responses, on="response_id")
    means = item_means(values)
    # t1 (4+3+2)/3 = 3.0, t2 (5+3)/2 = 4.0, t3 (4+2)/2 = 3.0.
    assert dict(zip(means["item_id"], means["mean"], strict=True)) == {
        "t1": 3.0,
        "t2": 4.0,
        "t3": 3.0,
    }
    assert recommendations(result.dimensions, means, q, "en") == [
        {
            "dimension": "trust",
            "level": 3,
            "text": "Agree on shared goals.",
            "focus_items": ["t1", "t3"],
        }
    ]


# Rule 11: benchmark -----------------------------------------------------------------------


def test_percentile_counts_half_of_ties_including_itself():
    scores = pd.DataFrame(
        {
            "network_id": [1, 2, 3, 4],
            "region_id": 1,
            "dimension_id": "d",
            "score": [50.0, 60.0, 60.0, 70.0],
        }
    )
    result = benchmark(scores)
    # 50: (0 + 0.5*1)/4 = 12.5; each 60: (1 + 0.5*2)/4 = 50; 70: (3 + 0.5*1)/4 = 87.5.
    assert result["national_percentile"].tolist() == [12.5, 50.0, 50.0, 87.5]
    assert result["national_median"].tolist() == [60.0] * 4  # (60 + 60) / 2
    assert result["networks"].tolist() == [4] * 4


def test_region_percentile_ranks_within_the_region():
    scores = pd.DataFrame(
        {
            "network_id": [1, 2, 3, 4, 5],
            "region_id": [1, 1, 2, 2, None],
            "dimension_id": "d",
            "score": [50.0, 60.0, 60.0, 70.0, 80.0],
        }
    )
    result = benchmark(scores)
    # Region 1: 50 -> 0.5/2 = 25, 60 -> 1.5/2 = 75. Region 2: 60 -> 25, 70 -> 75.
    # Network 5 has no region, so no region percentile; nationally 80 -> 4.5/5 = 90.
    assert result["region_percentile"].tolist()[:4] == [25.0, 75.0, 25.0, 75.0]
    assert math.isnan(result["region_percentile"].iloc[4])
    assert result["national_percentile"].tolist() == [10.0, 40.0, 40.0, 70.0, 90.0]


def test_benchmark_is_per_dimension_and_ignores_null_scores():
    scores = pd.DataFrame(
        {
            "network_id": [1, 2, 3, 1, 2, 3],
            "region_id": 1,
            "dimension_id": ["d", "d", "d", "e", "e", "e"],
            "score": [10.0, 20.0, 30.0, 40.0, 40.0, np.nan],
        }
    )
    result = benchmark(scores)
    assert len(result) == 5
    e = result[result["dimension_id"] == "e"]
    assert e["networks"].tolist() == [2, 2]
    assert e["national_percentile"].tolist() == [50.0, 50.0]  # (0 + 0.5*2)/2
    d = result[result["dimension_id"] == "d"]
    assert d["national_median"].tolist() == [20.0] * 3
    assert d["national_percentile"].tolist() == pytest.approx([100 / 6, 50.0, 500 / 6])


def test_benchmark_compares_unrounded_scores():
    scores = pd.DataFrame(
        {"network_id": [1, 2], "region_id": 1, "dimension_id": "d", "score": [60.04, 59.96]}
    )
    # Both show as 60.0, but 59.96 is below 60.04: 25 and 75, not a tie at 50.
    assert benchmark(scores)["national_percentile"].tolist() == [75.0, 25.0]


def test_equal_scores_tie_despite_float_noise():
    scores = pd.DataFrame(
        {
            "network_id": [1, 2, 3],
            "region_id": 1,
            "dimension_id": "d",
            "score": [60.0, 59.999999999999986, 70.0],
        }
    )
    # Both are 60 by the method: (0 + 0.5*2)/3 = 33.3 each; 70: (2 + 0.5)/3 = 83.3.
    assert benchmark(scores)["national_percentile"].tolist() == pytest.approx(
        [100 / 3, 100 / 3, 250 / 3]
    )


# Rule 12: trends --------------------------------------------------------------------------


def org_frame(round_id: int, dimension_id: str, scores: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "round_id": round_id,
            "dimension_id": dimension_id,
            "organization_key": [f"o{i}" for i in range(len(scores))],
            "score": scores,
            "respondents": 1,
        }
    )


def dims_frame(rows: list[tuple[int, str, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(r, d, np.nan if s is None else s) for r, d, s in rows],
        columns=["round_id", "dimension_id", "score"],
    )


PAIR = pd.DataFrame({"round_id": [2], "previous_round_id": [1]})


def test_clear_change_is_significant():
    before, after = [20.0, 22.0, 24.0, 26.0], [70.0, 72.0, 74.0, 76.0]
    orgs = pd.concat([org_frame(1, "d", before), org_frame(2, "d", after)])
    dims = dims_frame([(1, "d", 23.0), (2, "d", 73.0)])
    result = trends(orgs, dims, PAIR)
    # Both variances 20/3 = 6.67; se = sqrt(6.67/4 + 6.67/4) = 1.83; t = 50 / 1.83 = 27.4,
    # df = 6: p is far below 0.05.
    assert result.values.tolist() == [[2, "d", 1, 50.0, True]]
    assert stats.ttest_ind(after, before, equal_var=False).pvalue < 1e-6


def test_small_change_within_the_spread_is_not_significant():
    before, after = [40.0, 50.0, 60.0], [45.0, 55.0, 65.0]
    orgs = pd.concat([org_frame(1, "d", before), org_frame(2, "d", after)])
    dims = dims_frame([(1, "d", 50.0), (2, "d", 55.0)])
    result = trends(orgs, dims, PAIR)
    # Both variances 100; se = sqrt(100/3 + 100/3) = 8.16; t = 5 / 8.16 = 0.61, df = 4:
    # p = 0.57 (a t of 2.78 would be needed for p < 0.05).
    assert result["delta"].tolist() == [5.0]
    assert result["significant"].tolist() == [False]
    assert stats.ttest_ind(after, before, equal_var=False).pvalue == pytest.approx(0.573, abs=1e-3)


def test_significance_is_welchs_test_not_the_pooled_one():
    # A wide previous round (6 organisations) and a tight current one (3).
    before, after = [30.0, 55.0, 41.0, 38.0, 60.0, 35.0], [55.0, 56.0, 57.0]
    welch = stats.ttest_ind(after, before, equal_var=False).pvalue  # 0.044
    pooled = stats.ttest_ind(after, before).pvalue  # 0.112
    assert welch < 0.05 <= pooled
    orgs = pd.concat([org_frame(1, "d", before), org_frame(2, "d", after)])
    dims = dims_frame([(1, "d", np.mean(before)), (2, "d", np.mean(after))])
    assert trends(orgs, dims, PAIR)["significant"].tolist() == [True]


def test_trend_with_fewer_than_two_organisations_is_not_significant():
    orgs = pd.concat([org_frame(1, "d", [10.0, 11.0, 12.0]), org_frame(2, "d", [90.0])])
    dims = dims_frame([(1, "d", 11.0), (2, "d", 90.0)])
    result = trends(orgs, dims, PAIR)
    assert result["delta"].tolist() == [79.0]
    assert result["significant"].tolist() == [False]


def test_trend_with_a_null_score_has_no_delta_and_is_not_significant():
    orgs = org_frame(2, "d", [70.0, 72.0, 74.0])
    dims = dims_frame([(1, "d", None), (2, "d", 72.0)])
    result = trends(orgs, dims, PAIR)
    assert math.isnan(result["delta"].iloc[0])
    assert result["significant"].tolist() == [False]


def test_constant_organisation_scores_are_not_significant():
    # Zero variance in both rounds: the t-test is undefined (p = NaN) -> False, no warning.
    orgs = pd.concat([org_frame(1, "d", [40.0, 40.0]), org_frame(2, "d", [60.0, 60.0])])
    dims = dims_frame([(1, "d", 40.0), (2, "d", 60.0)])
    result = trends(orgs, dims, PAIR)
    assert result.values.tolist() == [[2, "d", 1, 20.0, False]]


def test_dimension_missing_in_the_previous_round_gives_no_trend_row():
    dims = dims_frame([(1, "d", 40.0), (2, "d", 50.0), (2, "new", 50.0)])
    pairs = pd.DataFrame({"round_id": [2, 3], "previous_round_id": [1, None]})
    result = trends(org_frame(1, "d", []), dims, pairs)
    # Only d of round 2 against round 1; round 3 has no previous round.
    assert result[["round_id", "dimension_id", "delta"]].values.tolist() == [[2, "d", 10.0]]


# Rule 13: national comparison -------------------------------------------------------------


def comparison_frame(rows: list[tuple[str, int, str, float | None]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(r, n, d, np.nan if s is None else s) for r, n, d, s in rows],
        columns=["region", "network_id", "dimension_id", "score"],
    )


def test_national_quantiles_use_linear_interpolation():
    scores = comparison_frame([("North", n, "d", 10.0 * n) for n in (1, 2, 3, 4)])
    result = national_comparison(scores)
    # [10, 20, 30, 40]: p25 at position 0.25 * 3 = 0.75 -> 10 + 0.75 * 10 = 17.5;
    # median at 1.5 -> 25; p75 at 2.25 -> 30 + 0.25 * 10 = 32.5; mean 25.
    expected = {"networks": 4, "mean": 25.0, "median": 25.0, "p25": 17.5, "p75": 32.5}
    assert result["national"] == {"networks": 4, "dimensions": {"d": expected}}
    assert result["regions"] == [{"region": "North", "networks": 4, "dimensions": {"d": expected}}]


def test_region_with_fewer_than_three_networks_is_suppressed():
    scores = comparison_frame(
        [
            ("South", 1, "d", 10.0),
            ("South", 2, "d", 20.0),
            ("East", 3, "d", 30.0),
            ("East", 4, "d", 40.0),
            ("East", 5, "d", 50.0),
            ("East", 6, "d", None),
            ("East", 6, "e", 70.0),
            ("Central", 7, "d", 60.0),
            ("Central", 8, "d", 70.0),
            ("Central", 9, "d", 80.0),
        ]
    )
    result = national_comparison(scores)
    # Regions sorted by name; every dimension id gets a key, None when suppressed.
    assert [r["region"] for r in result["regions"]] == ["Central", "East", "South"]
    central, east, south = result["regions"]
    assert south == {"region": "South", "networks": 2, "dimensions": {"d": None, "e": None}}
    # Rule 13a: South alone hides 2 networks, which the national row minus the shown
    # regions would reveal; the smallest shown region (3 networks; Central before East
    # by name) is hidden with it.
    assert central["dimensions"]["d"] is None
    assert east["networks"] == 4  # 3, 4, 5, and 6 through e
    assert east["dimensions"]["d"]["median"] == 40.0
    assert east["dimensions"]["e"] is None
    assert result["national"]["networks"] == 9
    assert result["national"]["dimensions"]["d"]["networks"] == 8  # network 6 has no d score
    assert result["national"]["dimensions"]["d"]["mean"] == 45.0


def test_national_block_below_three_networks_is_suppressed():
    scores = comparison_frame([("North", 1, "d", 10.0), ("South", 2, "d", 20.0)])
    assert national_comparison(scores)["national"] == {"networks": 2, "dimensions": {"d": None}}


# Rounding ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (62.25, 62.3),  # round() gives 62.2 (half to even)
        (0.15, 0.2),  # the binary 0.1499999... would round down
        (62.24, 62.2),
        (62.24999999999999, 62.3),  # float noise of an exact 62.25
        (-2.25, -2.3),  # halves away from zero
        (-0.04, 0.0),  # never "-0.0"
        (100.0, 100.0),
        (np.float64(52.05), 52.1),
        (None, None),
        (float("nan"), None),
        (pd.NA, None),
    ],
)
def test_round1_rounds_half_up_to_one_decimal(value, shown):
    assert round1(value) == shown
