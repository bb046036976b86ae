"""Change between two periods' counts: how big, how sure, and a verdict a board can read.

Two counts (optionally over different exposures, e.g. populations or numbers of months) are
treated as independent Poisson counts. The p-value is the E-test of Krishnamoorthy & Thomson
(2004, J. Statistical Planning and Inference 119:23-35), computed as
`scipy.stats.poisson_means_test` computes it (`poisson_etest`, tested equal): it keeps close
to its nominal size for small counts, where the normal approximation misleads.

The 95% interval for the rate ratio is the exact conditional one: given the total
k = count + baseline_count, count is Binomial(k, p) with p = RR*e1 / (RR*e1 + e0), so a
Clopper-Pearson interval for p (`scipy.stats.binomtest(...).proportion_ci(method='exact')`)
maps to RR = p / (1 - p) * e0 / e1. It is chosen over statsmodels' score interval
(`confint_poisson_2indep(method='score')`) because that one degenerates when either count
is 0 (a zero-width interval at the wrong value), which small-area data hit all the time;
the exact interval gives [0, x] or [x, inf] there and never under-covers. Being exact it is
slightly conservative, so near alpha the interval can just include 1 while the E-test is
significant: the verdict follows the E-test.

For very large totals (over E_TEST_MAX_TOTAL = 10,000 events) the p-value is the Wald test
of statsmodels' `test_poisson_2indep`, the large-sample form of the E-test's own statistic: the
two agree to about 1e-4 relative there, at a fraction of the cost.

The verdict is 'too few to tell' when the counts are too small for any test to be useful
(Settings.min_total_for_test, Settings.small_count), whatever the p-value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import special
from scipy.stats import beta
from statsmodels.stats.rates import test_poisson_2indep

from cspkit.measures.settings import Settings

INCREASE = "significant increase"
DECREASE = "significant decrease"
NO_CHANGE = "no significant change"
TOO_FEW = "too few to tell"
# Two periods that share no months: no change is stated (see periods.match_months).
NOT_COMPARED = "not compared"


@dataclass(frozen=True)
class ChangeResult:
    """The comparison of `count` (current) with `baseline_count`.

    change: count - baseline_count.
    pct_change: percentage change in the rate (count / exposure); with equal exposures it is
        the percentage change in the count. None when the baseline is 0.
    rate_ratio: (count / exposure) / (baseline_count / baseline_exposure); None when the
        baseline is 0.
    ci_low, ci_high: exact conditional confidence interval for the rate ratio at 1 - alpha
        (ci_high is inf when count > 0 and the baseline is 0); None when both counts are 0.
    p_value: two-sided Poisson E-test p-value.
    verdict: one of 'significant increase', 'significant decrease', 'no significant change',
        'too few to tell'.
    """

    count: int
    baseline_count: int
    exposure: float
    baseline_exposure: float
    change: int
    pct_change: float | None
    rate_ratio: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float
    verdict: str

    @property
    def equal_exposure(self) -> bool:
        """Whether the two counts cover the same exposure, so counts compare directly."""
        return math.isclose(self.exposure, self.baseline_exposure)


def _plain(value: object) -> object:
    """numpy scalars as Python ones, so messages show -1 rather than np.int64(-1)."""
    return value.item() if isinstance(value, np.generic) else value


def _as_count(name: str, value: object) -> int:
    """A non-negative whole number, or ValueError naming the argument."""
    value = _plain(value)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number of events, got {value!r}") from None
    if not math.isfinite(number) or number < 0 or number != int(number):
        raise ValueError(f"{name} must be a whole number of events, 0 or more, got {value!r}")
    return int(number)


def _as_exposure(name: str, value: object) -> float:
    """A positive finite number, or ValueError naming the argument."""
    value = _plain(value)
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return number


def rate_ratio_ci(count: int, baseline_count: int, exposure: float = 1.0,
                  baseline_exposure: float = 1.0, alpha: float = 0.05
                  ) -> tuple[float, float] | None:
    """Exact conditional (Clopper-Pearson) interval for the rate ratio; None if both are 0."""
    total = count + baseline_count
    if total == 0:
        return None
    low, high = _clopper_pearson(count, total, alpha)
    scale = baseline_exposure / exposure

    def to_ratio(p: float) -> float:
        """Share of events in the current period -> rate ratio."""
        return math.inf if p >= 1 else p / (1 - p) * scale

    return to_ratio(low), to_ratio(high)


@lru_cache(maxsize=65536)
def _clopper_pearson(k: int, n: int, alpha: float) -> tuple[float, float]:
    # The exact interval in closed form (beta quantiles): what binomtest(...).proportion_ci(
    # method='exact') returns, without its root-finding, which cost ~7 ms a call.
    low = 0.0 if k == 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    high = 1.0 if k == n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return low, high


# Above this many events the E-test's sum over the grid of count pairs costs a tenth of a second
# and more (half a second for a district beside its county), while it has converged to the Wald
# z-test on the same unpooled statistic: they agree to about 1e-4 relative there.
E_TEST_MAX_TOTAL = 10_000


@lru_cache(maxsize=65536)
def _etest(k1: int, e1: float, k0: float, e0: float) -> float:
    # Ward and LSOA tables repeat the same small count pairs over one exposure: computed once.
    if k1 + k0 > E_TEST_MAX_TOTAL:
        return float(test_poisson_2indep(k1, e1, int(k0), e0, method="wald").pvalue)
    return poisson_etest(k1, e1, int(k0), e0)


_TAILS = np.array([1e-10, 1 - 1e-16])   # the grid bounds scipy's implementation sums over


def poisson_etest(k1: int, n1: float, k2: int, n2: float) -> float:
    """Two-sided E-test p-value for equal Poisson rates: `scipy.stats.poisson_means_test(k1,
    n1, k2, n2).pvalue` step for step (same grid, same floating-point operations, so the same
    ties), without scipy.stats' per-call argument machinery, which cost ~1 ms a call and
    dominated tables of hundreds of small LSOA comparisons. Tested equal to scipy's."""
    lmbd_hat2 = (k1 + k2) / (n1 + n2)
    if lmbd_hat2 <= 0:
        return 1.0
    t_k1k2 = (k1 / n1 - k2 / n2 - 0) / np.sqrt(k1 / (n1 ** 2) + k2 / (n2 ** 2))
    mu1, mu2 = n1 * (lmbd_hat2 + 0), n2 * lmbd_hat2
    x1 = np.arange(*_poisson_bounds(mu1))
    x2 = np.arange(*_poisson_bounds(mu2))[:, None]
    prob_x1 = np.exp(special.xlogy(x1, mu1) - special.gammaln(x1 + 1) - mu1)
    prob_x2 = np.exp(special.xlogy(x2, mu2) - special.gammaln(x2 + 1) - mu2)
    lmbd_x1, lmbd_x2 = x1 / n1, x2 / n2
    with np.errstate(invalid="ignore", divide="ignore"):
        t_x1x2 = (lmbd_x1 - lmbd_x2 - 0) / np.sqrt(lmbd_x1 / n1 + lmbd_x2 / n2)
    indicator = np.abs(t_x1x2) >= np.abs(t_k1k2)
    return float(np.sum((prob_x1 * prob_x2)[indicator]))


def _poisson_bounds(mu: float) -> tuple[float, float]:
    """(lowest, highest + 1) of the Poisson(mu) quantiles at the grid's tails, as
    `scipy.stats.poisson.ppf` computes them."""
    vals = np.ceil(special.pdtrik(_TAILS, mu))
    vals1 = np.maximum(vals - 1, 0)
    low, high = np.where(special.pdtr(vals1, mu) >= _TAILS, vals1, vals)
    return float(low), float(high) + 1


def test_counts(count: int, baseline_count: int, exposure: float = 1.0,
                baseline_exposure: float = 1.0, settings: Settings | None = None
                ) -> tuple[float, str]:
    """(p-value, verdict) of `compare_counts` without the interval and percentages: for tables
    of many comparisons that print only the verdict."""
    settings = settings or Settings()
    k1, k0 = _as_count("count", count), _as_count("baseline_count", baseline_count)
    e1 = _as_exposure("exposure", exposure)
    e0 = _as_exposure("baseline_exposure", baseline_exposure)
    # Exposures to 12 significant figures: sums of fractional populations differ in the last
    # bits with the order they were added in, and the E-test counts tied statistics, so
    # unrounded inputs could move its p-value in the fourth decimal between runs.
    p_value = _etest(k1, float(f"{e1:.12g}"), k0, float(f"{e0:.12g}"))
    if k1 + k0 < settings.min_total_for_test or max(k1, k0) < settings.small_count:
        verdict = TOO_FEW
    elif p_value < settings.alpha:
        verdict = INCREASE if k1 / e1 > k0 / e0 else DECREASE
    else:
        verdict = NO_CHANGE
    return p_value, verdict


def compare_counts(count: int, baseline_count: int, exposure: float = 1.0,
                   baseline_exposure: float = 1.0, settings: Settings | None = None
                   ) -> ChangeResult:
    """Compare a count with a baseline count, each over its exposure (see the module notes)."""
    settings = settings or Settings()
    p_value, verdict = test_counts(count, baseline_count, exposure, baseline_exposure,
                                   settings)
    k1, k0 = _as_count("count", count), _as_count("baseline_count", baseline_count)
    e1 = _as_exposure("exposure", exposure)
    e0 = _as_exposure("baseline_exposure", baseline_exposure)
    ratio = (k1 / e1) / (k0 / e0) if k0 > 0 else None
    ci = rate_ratio_ci(k1, k0, e1, e0, settings.alpha)
    return ChangeResult(
        count=k1, baseline_count=k0, exposure=e1, baseline_exposure=e0, change=k1 - k0,
        pct_change=(ratio - 1) * 100 if ratio is not None else None, rate_ratio=ratio,
        ci_low=ci[0] if ci else None, ci_high=ci[1] if ci else None,
        p_value=p_value, verdict=verdict)


def format_p(p: float) -> str:
    """'p = 0.01', 'p = 0.003', 'p < 0.001': enough digits to read, no false precision."""
    if p < 0.001:
        return "p < 0.001"
    return f"p = {p:.2f}" if p >= 0.01 else f"p = {p:.3f}"


def _pct(result: ChangeResult) -> str:
    """' (+25%)', or ' (rate +25%)' when exposures differ; '' with no baseline."""
    if result.pct_change is None:
        return ""
    text = f"{result.pct_change:+.0f}%"
    return f" ({text})" if result.equal_exposure else f" (rate {text})"


def verdict_sentence(name: str, result: ChangeResult) -> str:
    """One plain-English sentence for a report, e.g.

    'Burglary rose from 120 to 150 (+25%), a statistically significant increase (p = 0.01).'

    A change that is not significant is always said to be so, and 'too few to tell' says the
    numbers are too small to separate from chance.
    """
    before, after = f"{result.baseline_count:,}", f"{result.count:,}"
    if not result.equal_exposure:
        movement = f"went from {before} to {after}{_pct(result)}"
    elif result.count > result.baseline_count:
        movement = f"rose from {before} to {after}{_pct(result)}"
    elif result.count < result.baseline_count:
        movement = f"fell from {before} to {after}{_pct(result)}"
    else:
        movement = f"was unchanged at {after}"
    p = format_p(result.p_value)
    if result.verdict == TOO_FEW:
        return f"{name} {movement}: too few incidents to tell whether this is more than chance."
    if result.verdict == INCREASE:
        return f"{name} {movement}, a statistically significant increase ({p})."
    if result.verdict == DECREASE:
        return f"{name} {movement}, a statistically significant decrease ({p})."
    return (f"{name} {movement}, no significant change: a difference this size is within "
            f"what chance alone produces ({p}).")


RESULT_COLUMNS = ["change", "pct_change", "rate_ratio", "ci_low", "ci_high", "p_value", "verdict"]


def compare_frame(df: pd.DataFrame, count_col: str, baseline_col: str,
                  exposure_col: str | None = None, baseline_exposure_col: str | None = None,
                  settings: Settings | None = None) -> pd.DataFrame:
    """A copy of `df` with RESULT_COLUMNS added, comparing `count_col` with `baseline_col`.

    One row per category or area (not per event), so a loop over rows is cheap. Exposure
    columns default to 1 (compare counts directly).
    """
    for col in (count_col, baseline_col, exposure_col, baseline_exposure_col):
        if col is not None and col not in df.columns:
            raise KeyError(f"column {col!r} is not in the table (columns: {list(df.columns)})")
    rows = []
    for label, row in df.iterrows():
        try:
            result = compare_counts(
                row[count_col], row[baseline_col],
                row[exposure_col] if exposure_col else 1.0,
                row[baseline_exposure_col] if baseline_exposure_col else 1.0, settings)
        except ValueError as exc:
            raise ValueError(f"row {label!r}: {exc}") from None
        rows.append({c: getattr(result, c) for c in RESULT_COLUMNS})
    out = df.copy()
    results = pd.DataFrame(rows, index=df.index, columns=RESULT_COLUMNS)
    for col in RESULT_COLUMNS:
        out[col] = results[col]
    return out
