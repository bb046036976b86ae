"""The trend test against a second method: the score test of the slope in statsmodels' Poisson
GLM (log link, log exposure as offset), and a hand-worked case."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm

from cspkit.measures.settings import Settings
from cspkit.measures.trend import (
    FALLING,
    NO_TREND,
    RISING,
    TOO_FEW,
    TOO_FEW_PERIODS,
    trend_test,
)


def glm_score_p(counts: list[int], exposures: list[float]) -> float:
    t = np.arange(len(counts), dtype=float)
    null = sm.GLM(np.asarray(counts, dtype=float), np.ones((len(counts), 1)),
                  family=sm.families.Poisson(), offset=np.log(exposures)).fit()
    stat, p_value = null.score_test(exog_extra=t[:, None])[:2]
    return float(np.asarray(p_value).ravel()[0])


@pytest.mark.parametrize("counts, exposures", [
    ([40, 50, 60], [1.0, 1.0, 1.0]),
    ([85, 109, 127], [7832.3, 7832.3, 7832.3]),
    ([299, 385, 447], [7000.0, 7500.0, 7832.3]),
    ([130, 179, 120], [1.0, 1.0, 1.0]),
    ([3, 0, 9, 4], [1.0, 2.0, 1.0, 0.5]),
    ([40, 65], [1.0, 1.0]),
    ([12, 13, 28], [1.0, 1.0, 1.0]),
])
def test_matches_the_glm_score_test(counts, exposures):
    result = trend_test(counts, exposures, min_periods=2)
    assert result.p_value == pytest.approx(glm_score_p(counts, exposures), rel=1e-6)


def test_hand_worked_case():
    # 40, 50, 60 over equal exposures: C = 150, p_t = 1/3, U = 0*(40-50) + 1*0 + 2*(60-50) = 20,
    # V = 150 * (5/3 - 1) = 100, z = 2.
    result = trend_test([40, 50, 60])
    assert result.z == pytest.approx(2.0)
    assert result.p_value == pytest.approx(math.erfc(2 / math.sqrt(2)))
    assert result.verdict == RISING
    assert trend_test([60, 50, 40]).verdict == FALLING
    assert trend_test([50, 52, 49]).verdict == NO_TREND


def test_too_few_and_bad_input():
    assert trend_test([1, 2, 3]).verdict == TOO_FEW
    assert trend_test([0, 0, 0]).p_value is None
    assert trend_test([5]).verdict == TOO_FEW_PERIODS
    assert trend_test([10, 40]).verdict == TOO_FEW_PERIODS     # a change, not a trend
    assert trend_test([10, 40], min_periods=2).verdict == RISING
    assert trend_test([1, 2, 3], settings=Settings(min_total_for_test=1)).verdict == NO_TREND
    with pytest.raises(ValueError, match="exposures"):
        trend_test([1, 2], [1.0, 0.0])
    with pytest.raises(ValueError, match="2 counts but 3"):
        trend_test([1, 2], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="0 or more"):
        trend_test([1, -2])


# --------------------------------------------------------------------------- monthly trend


def _monthly(seed: int, slope: float, spread: float) -> list[tuple[int, int, int]]:
    import numpy as np

    rng = np.random.default_rng(seed)
    season = 30 + 10 * np.sin(np.arange(12) / 12 * 2 * np.pi)
    return [(t, m + 1, int(rng.poisson(season[m] * np.exp(slope * t)
                                       * rng.gamma(1 / spread, spread))))
            for t in range(3) for m in range(12)]


def test_monthly_trend_equals_a_formula_fit_with_pearson_scale():
    """Independent fit: statsmodels' formula interface, calendar month as a factor, Pearson
    X^2 scale, slope referred to t on the residual df."""
    import numpy as np
    import pandas as pd
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    from scipy.stats import t

    from cspkit.measures.trend import QUASI_POISSON_TREND, monthly_trend_test

    rows = _monthly(3, 0.1, 0.05)
    exposures = [1000.0, 1010.0, 1030.0]
    frame = pd.DataFrame(rows, columns=["t", "month", "count"])
    frame["offset"] = np.log([exposures[r] / 12 for r in frame["t"]])
    fit = smf.glm("count ~ C(month) + t", frame, family=sm.families.Poisson(),
                  offset=frame["offset"]).fit(scale="X2")
    result = monthly_trend_test(rows, exposures)
    assert result.method == QUASI_POISSON_TREND
    assert result.dispersion == pytest.approx(fit.scale, rel=1e-6)
    expected = 2 * t.sf(abs(fit.params["t"] / fit.bse["t"]), fit.df_resid)
    scored = trend_test([sum(c for y, _, c in rows if y == k) for k in range(3)], exposures)
    assert result.p_value == pytest.approx(max(expected, scored.p_value), rel=1e-6)


def test_monthly_trend_does_not_call_noise_a_trend():
    from cspkit.measures.trend import monthly_trend_test

    # No trend, months varying 20% beyond Poisson: the yearly score test is fooled far more
    # often than the monthly model.
    fooled_yearly = fooled_monthly = 0
    for seed in range(40):
        rows = _monthly(seed, 0.0, 0.04)
        totals = [sum(c for y, _, c in rows if y == k) for k in range(3)]
        fooled_yearly += trend_test(totals, [1.0] * 3).verdict != "no significant trend"
        fooled_monthly += monthly_trend_test(rows, [1.0] * 3).verdict != "no significant trend"
    assert fooled_monthly <= 4 < fooled_yearly
