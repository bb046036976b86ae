"""Monthly series: rolling means, seasonal profile, the expected range of inspected months and
classic c-chart limits.

Every function takes a DataFrame with a `month` column (dates; any day stands for its month)
and a `count` column, one row per month. A month absent from the frame is unknown, not zero:
police.uk months do go missing, and treating them as 0 would invent a fall.

Expected range (`expected_range`, what the documents publish). A month is called exceptional
only against what its own series predicts for it, and only with the error controlled across
every month the document inspects:

- The history is the months before the inspected period; months after it are ignored. With
  fewer than `MIN_HISTORY` (12) months of history no limits are set, and `attrs['reason']`
  says why: a year of data does not say what a normal month looks like.
- A quasi-Poisson GLM (log link) is fitted to the history: calendar-month effects when every
  calendar month appears in at least `settings.seasonal_min_years` (2) years of it and none of
  them is all zeros (a month of zeros would put its effect at minus infinity), else one annual
  harmonic (a sine and a cosine of the month) when every calendar month appears once, so a
  history of 12 to 23 months still carries the shape of the year; a linear trend
  in time when the history spans at least 24 months (a shorter span confounds trend with
  season); a level only otherwise. Real police series vary more than Poisson (Bedfordshire's
  force series have dispersion ratios of about 1.6 for robbery to 14 for violence), so the
  dispersion phi = max(1, Pearson chi2 / residual df) is estimated from the history and never
  taken below Poisson.
- For each inspected month the prediction mu and its standard error on the log scale give the
  predictive variance V = phi' * mu + mu^2 * var(log mu-hat): the month's own variation plus
  the uncertainty of the expectation (delta method), var(log mu-hat) being the quasi-Poisson
  covariance (the Poisson one times phi').
- phi' allows for phi being estimated from few months. With d residual degrees of freedom a
  standardised new month divided by the estimated spread follows Student's t on d df, not the
  normal, and at the tails a whole document needs that matters (with 20 months of history, t
  is about 20% wider than z at 1 in 5,000): phi' = max(1, chi2 / d * (t_d / z)^2), t_d and z
  the quantiles at the tail probability below. Without it, simulated series varying six times
  more than Poisson raised a false alarm in about 16% of ten-chart documents instead of the
  5% promised; with it, in about 1-7% depending on the months of history. The price is
  power: with three years of history a spike of 6 Poisson standard deviations is found
  every time when one chart's 12 months are inspected, but in about 60% of series when a
  document inspects 120 months (8 standard deviations: nearly always).
- The family of tests is every month the document inspects (m, passed by the caller; by
  default the months inspected in this series). A month is exceptional when its count falls
  outside the central 1 - alpha/m of its predictive distribution, alpha = settings.alpha, so
  the chance of flagging any month of the family when nothing changed is at most alpha
  (Bonferroni). `attrs['z']` is the matching normal quantile, Phi^-1(1 - alpha / (2 m)).
- The limits are quantiles of a count distribution with mean mu and variance V, not
  mu +/- z sqrt(V): a negative binomial (gamma-Poisson mixture, the usual model of counts
  varying more than Poisson) when V > mu, the Poisson when V = mu. At the tail probabilities
  a family of a hundred months needs (about 1 in 5,000 each side) the normal approximation is
  poor: for a Poisson count it puts both limits about (z^2 - 1) / 6 = 2 counts too low
  whatever the size, and for an overdispersed series the skew grows with phi (at phi = 14 a
  500-a-month series' limits would be some 50 counts too low), while for small expectations
  its lower limit is meaningless. The quantiles are exact for the stated
  distribution at every size, so one rule serves large and small series alike. The lower
  limit is the smallest k with P(X <= k) >= q and the upper the smallest k with
  P(X <= k) >= 1 - q, q = alpha / (2 m); a count below the lower or above the upper is
  exceptional, so each side's false-alarm chance is at most q.

Classic c-chart (`control_limits`, `exceptional_months`; kept for analysts, not used by the
documents because it ignores season, trend and extra-Poisson variation and inspects every month
at 3 sigma): the centre line c is the mean monthly count over the baseline months; the usual
limits are c +/- sigma * sqrt(c), the lower floored at 0, with exact Poisson limits beside them
(the lower the smallest k with P(X <= k) >= q and the upper the smallest k with
P(X <= k) >= 1 - q, X ~ Poisson(c), q = P(Z > sigma)).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import nbinom, norm, poisson
from scipy.stats import t as t_dist

from cspkit.measures.periods import Period
from cspkit.measures.settings import Settings

MIN_HISTORY = 12      # months of history before any month is judged
MIN_TREND_SPAN = 24   # months the history must span before a trend is fitted
ABOVE, BELOW = "above", "below"
BONFERRONI = "Bonferroni"   # the procedure, as documents name it in their families of tests


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


def family_size(charts: int, period: Period) -> int:
    """Months inspected by a document: `charts` monthly series, each judged on every month of
    `period`. An upper bound on the months actually tested (a series may miss some), so the
    Bonferroni limits it gives are, if anything, wider than needed."""
    if charts < 0:
        raise ValueError(f"charts must be 0 or more, got {charts}")
    return max(1, charts * period.n_months)


def expected_range(df: pd.DataFrame, inspect: Period, *, family_size: int | None = None,
                   settings: Settings | None = None,
                   min_history: int = MIN_HISTORY) -> pd.DataFrame:
    """The series with the expected range of each month of `inspect` (see the module notes).

    Adds `inspected` (the month is in `inspect`), `expected` (the model's prediction), `lower`
    and `upper` (the limits) on inspected months, NaN on the others, and `exceptional`
    ('above', 'below' or '', only ever set on inspected months). `attrs` holds what a document
    states about the method: method, reason (why no limits, or None), phi, seasonal, trend,
    history_start, history_end, history_months, m, alpha, tail (alpha / 2m) and z.
    """
    settings = settings or Settings()
    out = _series(df)
    out["inspected"] = [inspect.contains(m.date()) for m in out["month"]]
    history = out[out["month"] < pd.Timestamp(inspect.start)]
    months_inspected = int(out["inspected"].sum())
    m = int(family_size) if family_size is not None else max(1, months_inspected)
    if m < 1:
        raise ValueError(f"family_size must be at least 1, got {family_size}")
    tail = settings.alpha / (2 * m)
    attrs: dict[str, Any] = {
        "method": "quasi-Poisson GLM", "reason": None, "phi": None, "df": None,
        "dispersion": None, "seasonal": False, "season": None,
        "trend": False, "history_start": None, "history_end": None,
        "history_months": len(history), "inspected": inspect.label,
        "months_inspected": months_inspected, "m": m, "alpha": settings.alpha,
        "tail": tail, "z": float(norm.isf(tail))}
    if not history.empty:
        attrs["history_start"] = history["month"].iloc[0].date()
        attrs["history_end"] = history["month"].iloc[-1].date()
    out["expected"] = np.nan
    out["lower"] = np.nan
    out["upper"] = np.nan
    out["exceptional"] = ""
    reason = _no_limits_reason(history, inspect, months_inspected, min_history)
    if reason:
        attrs["reason"] = reason
        out = _as_dates(out)
        out.attrs.update(attrs)
        return out

    design, seasonal, trend = _design(history, history["month"].iloc[0], settings)
    fit = sm.GLM(history["count"].to_numpy(float), design(history["month"]),
                 family=sm.families.Poisson()).fit()
    df_resid = float(fit.df_resid)
    phi = max(1.0, float(fit.pearson_chi2) / df_resid)
    # phi is estimated from df_resid months: at these tails its error matters, so the
    # dispersion used is inflated as Student's t inflates a normal quantile (see the notes).
    widen = float((t_dist.isf(tail, df_resid) / norm.isf(tail)) ** 2)
    dispersion = max(1.0, float(fit.pearson_chi2) / df_resid * widen)
    target = out["inspected"].to_numpy()
    x_new = design(out.loc[target, "month"])
    eta = x_new @ fit.params
    # Quasi-Poisson: the Poisson covariance of the coefficients scaled by the dispersion.
    var_eta = np.einsum("ij,jk,ik->i", x_new, dispersion * np.asarray(fit.cov_params()), x_new)
    mu = np.exp(eta)
    variance = dispersion * mu + mu ** 2 * var_eta
    lower, upper = predictive_limits(mu, variance, tail)
    out.loc[target, "expected"] = mu
    out.loc[target, "lower"] = lower
    out.loc[target, "upper"] = upper
    counts = out.loc[target, "count"].to_numpy()
    out.loc[target, "exceptional"] = np.where(counts > upper, ABOVE,
                                              np.where(counts < lower, BELOW, ""))
    attrs.update(phi=phi, df=df_resid, dispersion=dispersion, seasonal=seasonal, trend=trend,
                 season=getattr(design, "season", None))
    out = _as_dates(out)
    out.attrs.update(attrs)
    return out


def predictive_limits(mu: np.ndarray, variance: np.ndarray, tail: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    """The `tail` and 1 - `tail` quantiles of a count with mean `mu` and variance `variance`:
    negative binomial when the variance exceeds the mean, Poisson when it equals it."""
    mu, variance = np.asarray(mu, float), np.asarray(variance, float)
    lower, upper = np.empty_like(mu), np.empty_like(mu)
    # Below a relative excess of 1e-9 the negative binomial is the Poisson to any precision
    # that matters, and its size parameter would overflow.
    extra = variance - mu > 1e-9 * mu
    plain = ~extra
    lower[plain] = poisson.ppf(tail, mu[plain])
    upper[plain] = poisson.isf(tail, mu[plain])
    size = mu[extra] ** 2 / (variance[extra] - mu[extra])
    prob = mu[extra] / variance[extra]
    lower[extra] = nbinom.ppf(tail, size, prob)
    upper[extra] = nbinom.isf(tail, size, prob)
    return lower, upper


def _no_limits_reason(history: pd.DataFrame, inspect: Period, months_inspected: int,
                      min_history: int) -> str | None:
    if months_inspected == 0:
        return f"the series holds no month of {inspect.label}"
    if len(history) < min_history:
        return (f"too little history: {len(history)} month{'' if len(history) == 1 else 's'} "
                f"of data before {inspect.label}, and at least {min_history} are needed to "
                "say what a normal month looks like")
    if history["count"].sum() == 0:
        return (f"no events in the {len(history)} months before {inspect.label}, so the "
                "month-to-month variation cannot be estimated")
    return None


def _design(history: pd.DataFrame, origin: pd.Timestamp, settings: Settings
            ) -> tuple[Callable[[pd.Series], np.ndarray], bool, bool]:
    """A function giving the model matrix for any months, with whether it has calendar-month
    effects and a trend (decided from the history alone)."""
    calendar = history["month"].dt.month
    years = calendar.value_counts().reindex(range(1, 13), fill_value=0)
    totals = history.groupby(calendar)["count"].sum().reindex(range(1, 13), fill_value=0)
    seasonal = bool((years >= settings.seasonal_min_years).all() and (totals > 0).all())
    # A shorter history (12 to 23 months, say) cannot hold a calendar-month effect each, but
    # it can carry the shape of the year: one annual harmonic (a sine and a cosine, 2
    # parameters) instead of 11 month effects, so a summer peak is not read as variation.
    harmonic = not seasonal and bool((years >= 1).all())
    months = history["month"]
    span = (months.iloc[-1].year - origin.year) * 12 + months.iloc[-1].month - origin.month + 1
    trend = span >= MIN_TREND_SPAN

    def design(when: pd.Series) -> np.ndarray:
        when = pd.to_datetime(pd.Series(when))
        columns = [np.ones(len(when))]
        if seasonal:   # January is the reference month
            columns += [(when.dt.month == k).to_numpy(float) for k in range(2, 13)]
        elif harmonic:
            angle = 2 * np.pi * (when.dt.month.to_numpy(float) - 1) / 12
            columns += [np.sin(angle), np.cos(angle)]
        if trend:      # years since the first month of history
            elapsed = (when.dt.year - origin.year) * 12 + when.dt.month - origin.month
            columns.append(elapsed.to_numpy(float) / 12)
        return np.column_stack(columns)

    design.season = ("calendar-month effects" if seasonal   # type: ignore[attr-defined]
                     else "one annual harmonic" if harmonic else None)
    return design, seasonal or harmonic, trend
