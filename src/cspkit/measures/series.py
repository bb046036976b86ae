"""Monthly series for an area: counts by month since the data begins, the 12-month rolling
mean, the seasonal profile, control limits and the months that stand out.

Months the data does not cover are left out (unknown), never counted as 0; covered months with
no events are 0.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd

from cspkit.measures.areas import AreaSelection, months_covered
from cspkit.measures.control import control_limits, rolling_mean, seasonal_profile
from cspkit.measures.counts import ALL_CRIME, ASB
from cspkit.measures.periods import Period
from cspkit.measures.settings import Settings


def _category_filter(category: str | None, subcategory: str | None = None
                     ) -> tuple[str, list[object]]:
    sql, params = "", []
    if category == ALL_CRIME:
        sql, params = " AND e.category <> ?", [ASB]
    elif category is not None:
        sql, params = " AND e.category = ?", [category]
    if subcategory is not None:  # e.g. deliberate fires: cause within any fire category
        sql, params = sql + " AND e.subcategory = ?", [*params, subcategory]
    return sql, params


def monthly_counts(con: duckdb.DuckDBPyConnection, area: AreaSelection, *,
                   category: str | None = None, period: Period | None = None,
                   source: str = "police.uk", by_category: bool = False,
                   subcategory: str | None = None) -> pd.DataFrame:
    """month, count (and category with `by_category`) for every month the data covers."""
    condition, params = area.where("g")
    extra, extra_params = _category_filter(category, subcategory)
    window = ""
    if period is not None:
        window = " AND e.month BETWEEN ? AND ?"
        extra_params = [*extra_params, period.start, period.end]
    group = ", e.category" if by_category else ""
    frame = con.execute(
        f"""SELECT e.month{group}, count(*) AS count FROM events e
            JOIN lsoa_geography g ON g.lsoa_code = e.lsoa_code AND g.lsoa_vintage = e.lsoa_vintage
            WHERE {condition} AND e.source = ?{extra}{window}
            GROUP BY ALL ORDER BY 1""",
        [*params, source, *extra_params]).df()
    covered = sorted(m for m in months_covered(con, area, source)
                     if period is None or period.contains(m))
    keys = pd.DataFrame({"month": covered})
    if by_category:
        categories = pd.DataFrame({"category": sorted(frame["category"].unique())})
        keys = keys.merge(categories, how="cross")
    frame["month"] = [m.date() if hasattr(m, "date") else m for m in frame["month"]]
    on = ["month", "category"] if by_category else ["month"]
    out = keys.merge(frame, how="left", on=on).fillna({"count": 0})
    out["count"] = out["count"].astype("int64")
    return out


def monthly_series(con: duckdb.DuckDBPyConnection, area: AreaSelection, *,
                   category: str | None = None, period: Period | None = None,
                   baseline: Period | None = None, source: str = "police.uk",
                   subcategory: str | None = None,
                   settings: Settings | None = None) -> pd.DataFrame:
    """Counts by month with rolling_mean (12 months), the c-chart centre and limits (sigma and
    exact Poisson), and `exceptional` ('above' | 'below' | '') for each month; where the data
    has enough years, `expected` (centre x seasonal index) and `exceptional_seasonal` judged
    against it.

    The centre line is the mean over `baseline` (default: every month shown)."""
    settings = settings or Settings()
    counts = monthly_counts(con, area, category=category, period=period, source=source,
                            subcategory=subcategory)
    if counts.empty:
        return counts.assign(rolling_mean=[], centre=[], lower=[], upper=[], exceptional=[])
    out = control_limits(rolling_mean(counts), baseline, settings)
    out["exceptional"] = ""
    out.loc[out["count"] > out["upper"], "exceptional"] = "above"
    out.loc[out["count"] < out["lower"], "exceptional"] = "below"
    # Against a seasonal expectation too, where every calendar month has enough years: a
    # summer ASB peak is then expected, and only what the season does not explain stands out.
    profile = seasonal_profile(counts, settings)
    out["expected"] = None
    out["exceptional_seasonal"] = ""
    if bool(profile["sufficient"].all()):
        index = profile["seasonal_index"].to_dict()
        expected = out["centre"] * [index[m.month] for m in out["month"]]
        spread = settings.control_sigma * np.sqrt(expected)
        out["expected"] = expected.round(3)
        out.loc[out["count"] > expected + spread, "exceptional_seasonal"] = "above"
        out.loc[out["count"] < (expected - spread).clip(lower=0), "exceptional_seasonal"] = "below"
    out["category"] = category or "all"
    return out


def seasonality(con: duckdb.DuckDBPyConnection, area: AreaSelection, *,
                category: str | None = None, source: str = "police.uk",
                settings: Settings | None = None) -> pd.DataFrame:
    """Month-of-year index (1.0 = an average month) from every month the data covers."""
    counts = monthly_counts(con, area, category=category, source=source)
    return seasonal_profile(counts, settings or Settings())


def peak_months(series: pd.DataFrame, n: int = 3) -> list[date]:
    """The `n` months with the highest counts, most first (ties: earliest first)."""
    ordered = series.sort_values(["count", "month"], ascending=[False, True])
    return list(ordered["month"].head(n))
