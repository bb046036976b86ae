"""Monthly series for an area: counts by month since the data begins, the 12-month rolling
mean, the seasonal profile and, for an inspected period, each month's expected range (season,
trend and the series' own variation, widened for the months inspected; see `control`) and the
months outside it.

Months the data does not cover are left out (unknown), never counted as 0; covered months with
no events are 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from cspkit.measures.areas import AreaSelection, area_events, months_covered
from cspkit.measures.control import expected_range, rolling_mean, seasonal_profile
from cspkit.measures.counts import ALL_CRIME, ASB
from cspkit.measures.periods import Period
from cspkit.measures.settings import Settings
from cspkit.store.tables import WarehouseLike, warehouse


def category_filter(events: ir.Table, category: str | Sequence[str] | None,
                    subcategory: str | None = None) -> ir.Table:
    """`events` of `category` (one, several counted together, or ALL_CRIME) and
    `subcategory`."""
    if category == ALL_CRIME:
        events = events.filter(events.category != ASB)
    elif isinstance(category, str):
        events = events.filter(events.category == category)
    elif category is not None:   # several categories counted together
        if ALL_CRIME in category:
            raise ValueError(f"{ALL_CRIME!r} cannot be counted with other categories")
        events = events.filter(events.category.isin(list(category)))
    if subcategory is not None:  # e.g. deliberate fires: cause within any fire category
        events = events.filter(events.subcategory == subcategory)
    return events


def monthly_counts(con: WarehouseLike, area: AreaSelection, *,
                   category: str | Sequence[str] | None = None,
                   period: Period | None = None,
                   source: str = "police.uk", by_category: bool = False,
                   subcategory: str | None = None) -> pd.DataFrame:
    """month, count (and category with `by_category`) for every month the data covers;
    `category` may be a list of categories, counted together."""
    wh = warehouse(con)
    events = category_filter(area_events(wh, area, source), category, subcategory)
    if period is not None:
        events = events.filter(events.month.between(period.start, period.end))
    group = ["month", "category"] if by_category else ["month"]
    frame = wh.frame(events.group_by(group).aggregate(count=events.count()).order_by(group))
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


def monthly_series(con: WarehouseLike, area: AreaSelection, *,
                   category: str | Sequence[str] | None = None, period: Period | None = None,
                   inspect: Period | None = None, family_size: int | None = None,
                   source: str = "police.uk", subcategory: str | None = None,
                   settings: Settings | None = None) -> pd.DataFrame:
    """Counts by month (every month held, or those of `period`) with `rolling_mean` (12
    months) and, for the months of `inspect`, the expected range (`control.expected_range`):
    `inspected`, `expected`, `lower`, `upper` and `exceptional` ('above' | 'below' | '').

    The months before `inspect` are the history the expectation is fitted to; only inspected
    months can be exceptional. `family_size` is the number of months inspected across the
    whole document (default: this series' inspected months), which widens the limits so that
    the chance of any false alarm in the document stays at settings.alpha. Without `inspect`
    no month is judged. `category` may be a list of categories, counted together. `attrs`
    carries the method, dispersion, history, family size and alpha for the document to state.
    """
    settings = settings or Settings()
    counts = monthly_counts(con, area, category=category, period=period, source=source,
                            subcategory=subcategory)
    out = judged_series(counts, inspect, family_size=family_size, settings=settings)
    out["category"] = (category if isinstance(category, str)
                       else ", ".join(category) if category else "all")
    return out


def judged_series(counts: pd.DataFrame, inspect: Period | None, *,
                  family_size: int | None = None,
                  settings: Settings | None = None) -> pd.DataFrame:
    """`monthly_series` for counts already made (month, count): the rolling mean and, when
    `inspect` is given, the expected range of its months."""
    settings = settings or Settings()
    out = rolling_mean(counts)
    if inspect is not None:
        # Both frames are the counts sorted by month, one row each: columns line up.
        judged = expected_range(counts, inspect, family_size=family_size, settings=settings)
        for column in ("inspected", "expected", "lower", "upper", "exceptional"):
            out[column] = judged[column].to_numpy()
        out.attrs.update(judged.attrs)
    else:
        out["inspected"] = False
        for column in ("expected", "lower", "upper"):
            out[column] = np.nan
        out["exceptional"] = ""
        out.attrs.update({"reason": "no period was inspected", "m": family_size,
                          "alpha": settings.alpha})
    return out


def seasonality(con: WarehouseLike, area: AreaSelection, *,
                category: str | None = None, source: str = "police.uk",
                settings: Settings | None = None) -> pd.DataFrame:
    """Month-of-year index (1.0 = an average month) from every month the data covers."""
    counts = monthly_counts(con, area, category=category, source=source)
    return seasonal_profile(counts, settings or Settings())


def peak_months(series: pd.DataFrame, n: int = 3) -> list[date]:
    """The `n` months with the highest counts, most first (ties: earliest first)."""
    ordered = series.sort_values(["count", "month"], ascending=[False, True])
    return list(ordered["month"].head(n))
