"""The pure scoring core: maturity method v1 (see docs/methodology.md).

answers -> item values -> respondent dimension scores (respondents.py; one response
without pandas, as a submit needs it: response.py)
-> organisation, network and round results with suppression (rounds.py)
-> benchmarks, trends and the national comparison (comparisons.py).

DataFrame in, DataFrame out, vectorised over all rounds at once; no Flask,
no SQLAlchemy, no queries. Scores are unrounded floats: round for output
with round1.
"""

from .comparisons import benchmark, national_comparison, trends
from .numbers import round1, settle
from .respondents import item_table, item_values, score_respondents
from .response import score_response
from .rounds import (
    RoundScores,
    item_means,
    level_for,
    levels_for,
    recommendations,
    score_rounds,
)

#: The method these functions implement; stored with results so a change is visible.
METHOD = "maturity-v1"

__all__ = [
    "METHOD",
    "RoundScores",
    "benchmark",
    "item_means",
    "item_table",
    "item_values",
    "level_for",
    "levels_for",
    "national_comparison",
    "recommendations",
    "round1",
    "score_respondents",
    "score_response",
    "score_rounds",
    "settle",
    "trends",
]
