"""The plain-Python scorer of one response gives exactly the pandas scorer's numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assess.questionnaire import load_questionnaire_file
from assess.scoring import score_respondents
from assess.scoring.response import _kahan_sum, _reduceat_sum, score_response
from assess.services.questionnaires import QUESTIONNAIRE_DIR

SETTINGS = settings(max_examples=150, deadline=None)


@st.composite
def questionnaires(draw, build):
    """Random layouts: scales, 1-4 dimensions of likert and text items, odd weights."""
    low = draw(st.integers(-2, 3))
    high = low + draw(st.integers(1, 9))
    dimensions = []
    for d in range(draw(st.integers(1, 4))):
        items = []
        for i in range(draw(st.integers(1, 8))):
            kind = "text" if i and draw(st.integers(0, 5)) == 0 else "likert"
            weight = draw(st.one_of(
                st.just(1.0),
                st.floats(min_value=0.001, max_value=50, allow_nan=False, allow_infinity=False),
            ))
            items.append(build.item(f"d{d}i{i}", reverse=draw(st.booleans()), weight=weight,
                                    kind=kind))
        dimensions.append(build.dimension(f"dim{d}", items))
    return build.questionnaire(dimensions, scale_min=low, scale_max=high)


@st.composite
def responses(draw, questionnaire):
    """One response's answers in a random order: values, gaps, don't knows, strangers."""
    scale = questionnaire.scale
    answers = []
    for item in questionnaire.items:
        kind = draw(st.sampled_from(["value", "value", "value", "none", "dk", "dk-value", "skip"]))
        value = float(draw(st.integers(scale.min, scale.max)))
        if kind == "value":
            answers.append((item.id, value, False))
        elif kind == "none":
            answers.append((item.id, math.nan, False))
        elif kind == "dk":
            answers.append((item.id, math.nan, True))
        elif kind == "dk-value":  # a don't know counts as missing whatever its value says
            answers.append((item.id, value, True))
    if draw(st.booleans()):
        answers.append(("not-an-item", float(scale.max), False))
    return draw(st.permutations(answers))


def pandas_scores(answers, questionnaire, response_id=7) -> list[tuple[str, float]]:
    frame = pd.DataFrame([(response_id, *a) for a in answers],
                         columns=["response_id", "item_id", "value", "dont_know"])
    scores = score_respondents(frame, questionnaire)
    assert (scores["response_id"] == response_id).all()
    return list(zip(scores["dimension_id"].tolist(), scores["score"].tolist(), strict=True))


@SETTINGS
@given(data=st.data())
def test_one_response_scores_exactly_as_the_pandas_scorer(build, data):
    questionnaire = data.draw(questionnaires(build))
    answers = data.draw(responses(questionnaire))
    expected = pandas_scores(answers, questionnaire)
    got = score_response(answers, questionnaire)
    # Exact equality, not approximate: stored scores must not depend on the path taken.
    assert got == expected
    assert all(type(score) is float for _, score in got)


@pytest.mark.parametrize("path", sorted(QUESTIONNAIRE_DIR.glob("*.y*ml")), ids=lambda p: p.name)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_shipped_questionnaires_score_exactly_as_the_pandas_scorer(path, data):
    questionnaire = load_questionnaire_file(path)
    answers = data.draw(responses(questionnaire))
    assert score_response(answers, questionnaire) == pandas_scores(answers, questionnaire)


def test_answers_as_the_database_gives_them(build):
    """Rows from the answers table: ints, None for no value, text items with no value."""
    q = build.questionnaire([
        build.dimension("a", ["a1", "a2", build.item("a3", reverse=True, weight=2.0),
                              build.item("note", kind="text")]),
        build.dimension("b", ["b1", "b2", "b3"]),
    ])
    rows = [("a1", 5, False), ("a2", None, True), ("a3", 2, False), ("note", None, False),
            ("b1", 1, None), ("b2", None, False), ("b3", None, True)]
    # a: (1.0 + 2 * 0.75) / 3 of 100; b: one of three answered, under ceil(3/2) = 2.
    assert score_response(rows, q) == [("a", 100 * 2.5 / 3)]


def test_an_item_answered_twice_is_refused(build):
    q = build.questionnaire([build.dimension("a", ["a1", "a2"])])
    with pytest.raises(ValueError, match="more than once"):
        score_response([("a1", 3, False), ("a1", 4, False)], q)


def test_a_value_outside_the_scale_is_refused(build):
    q = build.questionnaire([build.dimension("a", ["a1", "a2"])])
    with pytest.raises(ValueError, match="outside the scale"):
        score_response([("a1", 6, False), ("a2", 4, False)], q)


floats = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=100, deadline=None)
@given(values=st.lists(floats, min_size=1, max_size=300))
def test_both_ways_of_adding_match_pandas_for_any_length(values):
    """Dimensions of more than 8 items take numpy's blocked branches; checked here."""
    array = np.array(values)
    assert _reduceat_sum(values) == float(np.add.reduceat(array, [0])[0])
    contiguous = pd.DataFrame({"g": ["a"] * len(values), "v": values})
    assert _reduceat_sum(values) == contiguous.groupby("g", sort=False)["v"].sum().iloc[0]
    # Interleaved with another group, pandas falls back to its Kahan loop.
    interleaved = pd.DataFrame({"g": [g for _ in values for g in ("a", "b")],
                                "v": [x for v in values for x in (v, 1.0)]})
    assert _kahan_sum(values) == interleaved.groupby("g", sort=False)["v"].sum().iloc[0]
