"""Monthly series tools, checked by hand on synthetic series and, for the expected range, against
a GLM fitted by hand (IRLS in numpy) to a real shipped series and by simulation."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy.stats import nbinom, norm, poisson
from scipy.stats import t as t_dist

from cspkit.measures.control import (
    control_limits,
    exceptional_months,
    expected_range,
    family_size,
    predictive_limits,
    rolling_mean,
    seasonal_profile,
)
from cspkit.measures.periods import calendar_year, month_range, parse_period
from cspkit.measures.settings import Settings


def months(start_year: int, n: int) -> list[date]:
    return [date(start_year + i // 12, i % 12 + 1, 1) for i in range(n)]


def spike_series() -> pd.DataFrame:
    """2022-2023 at 16 a month, except 40 in July 2023."""
    counts = [16] * 24
    counts[18] = 40
    return pd.DataFrame({"month": months(2022, 24), "count": counts})


def test_control_limits_by_hand():
    out = control_limits(spike_series())
    # Centre = (23 x 16 + 40) / 24 = 17; limits 17 +/- 3 sqrt(17).
    assert out["centre"].iloc[0] == pytest.approx(17.0)
    assert out["upper"].iloc[0] == pytest.approx(17 + 3 * math.sqrt(17))   # 29.37
    assert out["lower"].iloc[0] == pytest.approx(17 - 3 * math.sqrt(17))   # 4.63
    assert (out["lower_exact"].iloc[0], out["upper_exact"].iloc[0]) == (6.0, 31.0)


def test_exact_limits_are_the_poisson_quantiles_at_the_sigma_tail():
    out = control_limits(spike_series(), baseline=parse_period("2022"))
    centre, low, high = out["centre"].iloc[0], out["lower_exact"].iloc[0], out["upper_exact"][0]
    assert centre == 16.0 and (out["lower"][0], out["upper"][0]) == (4.0, 28.0)
    q = 0.0013498980316300933  # P(Z > 3)
    assert poisson.cdf(high, centre) >= 1 - q > poisson.cdf(high - 1, centre)
    assert poisson.cdf(low, centre) >= q > poisson.cdf(low - 1, centre)
    assert (low, high) == (5.0, 29.0)


def test_only_the_spike_is_exceptional():
    for limits in ("sigma", "exact"):
        flagged = exceptional_months(spike_series(), limits=limits)
        assert flagged["month"].tolist() == [date(2023, 7, 1)]
        assert flagged["direction"].tolist() == ["above"]
        assert flagged["count"].tolist() == [40]


def test_a_dip_is_flagged_below_against_a_baseline():
    df = spike_series()
    df.loc[20, "count"] = 2  # September 2023
    flagged = exceptional_months(df, baseline=parse_period("2022"))
    assert flagged[["month", "direction"]].values.tolist() == [
        [date(2023, 7, 1), "above"], [date(2023, 9, 1), "below"]]
    assert flagged["upper"].tolist() == [28.0, 28.0]


def test_sigma_width_comes_from_settings():
    out = control_limits(spike_series(), parse_period("2022"), Settings(control_sigma=2.0))
    assert out["upper"].iloc[0] == pytest.approx(24.0)


def test_small_centre_floors_the_lower_limit_at_zero():
    df = pd.DataFrame({"month": months(2022, 12), "count": [2] * 12})
    out = control_limits(df)
    assert out["lower"].iloc[0] == 0.0 and out["lower_exact"].iloc[0] == 0.0
    assert out["upper_exact"].iloc[0] == 7.0
    assert exceptional_months(df).empty


def test_baseline_must_overlap_the_series():
    with pytest.raises(ValueError, match="no month of the baseline 2019"):
        control_limits(spike_series(), parse_period("2019"))
    with pytest.raises(ValueError, match="'sigma' or 'exact'"):
        exceptional_months(spike_series(), limits="wide")  # type: ignore[arg-type]


def test_rolling_mean_over_complete_windows_only():
    df = pd.DataFrame({"month": months(2022, 15), "count": list(range(1, 16))})
    out = rolling_mean(df, window=12)
    assert out["rolling_mean"].iloc[:11].isna().all()
    assert out["rolling_mean"].iloc[11] == pytest.approx(6.5)   # mean of 1..12
    assert out["rolling_mean"].iloc[14] == pytest.approx(9.5)   # mean of 4..15
    assert rolling_mean(df, window=3)["rolling_mean"].iloc[2] == pytest.approx(2.0)


def test_a_missing_month_is_not_averaged_over():
    df = pd.DataFrame({"month": months(2022, 15), "count": [10] * 15}).drop(index=5)
    out = rolling_mean(df, window=3)
    by_month = dict(zip(out["month"], out["rolling_mean"], strict=True))
    assert math.isnan(by_month[date(2022, 7, 1)]) and math.isnan(by_month[date(2022, 8, 1)])
    assert by_month[date(2022, 9, 1)] == 10.0 and by_month[date(2022, 5, 1)] == 10.0


def test_input_is_sorted_and_checked():
    df = spike_series().iloc[::-1]
    assert control_limits(df)["month"].iloc[0] == date(2022, 1, 1)
    with pytest.raises(ValueError, match="2022-01 appears more than once"):
        control_limits(pd.concat([df, df.tail(1)]))
    with pytest.raises(KeyError, match="'count'"):
        control_limits(df.rename(columns={"count": "n"}))
    with pytest.raises(ValueError, match="2022-01: count -3"):
        control_limits(pd.DataFrame({"month": [date(2022, 1, 1)], "count": [-3]}))


def test_seasonal_profile_by_hand():
    # Two years: Decembers at 30, every other month at 15.
    counts = [15] * 11 + [30] + [15] * 11 + [30]
    profile = seasonal_profile(pd.DataFrame({"month": months(2022, 24), "count": counts}))
    overall = (11 * 15 + 30) / 12  # 16.25: the mean of the twelve monthly means
    assert profile.loc[12, "seasonal_index"] == pytest.approx(30 / overall)
    assert profile.loc[1, "seasonal_index"] == pytest.approx(15 / overall)
    assert profile["seasonal_index"].mean() == pytest.approx(1.0)
    assert profile["sufficient"].all() and (profile["years"] == 2).all()
    assert profile.loc[12, "month_name"] == "Dec"


def test_seasonal_profile_flags_months_with_too_few_years():
    # 18 months: January-June twice, July-December once.
    profile = seasonal_profile(pd.DataFrame({"month": months(2022, 18), "count": [10] * 18}))
    assert profile.loc[1:6, "sufficient"].all() and not profile.loc[7:12, "sufficient"].any()
    assert profile.loc[7:12, "seasonal_index"].isna().all() and profile.loc[7, "years"] == 1
    assert profile.loc[1, "seasonal_index"] == pytest.approx(1.0)
    strict = seasonal_profile(pd.DataFrame({"month": months(2022, 18), "count": [10] * 18}),
                              Settings(seasonal_min_years=3))
    assert not strict["sufficient"].any()


# -- expected range -----------------------------------------------------------------------------

VIOLENCE = "Violence and sexual offences"


def irls(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Poisson log-link GLM by iteratively reweighted least squares: coefficients and the
    inverse information (X' W X)^-1 at the fit."""
    beta = np.zeros(x.shape[1])
    beta[0] = math.log(y.mean())
    for _ in range(100):
        mu = np.exp(x @ beta)
        working = x @ beta + (y - mu) / mu
        xtw = x.T * mu
        new = np.linalg.solve(xtw @ x, xtw @ working)
        if np.max(np.abs(new - beta)) < 1e-12:
            beta = new
            break
        beta = new
    mu = np.exp(x @ beta)
    return beta, np.linalg.inv((x.T * mu) @ x)


@pytest.fixture(scope="module")
def force_violence(bedfordshire_events: pd.DataFrame) -> pd.DataFrame:
    """Bedfordshire's violence by month, May 2021 to April 2024, straight from the shipped
    street files."""
    rows = bedfordshire_events[bedfordshire_events["category"] == VIOLENCE]
    counts = rows.groupby("month").size()
    return pd.DataFrame({"month": [date(int(m[:4]), int(m[5:]), 1) for m in counts.index],
                         "count": counts.to_numpy()})


def test_expected_range_is_the_quasi_poisson_glm_fitted_by_hand(force_violence):
    inspect = month_range(date(2024, 1, 1), date(2024, 4, 1))
    out = expected_range(force_violence, inspect, family_size=40)
    history = force_violence[force_violence["month"] < date(2024, 1, 1)]
    assert len(history) == 32 and len(force_violence) == 36
    # Calendar-month effects (January-April twice, the rest three times) and a trend: built
    # here with December as the reference and the trend in months, a different
    # parameterisation of the same model, so the predictions must agree.
    months = pd.to_datetime(force_violence["month"])

    def design(when: pd.Series) -> np.ndarray:
        dummies = [(when.dt.month == k).to_numpy(float) for k in range(1, 12)]
        elapsed = ((when.dt.year - 2021) * 12 + when.dt.month - 5).to_numpy(float)
        return np.column_stack([np.ones(len(when)), *dummies, elapsed])

    x = design(months[:32])
    y = history["count"].to_numpy(float)
    beta, inverse = irls(x, y)
    mu_fit = np.exp(x @ beta)
    chi2 = float(((y - mu_fit) ** 2 / mu_fit).sum())
    df = len(y) - x.shape[1]
    q = 0.05 / (2 * 40)
    dispersion = max(1.0, chi2 / df * (t_dist.isf(q, df) / norm.isf(q)) ** 2)
    x_new = design(months[32:])
    mu = np.exp(x_new @ beta)
    var_log = np.array([row @ (dispersion * inverse) @ row for row in x_new])
    variance = dispersion * mu + mu ** 2 * var_log

    judged = out[out["inspected"]]
    assert judged["month"].tolist() == [date(2024, m, 1) for m in range(1, 5)]
    np.testing.assert_allclose(judged["expected"], mu, rtol=1e-7)
    assert out.attrs["phi"] == pytest.approx(max(1.0, chi2 / df), rel=1e-7)
    assert out.attrs["phi"] > 2          # real police series vary more than Poisson
    assert out.attrs["dispersion"] == pytest.approx(dispersion, rel=1e-7)
    assert out.attrs["df"] == df == 19
    assert out.attrs["seasonal"] and out.attrs["trend"]
    assert (out.attrs["m"], out.attrs["alpha"], out.attrs["history_months"]) == (40, 0.05, 32)
    assert out.attrs["z"] == pytest.approx(norm.isf(q))
    assert out.attrs["reason"] is None
    # The limits are the q and 1 - q quantiles of the negative binomial with that mean and
    # variance: checked by its distribution function, not by calling the same quantile code.
    size, prob = mu ** 2 / (variance - mu), mu / variance
    lower, upper = judged["lower"].to_numpy(), judged["upper"].to_numpy()
    assert (nbinom.cdf(lower, size, prob) >= q).all()
    assert (nbinom.cdf(lower - 1, size, prob) < q).all()
    assert (nbinom.cdf(upper, size, prob) >= 1 - q).all()
    assert (nbinom.cdf(upper - 1, size, prob) < 1 - q).all()
    # No month outside the period is judged.
    assert out.loc[~out["inspected"], ["expected", "lower", "upper"]].isna().all().all()
    assert (out.loc[~out["inspected"], "exceptional"] == "").all()


def test_statsmodels_formula_api_gives_the_same_expectation(force_violence):
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    out = expected_range(force_violence, month_range(date(2024, 1, 1), date(2024, 4, 1)))
    frame = force_violence.assign(when=pd.to_datetime(force_violence["month"]))
    frame["moy"] = frame["when"].dt.month
    frame["t"] = (frame["when"].dt.year - 2021) * 12 + frame["when"].dt.month
    fit = smf.glm("count ~ C(moy) + t", data=frame.iloc[:32],
                  family=sm.families.Poisson()).fit(scale="X2")
    np.testing.assert_allclose(out["expected"].iloc[32:], fit.predict(frame.iloc[32:]),
                               rtol=1e-7)
    assert out.attrs["phi"] == pytest.approx(fit.scale, rel=1e-7)


def seasonal_series(seed: int, level: float = 200.0, dispersion: float = 1.0
                    ) -> tuple[pd.DataFrame, np.ndarray]:
    """2020-2023 with a summer peak (±30%) and no change: Poisson counts, or gamma-Poisson
    ones varying `dispersion` times more than Poisson. Returns the series and the true
    means."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2020-01-01", periods=48, freq="MS")
    mu = level * (1 + 0.3 * np.sin(2 * np.pi * (months.month.to_numpy() - 4) / 12))
    rate = (rng.gamma(mu / (dispersion - 1), dispersion - 1) if dispersion > 1 else mu)
    return pd.DataFrame({"month": months, "count": rng.poisson(rate)}), mu


@pytest.mark.parametrize("dispersion", [1.0, 6.0])
def test_a_seasonal_series_with_no_change_flags_nothing_in_nearly_all_seeds(dispersion):
    flagged = []
    for seed in range(20):
        series, _ = seasonal_series(seed, dispersion=dispersion)
        out = expected_range(series, calendar_year(2023))
        assert out.attrs["seasonal"] and out.attrs["trend"] and out.attrs["m"] == 12
        flagged.append(int((out["exceptional"] != "").sum()))
    assert sum(n > 0 for n in flagged) <= 1, flagged


def test_a_spike_or_dip_of_six_standard_deviations_is_flagged():
    # One chart's year inspected (the default family of 12 months). A document's family of
    # 120 months needs more: see test_a_document_family_needs_a_larger_spike.
    for seed in range(20):
        series, mu = seasonal_series(seed)
        june, october = 41, 45                                  # June and October 2023
        series.loc[june, "count"] = round(mu[june] + 6 * math.sqrt(mu[june]))
        series.loc[october, "count"] = round(mu[october] - 6 * math.sqrt(mu[october]))
        out = expected_range(series, calendar_year(2023))
        assert out.loc[june, "exceptional"] == "above", seed
        assert out.loc[october, "exceptional"] == "below", seed
        assert (out["exceptional"] != "").sum() == 2, seed


def test_a_document_family_needs_a_larger_spike():
    found = {6: 0, 9: 0}
    for seed in range(20):
        series, mu = seasonal_series(seed)
        for size in found:
            spiked = series.copy()
            spiked.loc[41, "count"] = round(mu[41] + size * math.sqrt(mu[41]))
            out = expected_range(spiked, calendar_year(2023), family_size=120)
            found[size] += out.loc[41, "exceptional"] == "above"
    assert found[9] == 20 and 8 <= found[6] < 20, found


def test_only_months_of_the_inspected_period_are_flagged():
    series, _ = seasonal_series(3)
    series.loc[26, "count"] = 600       # March 2022: history, shown for context only
    series.loc[47, "count"] = 5000      # December 2023: after the period inspected
    series.loc[40, "count"] = 5000      # May 2023: inspected
    out = expected_range(series, month_range(date(2023, 1, 1), date(2023, 11, 1)))
    assert out.loc[out["exceptional"] != "", "month"].tolist() == [date(2023, 5, 1)]
    assert out["inspected"].sum() == 11 and out.attrs["m"] == 11
    assert out.loc[~out["inspected"], ["expected", "lower", "upper"]].isna().all().all()


def test_more_months_inspected_widen_the_limits():
    series, _ = seasonal_series(5)
    narrow = expected_range(series, calendar_year(2023), family_size=12)
    wide = expected_range(series, calendar_year(2023), family_size=240)
    assert (wide["upper"].iloc[36:] > narrow["upper"].iloc[36:]).all()
    assert (wide["lower"].iloc[36:] < narrow["lower"].iloc[36:]).all()
    assert wide.attrs["tail"] == pytest.approx(0.05 / 480)
    np.testing.assert_allclose(wide["expected"], narrow["expected"])


def test_too_little_history_sets_no_limits_and_says_why():
    series, _ = seasonal_series(1)
    short = series[series["month"] >= "2022-05-01"]        # 8 months before 2023
    out = expected_range(short, calendar_year(2023))
    assert out.attrs["reason"] == ("too little history: 8 months of data before 2023, and at "
                                   "least 12 are needed to say what a normal month looks like")
    assert out[["expected", "lower", "upper"]].isna().all().all()
    assert (out["exceptional"] == "").all() and out.attrs["history_months"] == 8
    none = expected_range(short, calendar_year(2025))
    assert none.attrs["reason"] == "the series holds no month of 2025"
    zeros = pd.DataFrame({"month": pd.date_range("2022-01-01", periods=24, freq="MS"),
                          "count": [0] * 12 + [3] * 12})
    assert expected_range(zeros, calendar_year(2023)).attrs["reason"].startswith(
        "no events in the 12 months before 2023")


def test_season_and_trend_only_where_the_history_supports_them():
    series, _ = seasonal_series(2)
    # 20 months of history (May 2021 to December 2022): January-April once.
    twenty = expected_range(series[series["month"] >= "2021-05-01"], calendar_year(2023))
    assert twenty.attrs["season"] == "one annual harmonic" and not twenty.attrs["trend"]
    # One annual harmonic: an independent fit with statsmodels' formula interface.
    import statsmodels.api as sm
    import statsmodels.formula.api as smf

    history = series[(series["month"] >= "2021-05-01") & (series["month"] < "2023-01-01")]
    history = history.assign(a=2 * np.pi * (pd.to_datetime(history["month"]).dt.month - 1) / 12)
    fit = smf.glm("count ~ np.sin(a) + np.cos(a)", history,
                  family=sm.families.Poisson()).fit()
    new = pd.DataFrame({"a": 2 * np.pi * np.arange(12) / 12})
    assert twenty.loc[twenty["inspected"], "expected"].tolist() == pytest.approx(
        fit.predict(new).tolist(), rel=1e-6)
    assert twenty.attrs["phi"] == pytest.approx(max(1.0, fit.pearson_chi2 / 17), rel=1e-6)
    # 24 months: every calendar month twice and a span of two years.
    both = expected_range(series[series["month"] >= "2021-01-01"], calendar_year(2023))
    assert both.attrs["seasonal"] and both.attrs["trend"] and both.attrs["df"] == 11
    # A calendar month with no event in any year gets no effect of its own: no season.
    sparse = series.assign(count=np.where(pd.to_datetime(series["month"]).dt.month == 2, 0,
                                          series["count"]))
    assert expected_range(sparse, calendar_year(2023)).attrs["season"] == "one annual harmonic"


def test_predictive_limits_are_poisson_without_extra_variation():
    mu = np.array([0.5, 4.0, 30.0])
    lower, upper = predictive_limits(mu, mu.copy(), 0.001)
    assert lower.tolist() == poisson.ppf(0.001, mu).tolist()
    assert upper.tolist() == poisson.ppf(0.999, mu).tolist()
    wider = predictive_limits(mu, 3 * mu, 0.001)
    assert (wider[1] >= upper).all() and (wider[0] <= lower).all()


def test_family_size_counts_every_month_of_every_chart():
    assert family_size(10, calendar_year(2023)) == 120
    assert family_size(2, month_range(date(2023, 1, 1), date(2023, 6, 1))) == 12
    assert family_size(0, calendar_year(2023)) == 1
    with pytest.raises(ValueError, match="charts must be 0 or more"):
        family_size(-1, calendar_year(2023))
