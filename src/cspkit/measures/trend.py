"""Trend over several equal periods (e.g. three calendar years): is a rate rising or falling
steadily, beyond what chance would give?

The test is the score test for a linear trend in Poisson rates (Armitage's test for trend):
with counts c_t over exposures e_t at equally spaced times t = 0, 1, ..., and C the total, no
trend means each count's expected share of C is p_t = e_t / sum(e). The statistic
U = sum t (c_t - C p_t) has variance V = C (sum t^2 p_t - (sum t p_t)^2), and z = U / sqrt(V)
is referred to the standard normal (two-sided). It is the score test of the slope b in the
Poisson model log(rate_t) = a + b t, which a pairwise change test (this year against last)
does not see: 40, 50, 60 is a trend even when no single step is significant.

The verdict is 'too few to tell' when the total is below Settings.min_total_for_test, and
'too few years to tell' with fewer than `min_periods` (default 3) periods: two points are a
change (see `measures.change`), not a trend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy.stats import norm

from cspkit.measures.settings import Settings

RISING = "rising"
FALLING = "falling"
NO_TREND = "no significant trend"
TOO_FEW = "too few to tell"
TOO_FEW_PERIODS = "too few years to tell"


@dataclass(frozen=True)
class TrendResult:
    counts: tuple[int, ...]
    exposures: tuple[float, ...]
    z: float | None          # None when there is nothing to test (no events, or one period)
    p_value: float | None
    verdict: str


def trend_test(counts: Sequence[int], exposures: Sequence[float] | None = None,
               settings: Settings | None = None, *, min_periods: int = 3) -> TrendResult:
    """Score test for a linear trend in Poisson rates over equally spaced periods."""
    settings = settings or Settings()
    counts_ = tuple(int(c) for c in counts)
    exposures_ = tuple(float(e) for e in (exposures if exposures is not None
                                          else [1.0] * len(counts_)))
    if len(counts_) != len(exposures_):
        raise ValueError(f"{len(counts_)} counts but {len(exposures_)} exposures")
    if any(c < 0 for c in counts_):
        raise ValueError(f"counts must be 0 or more, got {list(counts_)}")
    if any(not math.isfinite(e) or e <= 0 for e in exposures_):
        raise ValueError(f"exposures must be positive numbers, got {list(exposures_)}")
    total = sum(counts_)
    if len(counts_) < max(min_periods, 2):
        return TrendResult(counts_, exposures_, None, None, TOO_FEW_PERIODS)
    if total == 0:
        return TrendResult(counts_, exposures_, None, None, TOO_FEW)
    shares = [e / sum(exposures_) for e in exposures_]
    mean_t = sum(t * p for t, p in enumerate(shares))
    score = sum(t * (c - total * p) for t, (c, p) in enumerate(zip(counts_, shares,
                                                                   strict=True)))
    variance = total * (sum(t * t * p for t, p in enumerate(shares)) - mean_t ** 2)
    z = score / math.sqrt(variance)
    p_value = float(2 * norm.sf(abs(z)))
    if total < settings.min_total_for_test:
        verdict = TOO_FEW
    elif p_value < settings.alpha:
        verdict = RISING if z > 0 else FALLING
    else:
        verdict = NO_TREND
    return TrendResult(counts_, exposures_, z, p_value, verdict)
