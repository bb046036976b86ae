"""Where events concentrate, and which issues do most harm, for an area and period.

Thin warehouse wrappers around `measures.concentration` and `measures.harm`: counts come from
the engine, the arithmetic from those modules.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cspkit.measures.areas import AreaSelection, events_vintage
from cspkit.measures.concentration import Concentration, concentration
from cspkit.measures.counts import counts, period_events
from cspkit.measures.harm import harm_rank, load_weights
from cspkit.measures.periods import Period
from cspkit.measures.series import category_filter
from cspkit.store.tables import WarehouseLike, warehouse


def lsoa_counts(con: WarehouseLike, area: AreaSelection, period: Period, *,
                category: str | None = None, source: str = "police.uk") -> pd.Series:
    """Events per LSOA of the area, every LSOA listed (0 where none), indexed by LSOA code."""
    wh = warehouse(con)
    g = wh.hierarchy()
    lsoas = g.filter(area.filter(g), g.lsoa_vintage == events_vintage(con, area, source)
                     ).select("lsoa_code").distinct()
    events = category_filter(period_events(wh, area, period, source), category)
    # Counted by code whatever the edition, as the events carry it.
    n = events.group_by("lsoa_code").aggregate(count=events.count())
    joined = lsoas.left_join(n, "lsoa_code")
    frame = wh.frame(joined.select(lsoas.lsoa_code, count=joined["count"].fill_null(0))
                     .order_by("lsoa_code"))
    return frame.set_index("lsoa_code")["count"]


def lsoa_concentration(con: WarehouseLike, area: AreaSelection, period: Period, *,
                       category: str | None = None, source: str = "police.uk"
                       ) -> Concentration:
    """Share of events in the top 5% and 10% of the area's LSOAs, Gini and generalized Gini,
    and the LSOAs that carry them (with names and wards in `top_places`)."""
    result = concentration(lsoa_counts(con, area, period, category=category, source=source))
    names = lsoa_names(con, events_vintage(con, area, source),
                       result.top_places["place"].tolist())
    top = result.top_places.merge(names, how="left", left_on="place", right_on="lsoa_code")
    object.__setattr__(result, "top_places", top.drop(columns=["lsoa_code"]))
    return result


def lsoa_names(con: WarehouseLike, vintage: str, codes: list[str] | None = None
               ) -> pd.DataFrame:
    """lsoa_code, lsoa_name, ward_name of the LSOAs of `vintage` (of `codes` when given)."""
    wh = warehouse(con)
    g = wh.hierarchy()
    g = g.filter(g.lsoa_vintage == vintage)
    if codes is not None:
        g = g.filter(g.lsoa_code.isin(sorted(set(codes))))
    return wh.frame(g.select("lsoa_code", "lsoa_name", "ward_name").distinct())


def harm(con: WarehouseLike, area: AreaSelection, period: Period, *,
         weights: str | Path | None = None, source: str = "police.uk") -> pd.DataFrame:
    """Issues ranked by count and by harm (count x weight) side by side."""
    by_category = counts(con, area, period, source=source)
    table = harm_rank(by_category[["category", "count"]], load_weights(weights))
    table["period"] = period.label
    table["partial"] = bool(by_category["partial"].any()) if not by_category.empty else False
    return table
