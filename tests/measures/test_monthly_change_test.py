"""The change test on matched monthly counts, against statsmodels' quasi-Poisson GLM and
scipy's E-test computed independently."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy.stats import poisson_means_test, t

from cspkit.measures.monthly_change_test import (
    E_TEST,
    QUASI_POISSON,
    dispersion,
    monthly_change,
)
from cspkit.measures.settings import Settings


def glm(a: list[int], b: list[int], e1: float, e0: float):
    n = len(a)
    design = np.zeros((2 * n, n + 1))
    for i in range(n):
        design[i, i] = design[n + i, i] = 1
    design[:n, n] = 1
    offset = np.log(np.r_[np.full(n, e1), np.full(n, e0)])
    return sm.GLM(np.array(a + b), design, family=sm.families.Poisson(),
                  offset=offset).fit(scale="X2")


@pytest.mark.parametrize("seed", range(6))
def test_equals_the_quasi_poisson_glm_when_months_vary_beyond_poisson(seed):
    rng = np.random.default_rng(seed)
    season = rng.uniform(20, 90, 12)
    a = list(rng.poisson(season * rng.gamma(10, 0.1, 12) * 1.1))
    b = list(rng.poisson(season * rng.gamma(10, 0.1, 12)))
    e1, e0 = 1000.0, 1040.0
    fit = glm(a, b, e1, e0)
    exact = poisson_means_test(sum(a), e1 * 12, sum(b), e0 * 12).pvalue
    result = monthly_change(a, b, e1, e0)
    assert fit.scale > 1
    assert result.method == QUASI_POISSON and result.df == 11
    assert result.dispersion == pytest.approx(fit.scale, rel=1e-9)
    quasi = 2 * t.sf(abs(fit.params[-1] / fit.bse[-1]), 11)
    assert result.p_value == pytest.approx(max(quasi, exact), rel=1e-9)
    half = t.ppf(0.975, 11) * fit.bse[-1]
    assert result.ci_low == pytest.approx(np.exp(fit.params[-1] - half), rel=1e-9)
    assert result.ci_high == pytest.approx(np.exp(fit.params[-1] + half), rel=1e-9)


def test_no_extra_variation_falls_back_to_the_e_test():
    a = [50] * 12
    b = [40] * 12                     # perfectly regular: dispersion 0
    result = monthly_change(a, b)
    assert result.method == E_TEST
    assert result.p_value == pytest.approx(poisson_means_test(600, 12, 480, 12).pvalue)
    assert result.verdict == "significant increase"


def test_too_few_months_falls_back_to_the_e_test():
    a, b = [30, 80, 10, 60], [50, 20, 70, 15]     # wildly variable, but only 4 months
    result = monthly_change(a, b, settings=Settings(min_months_for_dispersion=6))
    assert result.method == E_TEST
    assert result.method_text() == "exact Poisson (E-test)"


def test_overdispersion_removes_a_claim_the_poisson_test_would_make():
    # 12 months with a large month-to-month swing: totals 660 vs 600 (+10%).
    a = [80, 30, 70, 40, 75, 35, 65, 45, 70, 40, 60, 50]
    b = [50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50, 50]
    assert poisson_means_test(sum(a), 12, sum(b), 12).pvalue > 0.05   # (not significant either)
    a2 = [x + 15 for x in a]                                           # +40%: 840 vs 600
    exact = poisson_means_test(sum(a2), 12, sum(b), 12).pvalue
    result = monthly_change(a2, b)
    assert exact < 1e-9 and result.p_value > exact
    assert result.method == QUASI_POISSON and result.dispersion > 1.5


def test_dispersion_ignores_months_with_no_events_and_needs_two():
    assert dispersion([0, 0, 5], [0, 0, 5]) == (None, 0)
    phi, df = dispersion([10, 0, 20, 30], [12, 0, 18, 25])
    assert df == 2 and phi is not None


def test_small_totals_are_too_few_to_tell_whatever_the_method():
    result = monthly_change([1, 0, 2, 0, 1, 0, 0, 1], [0, 0, 0, 1, 0, 0, 0, 0])
    assert result.verdict == "too few to tell"


def test_rejects_unmatched_or_bad_months():
    with pytest.raises(ValueError, match="matched in pairs"):
        monthly_change([1, 2], [1])
    with pytest.raises(ValueError, match="whole numbers"):
        monthly_change([1, -2], [1, 1])


@pytest.mark.parametrize("seed", range(4))
def test_history_years_enter_the_glm_as_further_years(seed):
    """With earlier years, the test equals statsmodels' formula GLM with month and year
    factors (Pearson scale), and the estimate is still the ratio of the compared totals."""
    import pandas as pd
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(seed)
    season = rng.uniform(20, 60, 12)
    years = [list(rng.poisson(season * rng.gamma(8, 1 / 8, 12))) for _ in range(3)]
    earlier = [None, None, None] + years[2][3:]          # held from April only
    result = monthly_change(years[0], years[1], 1000.0, 1000.0,
                            history=[(earlier, 990.0)])
    frame = pd.DataFrame([{"year": y, "month": m, "count": c, "e": e}
                          for y, (counts, e) in enumerate([(years[0], 1000.0),
                                                           (years[1], 1000.0),
                                                           (earlier, 990.0)])
                          for m, c in enumerate(counts) if c is not None])
    fit = smf.glm("count ~ C(month) + C(year, Treatment(1))", frame,
                  family=sm.families.Poisson(), offset=np.log(frame["e"])).fit(scale="X2")
    effect = "C(year, Treatment(1))[T.0]"
    assert fit.params[effect] == pytest.approx(np.log(sum(years[0]) / sum(years[1])))
    assert result.df == fit.df_resid == 33 - 12 - 2
    if fit.scale > 1:
        assert result.dispersion == pytest.approx(fit.scale, rel=1e-6)
        exact = poisson_means_test(sum(years[0]), 12000.0, sum(years[1]), 12000.0).pvalue
        quasi = 2 * t.sf(abs(fit.params[effect] / fit.bse[effect]), fit.df_resid)
        assert result.p_value == pytest.approx(max(quasi, exact), rel=1e-5)   # IRLS tolerance


def test_history_must_align_with_the_pairs():
    with pytest.raises(ValueError, match="one count"):
        monthly_change([1, 2, 3], [1, 2, 3], history=[([1, 2], 1.0)])
