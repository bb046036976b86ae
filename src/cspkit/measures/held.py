"""What an area's data holds, for choosing among it: every source and category with located
events in the area, and how many (a menu, not a published figure)."""

from __future__ import annotations

import duckdb
import pandas as pd

from cspkit.measures.areas import AreaSelection


def categories_held(con: duckdb.DuckDBPyConnection, area: AreaSelection) -> pd.DataFrame:
    """source, category, events, first_month, last_month: one row for each source and
    category with events located in the area's LSOAs, at any time held."""
    condition, params = area.where("g")
    return con.execute(
        f"""SELECT e.source, e.category, count(*) AS events,
                   min(e.month) AS first_month, max(e.month) AS last_month
            FROM events e JOIN lsoa_geography g
              ON g.lsoa_code = e.lsoa_code AND g.lsoa_vintage = e.lsoa_vintage
            WHERE {condition}
            GROUP BY ALL ORDER BY 1, 2""", params).df()
