"""The pure scoring core: maturity method v1 (see docs/methodology.md).

answers -> item values -> respondent dimension scores (respondents.py; one response
without pandas, as a submit needs it: response.py)
-> organisation, network and round results with suppression (rounds.py)
-> benchmarks, trends and the national comparison (comparisons.py).

DataFrame in, DataFrame out, vectorised over all rounds at once; no Flask,
no SQLAlchemy, no queries. Scores are unrounded floats: round for output
with round1.
"""

from importlib import import_module

#: Name -> the module that defines it. Imported on first use (PEP 562), so that a module
#: needing only round1 (say) does not import scipy with rounds.py and comparisons.py.
_EXPORTS = {
    "benchmark": "comparisons",
    "national_comparison": "comparisons",
    "trends": "comparisons",
    "round1": "numbers",
    "settle": "numbers",
    "item_table": "respondents",
    "item_values": "respondents",
    "score_respondents": "respondents",
    "score_response": "response",
    "RoundScores": "rounds",
    "item_means": "rounds",
    "level_for": "rounds",
    "levels_for": "rounds",
    "recommendations": "rounds",
    "score_rounds": "rounds",
}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


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
