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

Real series vary from month to month more than Poisson counts do, which the score test on
yearly totals would read as trend. `monthly_trend_test` therefore fits the monthly counts: a
quasi-Poisson GLM (statsmodels) with one effect per calendar month (the season), a linear
term in the year and log exposure as offset, the dispersion estimated from the months (Pearson
X^2 / residual df), and tests the slope with Student's t on those df. Where the months show no
extra variation, or too few months are held, the score test above is used; the quasi-Poisson
p-value is never taken below the score test's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm
from scipy.stats import norm
from scipy.stats import t as student_t

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
    method: str = "score test for trend (Poisson)"
    dispersion: float | None = None


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


QUASI_POISSON_TREND = "quasi-Poisson trend in monthly counts"


def monthly_trend_test(monthly: Sequence[tuple[int, int, int]], exposures: Sequence[float],
                       settings: Settings | None = None, *, min_periods: int = 3
                       ) -> TrendResult:
    """Trend over equally spaced years from monthly counts: `monthly` holds (year index 0..,
    calendar month 1-12, count) for every month the data holds, `exposures` the residents (or
    households) of each year. See the module notes."""
    settings = settings or Settings()
    years = len(exposures)
    totals = [0] * years
    held = [0] * years
    for t, _, count in monthly:
        totals[t] += int(count)
        held[t] += 1
    use = [t for t in range(years) if held[t]]
    scored = trend_test([totals[t] for t in use],
                        [exposures[t] * held[t] / 12 for t in use], settings,
                        min_periods=min_periods)
    if scored.p_value is None or scored.verdict == TOO_FEW:
        return scored
    rows = [(t, m, c) for t, m, c in monthly]
    by_month: dict[int, int] = {}
    for _, m, c in rows:
        by_month[m] = by_month.get(m, 0) + int(c)
    rows = [r for r in rows if by_month[r[1]] > 0]   # a month of zeros says nothing
    months = sorted({m for _, m, _ in rows})
    df = len(rows) - len(months) - 1
    if df < settings.min_months_for_dispersion:
        return scored
    design = np.zeros((len(rows), len(months) + 1))
    for i, (t, m, _) in enumerate(rows):
        design[i, months.index(m)] = 1.0
        design[i, -1] = t
    counts = np.array([c for _, _, c in rows], dtype=float)
    offset = np.log([exposures[t] / 12 for t, _, _ in rows])
    fit = sm.GLM(counts, design, family=sm.families.Poisson(), offset=offset).fit()
    phi = float(fit.pearson_chi2 / df)
    if not phi > 1:
        return scored
    t_value = float(fit.params[-1] / (fit.bse[-1] * np.sqrt(phi)))
    p_value = max(float(2 * student_t.sf(abs(t_value), df)), scored.p_value)
    verdict = (NO_TREND if p_value >= settings.alpha
               else RISING if t_value > 0 else FALLING)
    return TrendResult(scored.counts, scored.exposures, t_value, p_value, verdict,
                       QUASI_POISSON_TREND, phi)
