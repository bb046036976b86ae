"""Monthly series tools, checked by hand on synthetic series."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest
from scipy.stats import poisson

from cspkit.measures.control import (
    control_limits,
    exceptional_months,
    rolling_mean,
    seasonal_profile,
)
from cspkit.measures.periods import parse_period
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
