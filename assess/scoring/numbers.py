"""Number hygiene for scores: one rounding rule for output, one for float noise.

Two traps live here.

* Python's ``round`` rounds halves to even (``round(62.25, 1) == 62.2``) and
  works on the binary value, so a report would disagree with a statistician
  recomputing by hand. ``round1`` rounds half up, on the decimal ``repr``.
* Binary floating point turns exact fractions into near misses: the mean of
  66.666… and 53.333… comes out as 60.00000000000001 or 59.99999999999999, and
  a score that is exactly 60 by the method would miss the stage threshold or
  drop a maturity level. So every decision on a score (level, stage and
  recommendation thresholds, ties in percentiles, rounding for output) is
  taken on the score settled to ``SETTLE_DECIMALS`` decimals.

The scores themselves are returned and passed on unsettled: settling each
intermediate result would pile up rounding errors of up to 5e-10 per step,
which can cross a settling boundary where the float noise (~1e-13) does not.
Code outside the core that compares scores should compare ``settle(score)``.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

#: Decisions on a score use it rounded to this many decimals, cancelling float noise.
SETTLE_DECIMALS = 9

_SETTLE = Decimal(1).scaleb(-SETTLE_DECIMALS)
_ONE_DECIMAL = Decimal("0.1")


def settle(values):
    """A score, array or Series rounded to 9 decimals, for comparing: noise below 1e-9 goes.

    NaN stays NaN. Use it for decisions, not for storing: an exact 60 by the
    method then compares as 60 with the stage threshold and the level
    boundaries, and equal scores tie in percentiles.
    """
    if isinstance(values, pd.Series | pd.DataFrame):
        return values.round(SETTLE_DECIMALS)
    return np.round(values, SETTLE_DECIMALS)


def round1(x) -> float | None:
    """A score for output: one decimal, halves rounded up, None for a missing value.

    Rounds the shortest decimal representation (``repr``) of the float with
    ``ROUND_HALF_UP``, so 62.25 -> 62.3 and 0.05 -> 0.1 (Python's ``round``
    gives 62.2 and 0.1/0.0 depending on the binary value). The value is first
    settled to 9 decimals, so float noise such as 62.24999999999999 (a mean that
    is 62.25 exactly by the method) also gives 62.3. Halves of negative numbers
    (trend deltas) round away from zero: -2.25 -> -2.3.

    None, NaN and ``pd.NA`` give None; an infinite value is a bug upstream and
    raises ValueError.
    """
    if x is None or x is pd.NA:
        return None
    value = float(x)
    if math.isnan(value):
        return None
    if math.isinf(value):
        raise ValueError(f"cannot round an infinite score: {x!r}")
    exact = Decimal(repr(value)).quantize(_SETTLE, rounding=ROUND_HALF_UP)
    # "+ 0.0" turns -0.0 (from e.g. -0.04) into 0.0, so nobody reads "-0.0".
    return float(exact.quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP)) + 0.0
