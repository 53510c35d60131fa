"""Instrument quality (assess/scoring/instrument.py), checked against hand-computed values."""

import math

import numpy as np
import pandas as pd
import pytest

from assess.scoring.instrument import (
    assess_instrument,
    cronbach_alpha,
    item_distributions,
    item_total_correlations,
)

DK = "dk"  # what Build.answers reads as "don't know"

# 4 respondents x 3 items.
#   item 1: 4, 3, 2, 5   mean 3.5   squares of deviations 0.25 + 0.25 + 2.25 + 2.25 = 5
#   item 2: 5, 4, 2, 4   mean 3.75  1.5625 + 0.0625 + 3.0625 + 0.0625 = 4.75
#   item 3: 4, 3, 3, 5   mean 3.75  0.0625 + 0.5625 + 0.5625 + 1.5625 = 2.75
#   sums:  13, 10, 7, 14 mean 11    4 + 1 + 16 + 9 = 30
# Sample variances (n - 1 = 3): items 5/3 + 4.75/3 + 2.75/3 = 12.5/3; total 30/3 = 10.
# alpha = 3/2 * (1 - (12.5/3) / 10) = 1.5 * (1 - 0.41667) = 0.875
HAND = pd.DataFrame({"i1": [4, 3, 2, 5], "i2": [5, 4, 2, 4], "i3": [4, 3, 3, 5]}, dtype=float)


def test_cronbach_alpha_matches_the_hand_computed_example():
    assert cronbach_alpha(HAND) == pytest.approx(0.875)


def test_alpha_uses_only_respondents_who_answered_every_item():
    with_gaps = pd.concat(
        [HAND, pd.DataFrame({"i1": [1.0, np.nan], "i2": [np.nan, 5.0], "i3": [2.0, 1.0]})],
        ignore_index=True,
    )
    assert cronbach_alpha(with_gaps) == pytest.approx(0.875)


def test_corrected_item_total_correlation_excludes_the_item_itself():
    # item 1 against i2 + i3 = 9, 7, 5, 9 (mean 7.5): deviations 1.5, -0.5, -2.5, 1.5
    # cross products with item 1's 0.5, -0.5, -1.5, 1.5: 0.75 + 0.25 + 3.75 + 2.25 = 7
    # r = 7 / sqrt(5 * 11) = 0.9439
    result = item_total_correlations(HAND)
    assert result["i1"] == pytest.approx(7 / math.sqrt(55))
    # item 3 against i1 + i2 = 9, 7, 4, 9 (mean 7.25): deviations 1.75, -0.25, -3.25, 1.75
    # with item 3's 0.25, -0.75, -0.75, 1.25: 0.4375 + 0.1875 + 2.4375 + 2.1875 = 5.25
    # squares of the rest: 3.0625 + 0.0625 + 10.5625 + 3.0625 = 16.75
    assert result["i3"] == pytest.approx(5.25 / math.sqrt(2.75 * 16.75))


def test_alpha_and_correlations_are_undefined_without_variance_or_items():
    constant = pd.DataFrame({"a": [3.0, 3.0, 3.0], "b": [3.0, 3.0, 3.0]})
    assert cronbach_alpha(constant) is None
    assert item_total_correlations(constant).isna().all()
    assert cronbach_alpha(HAND[["i1"]]) is None
    assert cronbach_alpha(HAND.iloc[:1]) is None


def test_items_that_disagree_give_a_negative_alpha():
    opposite = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [4.0, 3.0, 2.0, 1.0]})
    # sums are constant: no total variance -> undefined; with a third item it is negative
    assert cronbach_alpha(opposite) is None
    opposite["c"] = [2.0, 2.0, 3.0, 3.0]
    assert cronbach_alpha(opposite) < 0


def test_distributions_count_each_scale_value_as_answered():
    values = pd.DataFrame({"x": [1.0, 5.0, 5.0, np.nan], "y": [2.0, 2.0, 3.0, 4.0]})
    counts = item_distributions(values, 1, 5)
    assert counts.loc["x"].tolist() == [1, 0, 0, 0, 2]
    assert counts.loc["y"].tolist() == [0, 2, 1, 1, 0]


def test_instrument_reverse_codes_flags_and_counts_dont_know(build):
    questionnaire = build.questionnaire([
        build.dimension("d", ["i1", build.item("i2", reverse=True), "i3"]),
    ])
    # i2 is reverse-coded: answers 1, 2, 4, 2 are the values 5, 4, 2, 4 of HAND
    answers = build.answers({
        1: {"i1": 4, "i2": 1, "i3": 4},
        2: {"i1": 3, "i2": 2, "i3": 3},
        3: {"i1": 2, "i2": 4, "i3": 3},
        4: {"i1": 5, "i2": 2, "i3": 5},
        5: {"i1": DK, "i2": 3},  # not complete: left out of alpha
        6: {"i1": None},  # answered nothing
    })
    (dim,) = assess_instrument(answers, questionnaire)
    assert dim["alpha"] == pytest.approx(0.875)
    assert (dim["respondents"], dim["alpha_flag"]) == (4, False)
    items = {item["id"]: item for item in dim["items"]}
    assert items["i1"]["item_total"] == pytest.approx(7 / math.sqrt(55))
    i1 = items["i1"]
    assert (i1["answered"], i1["dont_know"], i1["no_answer"]) == (4, 1, 1)
    assert items["i1"]["dont_know_rate"] == pytest.approx(1 / 6)
    # raw answers, not reverse-coded
    assert items["i2"]["distribution"] == {1: 1, 2: 2, 3: 1, 4: 1, 5: 0}


def test_weak_dimensions_and_items_are_flagged(build):
    questionnaire = build.questionnaire([build.dimension("d", ["a", "b", "c"])])
    # a and b agree; c runs against them: alpha is low and c's item-total r is negative
    answers = build.answers({
        1: {"a": 1, "b": 1, "c": 4}, 2: {"a": 2, "b": 2, "c": 2}, 3: {"a": 3, "b": 4, "c": 5},
        4: {"a": 4, "b": 4, "c": 1}, 5: {"a": 5, "b": 5, "c": 3},
    })
    (dim,) = assess_instrument(answers, questionnaire)
    assert dim["alpha"] < 0.7 and dim["alpha_flag"] is True
    flagged = {item["id"] for item in dim["items"] if item["item_total_flag"]}
    assert flagged == {"c"}
