"""Monthly series: rolling means, seasonal profile and c-chart control limits.

Every function takes a DataFrame with a `month` column (dates; any day stands for its month)
and a `count` column, one row per month. A month absent from the frame is unknown, not zero:
police.uk months do go missing, and treating them as 0 would invent a fall.

Control limits (a c-chart, for counts of events): the centre line c is the mean monthly count
over the baseline months; the usual limits are c +/- sigma * sqrt(c), the lower floored at 0.
For small c that normal approximation is poor (the lower limit is 0 for any c under 9 at 3
sigma), so exact Poisson limits are given beside them: the lower is the smallest k with
P(X <= k) >= q and the upper the smallest k with P(X <= k) >= 1 - q, X ~ Poisson(c), where
q = P(Z > sigma) is the normal tail the sigma limits stand for (0.00135 at 3 sigma). In both
cases a month is exceptional when its count is above the upper or below the lower limit.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import norm, poisson

from cspkit.measures.periods import Period
from cspkit.measures.settings import Settings


def _series(df: pd.DataFrame) -> pd.DataFrame:
    """A sorted copy with month as first-of-month Timestamps; clear errors for bad input."""
    for col in ("month", "count"):
        if col not in df.columns:
            raise KeyError(f"the series needs a {col!r} column (columns: {list(df.columns)})")
    out = df.copy()
    out["month"] = pd.to_datetime(out["month"]).dt.to_period("M").dt.to_timestamp()
    duplicated = out["month"].duplicated()
    if duplicated.any():
        month = out.loc[duplicated, "month"].iloc[0]
        raise ValueError(f"month {month:%Y-%m} appears more than once; give one row per month")
    counts = pd.to_numeric(out["count"], errors="coerce")
    if counts.isna().any() or (counts < 0).any():
        bad = out.loc[counts.isna() | (counts < 0)].iloc[0]
        value = bad["count"].item() if isinstance(bad["count"], np.generic) else bad["count"]
        raise ValueError(f"month {bad['month']:%Y-%m}: count {value!r} is not a number of "
                         f"events")
    out["count"] = counts
    return out.sort_values("month").reset_index(drop=True)


def _as_dates(out: pd.DataFrame) -> pd.DataFrame:
    """Months back as datetime.date, the type the rest of cspkit (and Period) uses."""
    out["month"] = [m.date() for m in out["month"]]
    return out


def rolling_mean(df: pd.DataFrame, window: int = 12) -> pd.DataFrame:
    """The series with `rolling_mean`: the mean of the `window` calendar months ending each
    month, NaN unless all of them have data (a gap is not averaged over)."""
    if window < 1:
        raise ValueError(f"window must be at least 1 month, got {window}")
    out = _series(df)
    if out.empty:
        out["rolling_mean"] = pd.Series(dtype=float)
        return _as_dates(out)
    full = out.set_index("month")["count"].asfreq("MS")
    means = full.rolling(window, min_periods=window).mean()
    out["rolling_mean"] = means.reindex(out["month"]).to_numpy()
    return _as_dates(out)


def seasonal_profile(df: pd.DataFrame, settings: Settings | None = None) -> pd.DataFrame:
    """Seasonal index per calendar month: mean count in that month / the overall monthly mean.

    The overall monthly mean is the mean of the twelve calendar-month means, so a series
    covering, say, 30 months does not weight the months it has three of. Returns one row per
    calendar month (index month_of_year, 1-12): month_name, years (how many of that month the
    data holds), mean_count, sufficient and seasonal_index. A month with fewer than
    settings.seasonal_min_years years has sufficient False and seasonal_index NaN: one year's
    January is not a seasonal pattern.
    """
    settings = settings or Settings()
    out = _series(df)
    by_month = out.groupby(out["month"].dt.month)["count"].agg(["size", "mean"])
    profile = pd.DataFrame(index=pd.RangeIndex(1, 13, name="month_of_year"))
    profile["month_name"] = [pd.Timestamp(2000, m, 1).strftime("%b") for m in profile.index]
    profile["years"] = by_month["size"].reindex(profile.index, fill_value=0).astype(int)
    profile["mean_count"] = by_month["mean"].reindex(profile.index)
    profile["sufficient"] = profile["years"] >= settings.seasonal_min_years
    overall = profile["mean_count"].mean()
    # With no events at all every month is as (un)usual as any other: no index.
    ratio = (profile["mean_count"] / overall if overall
             else pd.Series(np.nan, index=profile.index))
    profile["seasonal_index"] = ratio.where(profile["sufficient"])
    return profile


def control_limits(df: pd.DataFrame, baseline: Period | None = None,
                   settings: Settings | None = None) -> pd.DataFrame:
    """The series with c-chart columns: centre, lower, upper (centre +/- sigma * sqrt(centre),
    lower floored at 0) and lower_exact, upper_exact (Poisson limits; see the module notes).

    The centre is the mean count over the baseline period's months present in the data
    (all months when no baseline is given).
    """
    settings = settings or Settings()
    out = _series(df)
    if baseline is None:
        base = out["count"]
    else:
        base = out.loc[[baseline.contains(m.date()) for m in out["month"]], "count"]
        if base.empty:
            raise ValueError(f"no month of the baseline {baseline} is in the series "
                             f"({_span(out)})")
    if base.empty:
        raise ValueError("the series is empty: there is nothing to set control limits from")
    centre = float(base.mean())
    spread = settings.control_sigma * np.sqrt(centre)
    tail = float(norm.sf(settings.control_sigma))
    out["centre"] = centre
    out["lower"] = max(centre - spread, 0.0)
    out["upper"] = centre + spread
    # ppf of Poisson(0) is 0 at every level: a zero baseline makes any event exceptional.
    out["lower_exact"] = float(poisson.ppf(tail, centre)) if centre > 0 else 0.0
    out["upper_exact"] = float(poisson.ppf(1 - tail, centre)) if centre > 0 else 0.0
    return _as_dates(out)


def _span(out: pd.DataFrame) -> str:
    """What months a series covers, for error messages."""
    if out.empty:
        return "it is empty"
    return f"it runs {out['month'].min():%Y-%m} to {out['month'].max():%Y-%m}"


def exceptional_months(df: pd.DataFrame, baseline: Period | None = None,
                       settings: Settings | None = None,
                       limits: Literal["sigma", "exact"] = "sigma") -> pd.DataFrame:
    """Months whose count is above the upper or below the lower control limit.

    `limits` picks the sigma limits (the classic c-chart) or the exact Poisson ones (better
    for small counts). Returns month, count, centre, lower, upper and direction ('above' or
    'below'), in month order.
    """
    if limits not in ("sigma", "exact"):
        raise ValueError(f"limits must be 'sigma' or 'exact', got {limits!r}")
    charted = control_limits(df, baseline, settings)
    low_col, high_col = ("lower", "upper") if limits == "sigma" else ("lower_exact",
                                                                        "upper_exact")
    above = charted["count"] > charted[high_col]
    below = charted["count"] < charted[low_col]
    flagged = charted.loc[above | below, ["month", "count", "centre"]].copy()
    flagged["lower"] = charted.loc[flagged.index, low_col]
    flagged["upper"] = charted.loc[flagged.index, high_col]
    flagged["direction"] = np.where(above[flagged.index], "above", "below")
    return flagged.reset_index(drop=True)
