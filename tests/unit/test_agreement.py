"""Disagreement between actors: by item and by actor type (hand-computed)."""

import pandas as pd
import pytest

from assess.scoring.agreement import agreement_by_type, item_disagreement


def test_items_with_most_disagreement_between_organisations_come_first():
    frame = pd.DataFrame(
        {
            "round_id": [1] * 6,
            "organization_key": ["a", "b", "a", "b", "a", "b"],
            "item_id": ["x", "x", "y", "y", "z", "z"],
            # x: 1 and 5 -> sd 2.828; y: 3 and 4 -> 0.707; z: 2 and 2 -> 0
            "mean": [1.0, 5.0, 3.0, 4.0, 2.0, 2.0],
        }
    )
    result = item_disagreement(frame, top=2)
    assert result["item_id"].tolist() == ["x", "y"]
    assert result["sd"].round(3).tolist() == [2.828, 0.707]


def test_an_item_answered_by_one_organisation_shows_no_disagreement():
    frame = pd.DataFrame(
        {"round_id": [1, 1], "organization_key": ["a", "b"], "item_id": ["x", "y"],
         "mean": [1.0, 5.0]}
    )
    assert item_disagreement(frame).empty


def test_actor_types_below_k_are_pooled_and_shown_only_when_the_pool_reaches_k():
    frame = pd.DataFrame(
        {
            "dimension_id": ["trust"] * 5,
            "organization_key": ["m1", "m2", "n1", "c1", "p1"],
            "type": ["municipality", "municipality", "ngo", "company", "parish"],
            "score": [80.0, 60.0, 20.0, 50.0, 40.0],
            "respondents": [3, 2, 2, 2, 1],
        }
    )
    result = agreement_by_type(frame, k=5)
    # municipalities: 5 respondents -> shown, mean of 80 and 60
    # ngo (2), company (2), parish (1): each below 5 -> pooled as other: 5 respondents
    assert result["type"].tolist() == ["municipality", "other"]
    assert result["score"].tolist() == [70.0, pytest.approx((20 + 50 + 40) / 3)]
    assert result["respondents"].tolist() == [5, 5]


def test_a_pool_below_k_is_left_out():
    frame = pd.DataFrame(
        {"dimension_id": ["trust"] * 2, "organization_key": ["m1", "n1"],
         "type": ["municipality", "ngo"], "score": [80.0, 20.0], "respondents": [5, 2]}
    )
    assert agreement_by_type(frame, k=5)["type"].tolist() == ["municipality"]
