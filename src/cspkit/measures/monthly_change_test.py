"""Is a change between two periods more than the series' own month-to-month variation?

Police counts vary more from month to month than a Poisson process would: after calendar-month
effects and a trend, Bedfordshire's force series have dispersion ratios from about 1.6
(robbery) to 14 (violence). A Poisson test of two yearly totals treats that variation as
signal, so a change is tested on the monthly counts of the months both periods hold.

The model is a quasi-Poisson GLM of the 2J monthly counts (J matched month pairs, e.g. Jan 2023
with Jan 2022) with one effect per pair (which absorbs the season and anything else the two
months share), a period effect b and log exposure as offset:

    log E[count] = month-pair effect + b * (current period) + log(exposure),
    Var[count] = phi * E[count].

Conditioning on each pair's total n_j turns it into a binomial model with one parameter, so
everything is in closed form (tested equal to statsmodels' GLM with `scale='X2'`):
    share p-hat = A / (A + B), b-hat = log(A / B) - log(e1 / e0), Var(b-hat) = phi (1/A + 1/B),
    phi-hat = Pearson X^2 / (J' - 1), X^2 = sum_j (a_j - n_j p-hat)^2 / (n_j p-hat (1 - p-hat)),
where J' counts the pairs with any event (a pair of zeros says nothing). The Wald statistic
b-hat / SE is referred to Student's t on J' - 1 degrees of freedom, since phi is estimated.

Earlier years (`history`: e.g. 2021 when 2023 is compared with 2022) sharpen the dispersion
estimate, which on 12 pairs alone has only 11 degrees of freedom and costs power: they enter
the same GLM as further columns (one effect per year, the month-pair effects shared), so they
inform the season and the dispersion but not the comparison (with the same months held in
both compared years the estimate is still log(A / B); tested equal to statsmodels' formula
GLM with `scale='X2'`).

When the pairs show no extra variation (phi-hat <= 1), when fewer than
`Settings.min_months_for_dispersion` pairs hold events, or when one side is 0, the exact
Poisson E-test of the two totals is used (`measures.change`). Where the quasi-Poisson test is
used its p-value is never below the E-test's: a change is never claimed on less evidence than
the exact Poisson test would need. `method` names the test used, for the method section.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm
from scipy.stats import t as student_t

from cspkit.measures.change import rate_ratio_ci, test_counts
from cspkit.measures.settings import Settings

QUASI_POISSON = "quasi-Poisson"
E_TEST = "exact Poisson (E-test)"


@dataclass(frozen=True)
class MonthlyChangeTest:
    """The test of `count` (sum of the period's months) against `baseline_count`.

    p_value: two-sided; verdict: before any multiple-testing control (see
    `measures.error_control`); method: QUASI_POISSON or E_TEST; dispersion: phi-hat (None
    when it could not be estimated); df: its degrees of freedom (0 when not estimated);
    ci_low, ci_high: interval for the rate ratio at 1 - alpha from the method used."""

    count: int
    baseline_count: int
    p_value: float
    verdict: str
    method: str
    dispersion: float | None
    df: int
    ci_low: float | None
    ci_high: float | None

    def method_text(self) -> str:
        """'quasi-Poisson, dispersion 2.4 on 11 df' or 'exact Poisson (E-test)'."""
        if self.method == QUASI_POISSON:
            return f"{QUASI_POISSON}, dispersion {self.dispersion:.1f} on {self.df} df"
        return E_TEST

# Warnings that say nothing about the fit (from other code, possibly on another thread).
_NOT_ABOUT_THE_FIT = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)


def dispersion(current: Sequence[int], baseline: Sequence[int]) -> tuple[float | None, int]:
    """(phi-hat, degrees of freedom) of the paired model; (None, 0) with under two informative
    pairs or a side with no events."""
    a = np.asarray(current, dtype=float)
    b = np.asarray(baseline, dtype=float)
    n = a + b
    keep = n > 0
    a, n = a[keep], n[keep]
    total_a, total = a.sum(), n.sum()
    df = int(keep.sum()) - 1
    if df < 1 or total_a == 0 or total_a == total:
        return None, 0
    share = total_a / total
    x2 = float(np.sum((a - n * share) ** 2 / (n * share * (1 - share))))
    return x2 / df, df


def monthly_change(current: Sequence[int], baseline: Sequence[int], exposure: float = 1.0,
                   baseline_exposure: float = 1.0, settings: Settings | None = None, *,
                   history: Sequence[tuple[Sequence[int | None], float]] = ()
                   ) -> MonthlyChangeTest:
    """Test the change from `baseline` to `current`, two equal-length sequences of monthly
    counts on matched months, over exposures (e.g. residents) that apply to every month of
    each period. `history` adds earlier years, each (counts aligned with the pairs, None
    where the data does not hold that month; its exposure): they inform the month effects and
    the dispersion, not the comparison. See the module notes."""
    settings = settings or Settings()
    if len(current) != len(baseline):
        raise ValueError(f"{len(current)} current months but {len(baseline)} baseline months: "
                         "the months must be matched in pairs")
    if any(int(x) != x or x < 0 for x in [*current, *baseline]):
        raise ValueError("monthly counts must be whole numbers, 0 or more")
    for counts, _ in history:
        if len(counts) != len(current):
            raise ValueError("each year of history must give one count (or None) per pair")
    count, baseline_count = int(sum(current)), int(sum(baseline))
    months = max(len(current), 1)
    e1, e0 = exposure * months, baseline_exposure * months
    p_exact, verdict = test_counts(count, baseline_count, e1, e0, settings)
    p_exact = min(p_exact, 1.0)   # an exact sum of probabilities can exceed 1 by rounding
    ci = rate_ratio_ci(count, baseline_count, e1, e0, settings.alpha)
    exact = MonthlyChangeTest(count, baseline_count, p_exact, verdict, E_TEST, None, 0,
                              ci[0] if ci else None, ci[1] if ci else None)
    if count == 0 or baseline_count == 0:
        return exact
    fitted = _fit(current, baseline, exposure, baseline_exposure, history)
    if fitted is None:
        return exact
    log_ratio, se, phi, df = fitted
    if not phi > 1 or df + 1 < settings.min_months_for_dispersion:
        return MonthlyChangeTest(count, baseline_count, p_exact, verdict, E_TEST, phi, df,
                                 exact.ci_low, exact.ci_high)
    se *= math.sqrt(phi)
    p_quasi = float(2 * student_t.sf(abs(log_ratio) / se, df))
    p_value = min(max(p_quasi, p_exact), 1.0)
    half = float(student_t.ppf(1 - settings.alpha / 2, df)) * se
    if verdict != "too few to tell":
        verdict = ("no significant change" if p_value >= settings.alpha
                   else "significant increase" if log_ratio > 0 else "significant decrease")
    return MonthlyChangeTest(count, baseline_count, p_value, verdict, QUASI_POISSON, phi, df,
                             math.exp(log_ratio - half), math.exp(log_ratio + half))


def _fit(current: Sequence[int], baseline: Sequence[int], exposure: float,
         baseline_exposure: float, history: Sequence[tuple[Sequence[int | None], float]]
         ) -> tuple[float, float, float, int] | None:
    """(log rate ratio, its unscaled standard error, phi-hat, residual df) of the model, or
    None when the months cannot estimate a dispersion. Without history this is the paired
    model in closed form; with it, statsmodels' Poisson GLM with one effect per pair of months
    and one per year (current, baseline, each year of history)."""
    blocks = [(list(current), exposure), (list(baseline), baseline_exposure)]
    blocks += [(list(c), e) for c, e in history if sum(x or 0 for x in c) > 0]
    if len(blocks) == 2:
        phi, df = dispersion(current, baseline)
        if phi is None:
            return None
        count, base = sum(current), sum(baseline)
        ratio = math.log(count / base) - math.log(exposure / baseline_exposure)
        return ratio, math.sqrt(1 / count + 1 / base), phi, df
    # Pairs with no events in any year say nothing (and have no finite effect).
    rows = [j for j in range(len(current))
            if sum((block[j] or 0) for block, _ in blocks) > 0]
    cells = [(r, k, blocks[k][0][j], blocks[k][1]) for r, j in enumerate(rows)
             for k in range(len(blocks)) if blocks[k][0][j] is not None]
    n_params = len(rows) + len(blocks) - 1
    df = len(cells) - n_params
    if df < 1:
        return None
    design = np.zeros((len(cells), n_params))
    for i, (r, k, _, _) in enumerate(cells):
        design[i, r] = 1.0
        if k == 0:
            design[i, len(rows)] = 1.0                  # the current period: the effect tested
        elif k >= 2:
            design[i, len(rows) + k - 1] = 1.0          # each year of history
    counts = np.array([c for _, _, c, _ in cells], dtype=float)
    offset = np.log([e for _, _, _, e in cells])
    # A fit that warns (no convergence, separation, overflow) gives no dispersion. Warnings are
    # recorded, not turned into errors: filters are process-wide, and "error" here would make
    # another thread's harmless deprecation warning raise (the dashboard serves in threads).
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = sm.GLM(counts, design, family=sm.families.Poisson(), offset=offset).fit()
    except (ValueError, np.linalg.LinAlgError):   # no finite fit: no dispersion
        return None
    if any(not issubclass(w.category, _NOT_ABOUT_THE_FIT) for w in caught):
        return None
    phi = float(fit.pearson_chi2 / df)
    return float(fit.params[len(rows)]), float(fit.bse[len(rows)]), phi, df
