"""Events counted for many places at once, and by LSOA within one: the counts a place profile
compares (the area, its district, county and force, the rest of each, similar wards) come
from one GROUP BY over the events joined to every place's (LSOA, edition) pairs, not a query
per place."""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import ibis.expr.types as ir
import pyarrow as pa

from cspkit.measures.areas import AreaSelection
from cspkit.measures.counts import period_events
from cspkit.measures.periods import Period
from cspkit.store.listed import listed
from cspkit.store.tables import Warehouse, WarehouseLike, warehouse

MEMBERS = "place_members"
MEMBER_TYPES = {"place": pa.int64(), "lsoa_code": pa.string(), "lsoa_vintage": pa.string()}
_BUILT: weakref.WeakKeyDictionary[Warehouse, dict[tuple[str, int, int, bool], ir.Table]] = (
    weakref.WeakKeyDictionary())


def place_counts(con: WarehouseLike, places: Mapping[AreaSelection, frozenset[tuple[str, str]]],
                 first_year: int, last_year: int, *, by_month: bool = False,
                 source: str = "police.uk") -> dict[AreaSelection, dict[Any, dict[str, int]]]:
    """Located events of `source` from `first_year` to `last_year` by place, year (or month,
    as a date) and category: {place: {year or month: {category: count}}}. `places` maps each
    place to its (LSOA code, edition) pairs (`place_lsoas.lsoa_pairs`); a pair in several
    places counts in each."""
    order = list(places)
    out: dict[AreaSelection, dict[Any, dict[str, int]]] = {p: {} for p in order}
    members = [(i, code, edition) for i, place in enumerate(order)
               for code, edition in sorted(places[place])]
    if not members:
        return out
    wh = warehouse(con)
    # The membership travels as a table of its own: a national force's places list
    # thousands of LSOAs, too many to write into the query.
    membership = listed(wh, MEMBERS, {"place": [m[0] for m in members],
                                      "lsoa_code": [m[1] for m in members],
                                      "lsoa_vintage": [m[2] for m in members]}, MEMBER_TYPES)
    counted = _counted(wh, membership, source, first_year, last_year, by_month)
    for i, when_, category, n in wh.rows(counted):
        if by_month:   # engines return the month as a date or a timestamp
            key = when_.date() if isinstance(when_, datetime) else when_
        else:
            key = int(when_)
        out[order[i]].setdefault(key, {})[str(category)] = int(n)
    return out


def _counted(wh: Warehouse, membership: ir.Table, source: str, first_year: int, last_year: int,
             by_month: bool) -> ir.Table:
    """The query of `place_counts` over the places listed in `membership` (the same table
    each time on one warehouse: built once per warehouse and question, as building its joins
    costs more than DuckDB takes to answer it)."""
    built = _BUILT.setdefault(wh, {})
    key = (source, first_year, last_year, by_month)
    if key in built:
        return built[key]
    # Pairs the hierarchy holds (its key), so the events counted are those `located_events`
    # gives, without joining every event to the hierarchy.
    g = wh.hierarchy()
    pairs = membership.select("lsoa_code", "lsoa_vintage").distinct()
    pairs = pairs.join(g.select("lsoa_code", "lsoa_vintage"), ["lsoa_code", "lsoa_vintage"])
    events = wh.events()
    events = events.filter(events.source == source,
                           events.month.between(date(first_year, 1, 1), date(last_year, 12, 31)))
    events = events.join(pairs, ["lsoa_code", "lsoa_vintage"])
    # Counted by LSOA first, then summed by place: places nest (a ward in its district in
    # its force), so joining events to every place's pairs would copy each event per place.
    by_lsoa = events.group_by(
        "lsoa_code", "lsoa_vintage", "category",
        when=events.month if by_month else events.month.year()).aggregate(n=events.count())
    joined = by_lsoa.join(membership, ["lsoa_code", "lsoa_vintage"])
    counted = joined.group_by("place", "when", "category").aggregate(n=joined.n.sum())
    if len(built) >= 64:
        built.clear()
    built[key] = counted
    return counted


def lsoa_counts(con: WarehouseLike, area: AreaSelection, period: Period, *,
                source: str = "police.uk", excluding: str | None = None) -> dict[str, int]:
    """{LSOA code: located events of `source` in `period`} for the area's LSOAs with any;
    events of the category `excluding` left out (events with no category kept)."""
    wh = warehouse(con)
    events = period_events(wh, area, period, source)
    if excluding is not None:
        events = events.filter(~events.category.identical_to(excluding))
    counted = events.group_by("lsoa_code").aggregate(n=events.count())
    return {str(code): int(n) for code, n in wh.rows(counted)}
