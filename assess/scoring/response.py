"""Maturity method v1, rules 1-2 for one response, in plain Python.

The same formula as ``respondents.score_respondents`` (docs/methodology.md) for the
one response a member submits: pandas costs ~10 ms per call in groupby and merge
set-up even for 35 answers, which was most of a submit's CPU. The results are the
same floats, bit for bit (tests/unit/test_response_scorer.py): the sums are taken
in answer order the way pandas' groupby sum takes them (see _kahan_sum).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from assess.questionnaire.model import Questionnaire


@dataclass(frozen=True)
class _Plan:
    """What scoring needs from a questionnaire, looked up once."""

    scale_min: int
    scale_max: int
    span: int
    #: item id -> (dimension id, reverse, weight) for the likert items
    items: dict[str, tuple[str, bool, float]]
    #: (dimension id, answers needed for a score) in the questionnaire's order
    dimensions: tuple[tuple[str, int], ...]


#: id(questionnaire) -> (questionnaire, plan). The questionnaire is kept so its id is
#: never reused while cached; parsed questionnaires are immutable and few.
_PLANS: dict[int, tuple[Questionnaire, _Plan]] = {}
_MAX_PLANS = 64


def _plan(questionnaire: Questionnaire) -> _Plan:
    cached = _PLANS.get(id(questionnaire))
    if cached is not None and cached[0] is questionnaire:
        return cached[1]
    scale = questionnaire.scale
    plan = _Plan(
        scale_min=scale.min,
        scale_max=scale.max,
        span=scale.span,
        items={
            item.id: (dim.id, item.reverse, float(item.weight))
            for dim in questionnaire.dimensions
            for item in dim.likert_items
        },
        dimensions=tuple((dim.id, dim.min_answered) for dim in questionnaire.dimensions),
    )
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[id(questionnaire)] = (questionnaire, plan)
    return plan


def score_response(
    answers: Iterable[tuple[str, float | int | None, bool | None]],
    questionnaire: Questionnaire,
) -> list[tuple[str, float]]:
    """Rules 1-2 for one response: its score 0..100 per dimension, where it is defined.

    ``answers`` are (item_id, value, dont_know) in any order; value None or NaN is no
    answer, a true dont_know is missing whatever the value, text items and unknown
    item ids are ignored, a reverse-coded item counts ``min + max - v``. Then

        score = 100 * sum(w * (v - min) / S) / sum(w)

    over the dimension's answered likert items (S = max - min), defined only when at
    least ceil(n/2) of its n likert items are answered.

    Returns (dimension_id, score) in the questionnaire's dimension order. Raises
    ValueError when an item is answered twice or a value lies outside the scale, as
    ``score_respondents`` does.
    """
    plan = _plan(questionnaire)
    items = plan.items
    smin, smax, span = plan.scale_min, plan.scale_max, plan.span
    # dimension id -> ([w * (v - min) / S per answered item], [w per answered item])
    groups: dict[str, tuple[list[float], list[float]]] = {}
    contiguous, last = True, None
    seen: set[str] = set()
    outside = None
    for item_id, value, dont_know in answers:
        if dont_know or value is None:
            continue
        value = float(value)
        if math.isnan(value):
            continue
        known = items.get(item_id)
        if known is None:
            continue
        if item_id in seen:
            raise ValueError(f"answers: item answered more than once in a response: {item_id}")
        seen.add(item_id)
        if outside is None and not smin <= value <= smax:
            outside = (item_id, value)  # reported after the duplicate check, as pandas does
        dimension_id, reverse, weight = known
        if reverse:
            value = smin + smax - value
        group = groups.get(dimension_id)
        if group is None:
            group = groups[dimension_id] = ([], [])
        elif dimension_id != last:
            contiguous = False
        last = dimension_id
        group[0].append(weight * (value - smin) / span)
        group[1].append(weight)
    if outside is not None:
        raise ValueError(f"answers: value outside the scale {smin}..{smax}: {list(outside)}")
    add = _reduceat_sum if contiguous else _kahan_sum
    scores = []
    for dimension_id, needed in plan.dimensions:
        group = groups.get(dimension_id)
        if group is not None and len(group[0]) >= needed:
            scores.append((dimension_id, 100.0 * add(group[0]) / add(group[1])))
    return scores


# pandas' groupby sum (score_respondents) adds in one of two ways, and float addition is
# not associative, so the last bit of a score depends on which: np.add.reduceat when each
# group's rows are contiguous (pandas >= 3), else a Kahan-compensated loop (group_sum).
# Both are reproduced here step for step; test_response_scorer.py holds them to it.


def _kahan_sum(values: list[float]) -> float:
    total = compensation = 0.0
    for value in values:
        y = value - compensation
        t = total + y
        compensation = t - total - y
        total = t
    return total


def _reduceat_sum(values: list[float]) -> float:
    """np.add.reduceat on one segment: the first value plus numpy's pairwise sum of the rest."""
    return values[0] + _pairwise_sum(values, 1, len(values))


def _pairwise_sum(values: list[float], start: int, stop: int) -> float:
    """numpy's pairwise_sum (loops_utils.h): 8 accumulators, blocks of at most 128."""
    n = stop - start
    if n < 8:
        total = -0.0
        for i in range(start, stop):
            total += values[i]
        return total
    if n <= 128:
        r = values[start : start + 8]
        i = start + 8
        end = stop - n % 8
        while i < end:
            for j in range(8):
                r[j] += values[i + j]
            i += 8
        total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for k in range(i, stop):
            total += values[k]
        return total
    half = n // 2
    half -= half % 8
    return _pairwise_sum(values, start, start + half) + _pairwise_sum(values, start + half, stop)
