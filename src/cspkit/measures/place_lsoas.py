"""Which LSOAs a place selects in the LSOA hierarchy: its codes of one edition, its (code,
edition) pairs, the district holding most of them, the ward of each, the police forces
covering it. Profiles and reports build their comparisons, tables and maps on these."""

from __future__ import annotations

from collections.abc import Iterable

import ibis
import pyarrow as pa

from cspkit.measures.areas import LEVEL_COLUMN, AreaSelection
from cspkit.store.listed import listed
from cspkit.store.tables import WarehouseLike, warehouse


def lsoa_codes(con: WarehouseLike, area: AreaSelection, vintage: str) -> list[str]:
    """The area's LSOA codes of edition `vintage`, sorted (a custom area: its listed codes,
    whatever their edition)."""
    if area.level == "custom":
        return list(area.lsoas)
    wh = warehouse(con)
    g = wh.hierarchy()
    chosen = g.filter(area.filter(g), g.lsoa_vintage == vintage)
    return [str(c) for c in wh.values(chosen.select("lsoa_code").distinct()
                                      .order_by("lsoa_code"))]


def lsoas_of_areas(con: WarehouseLike, level: str, codes: Iterable[str], vintage: str
                   ) -> set[str]:
    """The LSOA codes of edition `vintage` inside any of the areas of `level` (ward, lad, ...)
    whose codes are `codes`."""
    wanted = sorted(set(codes))
    if not wanted:
        return set()
    wh = warehouse(con)
    g = wh.hierarchy()
    chosen = g.filter(g[LEVEL_COLUMN[level]].isin(wanted), g.lsoa_vintage == vintage)
    return {str(c) for c in wh.values(chosen.select("lsoa_code").distinct())}


def lsoa_pairs(con: WarehouseLike, places: Iterable[AreaSelection]
               ) -> dict[AreaSelection, frozenset[tuple[str, str]]]:
    """The (LSOA code, edition) pairs of the hierarchy each place selects (as its `filter`
    does), in the order given; one query per level rather than per place."""
    wh = warehouse(con)
    g = wh.hierarchy()
    chosen = list(places)
    out: dict[AreaSelection, frozenset[tuple[str, str]]] = {}
    custom = [p for p in chosen if p.level == "custom"]
    if custom:
        # A custom area may list thousands of LSOAs (the rest of a force, say): too many to
        # write into the query.
        codes = listed(wh, "custom_lsoas", {"lsoa_code": sorted({c for p in custom
                                                                 for c in p.lsoas})},
                       {"lsoa_code": pa.string()})
        rows = wh.rows(g.filter(g.lsoa_code.isin(codes.lsoa_code))
                       .select("lsoa_code", "lsoa_vintage"))
        for place in custom:
            codes = set(place.lsoas)
            out[place] = frozenset((str(c), str(v)) for c, v in rows if c in codes)
    by_level: dict[str, list[AreaSelection]] = {}
    for place in chosen:
        if place.level != "custom":
            by_level.setdefault(place.level, []).append(place)
    for level, group in by_level.items():
        column = LEVEL_COLUMN[level]
        found: dict[str, set[tuple[str, str]]] = {}
        wanted = sorted({p.code for p in group})
        rows_of = g.filter(g[column].isin(wanted))
        for code, lsoa, edition in wh.rows(rows_of.select(   # the column is lsoa_code for LSOAs
                place=rows_of[column], lsoa_code=rows_of.lsoa_code,
                lsoa_vintage=rows_of.lsoa_vintage)):
            found.setdefault(code, set()).add((str(lsoa), str(edition)))
        for place in group:
            out[place] = frozenset(found.get(place.code, set()))
    return {place: out[place] for place in chosen}


def main_district(con: WarehouseLike, area: AreaSelection, vintage: str
                  ) -> AreaSelection | None:
    """The district holding most of the area's LSOAs of edition `vintage` (the lower code on
    a tie); None when they lie in no district the hierarchy holds."""
    wh = warehouse(con)
    g = wh.hierarchy()
    inside = g.filter(area.filter(g), g.lsoa_vintage == vintage, g.lad_code.notnull())
    counted = inside.group_by("lad_code").aggregate(name=inside.lad_name.arbitrary(),
                                                    n=inside.lsoa_code.nunique())
    rows = wh.rows(counted.order_by([ibis.desc("n"), "lad_code"]).limit(1))
    if not rows:
        return None
    code, name, _ = rows[0]
    return AreaSelection(str(code), str(name or code), "lad")


def lsoa_wards(con: WarehouseLike, area: AreaSelection, vintage: str) -> dict[str, str | None]:
    """{LSOA code: the name of its ward} for the area's LSOAs of edition `vintage`."""
    wh = warehouse(con)
    g = wh.hierarchy()
    chosen = g.filter(area.filter(g), g.lsoa_vintage == vintage)
    return {str(code): ward for code, ward in wh.rows(chosen.select("lsoa_code", "ward_name"))}
