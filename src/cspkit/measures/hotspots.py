"""Where events concentrate, and which issues do most harm, for an area and period.

Thin warehouse wrappers around `measures.concentration` and `measures.harm`: counts come from
the engine, the arithmetic from those modules.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from cspkit.measures.areas import AreaSelection, events_vintage
from cspkit.measures.concentration import Concentration, concentration
from cspkit.measures.counts import counts, event_scope
from cspkit.measures.harm import harm_rank, load_weights
from cspkit.measures.periods import Period
from cspkit.measures.series import _category_filter


def lsoa_counts(con: duckdb.DuckDBPyConnection, area: AreaSelection, period: Period, *,
                category: str | None = None, source: str = "police.uk") -> pd.Series:
    """Events per LSOA of the area, every LSOA listed (0 where none), indexed by LSOA code."""
    vintage = events_vintage(con, area, source)
    condition, params = area.where("g")
    scope, scope_params = event_scope(area, period, source)
    extra, extra_params = _category_filter(category)
    frame = con.execute(
        f"""WITH lsoas AS (SELECT DISTINCT g.lsoa_code FROM lsoa_geography g
                           WHERE {condition} AND g.lsoa_vintage = ?),
                 n AS (SELECT e.lsoa_code, count(*) AS count {scope}{extra} GROUP BY 1)
            SELECT l.lsoa_code, coalesce(n.count, 0) AS count
            FROM lsoas l LEFT JOIN n USING (lsoa_code) ORDER BY 1""",
        [*params, vintage, *scope_params, *extra_params]).df()
    return frame.set_index("lsoa_code")["count"]


def lsoa_concentration(con: duckdb.DuckDBPyConnection, area: AreaSelection, period: Period, *,
                       category: str | None = None, source: str = "police.uk"
                       ) -> Concentration:
    """Share of events in the top 5% and 10% of the area's LSOAs, Gini and generalized Gini,
    and the LSOAs that carry them (with names and wards in `top_places`)."""
    result = concentration(lsoa_counts(con, area, period, category=category, source=source))
    names = con.execute(
        "SELECT DISTINCT lsoa_code, lsoa_name, ward_name FROM lsoa_geography "
        "WHERE lsoa_vintage = ?", [events_vintage(con, area, source)]).df()
    top = result.top_places.merge(names, how="left", left_on="place", right_on="lsoa_code")
    object.__setattr__(result, "top_places", top.drop(columns=["lsoa_code"]))
    return result


def harm(con: duckdb.DuckDBPyConnection, area: AreaSelection, period: Period, *,
         weights: str | Path | None = None, source: str = "police.uk") -> pd.DataFrame:
    """Issues ranked by count and by harm (count x weight) side by side."""
    by_category = counts(con, area, period, source=source)
    table = harm_rank(by_category[["category", "count"]], load_weights(weights))
    table["period"] = period.label
    table["partial"] = bool(by_category["partial"].any()) if not by_category.empty else False
    return table
