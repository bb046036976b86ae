"""What an area's data holds, for choosing among it: every source and category with located
events in the area, and how many (a menu, not a published figure)."""

from __future__ import annotations

import pandas as pd

from cspkit.measures.areas import AreaSelection
from cspkit.store.tables import WarehouseLike, warehouse


def categories_held(con: WarehouseLike, area: AreaSelection) -> pd.DataFrame:
    """source, category, events, first_month, last_month: one row for each source and
    category with events located in the area's LSOAs, at any time held."""
    wh = warehouse(con)
    events = wh.located_events()
    events = events.filter(area.filter(events))
    return wh.frame(events.group_by(["source", "category"]).aggregate(
        events=events.count(), first_month=events.month.min(), last_month=events.month.max())
        .order_by(["source", "category"]))
