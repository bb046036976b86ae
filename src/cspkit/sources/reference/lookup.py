"""ONS geography lookups: areas, their editions and the hierarchy between them.

Any ONS lookup is read by its column names (``LSOA21CD, WD23CD, LAD23CD ...``, see gss.py): each
code column gives areas of one level and edition, each row links every area to each coarser one
in the same row (``method`` 'best-fit' when the file name says so). A lookup holding both
``LSOA11CD`` and ``LSOA21CD`` is the LSOA 2011 -> 2021 change lookup: it also fills
``lsoa_changes``, and its district columns are taken as those of the 2021 LSOAs.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from cspkit.sources.parsed import AreaRow, LinkRow, table_of
from cspkit.sources.reference.gss import (
    NOT_NESTED,
    GssColumn,
    code_columns,
    is_code,
    level_rank,
    name_column,
)
from cspkit.sources.reference.result import LoadContext, LoadResult
from cspkit.sources.reference.table import Table, cell

KIND = "lookup"
EXPECTED = ("an ONS lookup: two or more code columns named like LSOA21CD, WD23CD, LAD23CD, "
            "CTY23CD, RGN23CD, CTRY23CD (or LSOA11CD, LSOA21CD and CHGIND)")
BEST_FIT = re.compile(r"best[\s_-]*fit", re.IGNORECASE)
CHANGE_TYPES = {"U", "S", "M", "X"}   # unchanged, split, merged, irregular


def matches(header: list[str]) -> bool:
    return len({c.group for c in code_columns(header)}) >= 2


def _change_pair(codes: list[GssColumn]) -> tuple[GssColumn, GssColumn] | None:
    lsoa = {c.year: c for c in codes if c.level == "lsoa"}
    return (lsoa["11"], lsoa["21"]) if "11" in lsoa and "21" in lsoa else None


class _Column(NamedTuple):
    index: int
    rank: int
    level: str
    vintage: str
    name_index: int | None


def parse(table: Table, ctx: LoadContext) -> LoadResult:
    codes = code_columns(table.header)
    columns = []
    for c in codes:
        name_col = name_column(table.header, c)
        columns.append(_Column(c.index, level_rank(c.level), c.level, c.vintage,
                               name_col.index if name_col else None))
    # Every child -> coarser parent pair of columns, worked out once for all rows. Where a
    # level comes in two editions (LSOA 2011 and 2021) the coarser columns describe the newer
    # one: an old LSOA may straddle the newer districts.
    newest = {c.level: c.vintage for c in sorted(columns, key=lambda c: c.vintage)}
    pairs = [(child, parent) for child in columns for parent in columns
             if parent.rank > child.rank and (child.level, parent.level) not in NOT_NESTED
             and child.vintage == newest[child.level]]
    method = "best-fit" if BEST_FIT.search(ctx.source) else "official"
    pair = _change_pair(codes)
    change_col = table.column(lambda h: h.upper() == "CHGIND") if pair else None
    result = LoadResult(rows_in=len(table.rows))
    areas: list[AreaRow] = []
    links: list[LinkRow] = []
    changes: list[tuple[str, str, str]] = []
    for line, cells in table.rows:
        values = {c.index: cell(cells, c.index) for c in codes}
        problem = _problem(table, codes, values, cells, change_col, pair)
        if problem:
            result.reject(line, problem[0], problem[1] + table.where(), table.raw(line, cells))
            continue
        result.rows_loaded += 1
        held = _held(columns, values)
        for c in held:
            areas.append((values[c.index], c.level, cell(cells, c.name_index) or None,
                          c.vintage))
        for child, parent in pairs:
            if child in held and parent in held:
                links.append((values[child.index], child.vintage, values[parent.index],
                              parent.level, parent.vintage, method))
        if pair:
            changes.append((values[pair[0].index], values[pair[1].index],
                            cell(cells, change_col).upper()))
    result.areas += areas
    result.links += links
    if changes:
        # Without a CHGIND column the store works the change type out from the pairs.
        result.add_table("lsoa_changes", table_of({"lsoa11": [c[0] for c in changes],
                                                   "lsoa21": [c[1] for c in changes],
                                                   "change": [c[2] for c in changes]}))
        result.notes.append("LSOA 2011 -> 2021 changes")
    elif codes[0].level == "lsoa":
        result.lsoa_vintage = codes[0].vintage
    levels = " -> ".join(dict.fromkeys(f"{c.level} {c.vintage}" for c in codes))
    result.notes.append(f"{method} lookup: {levels}")
    return result


def _problem(table: Table, codes: list[GssColumn], values: dict[int, str], cells: list[str],
             change_col: int | None, pair: tuple[GssColumn, GssColumn] | None
             ) -> tuple[str, str] | None:
    for required in pair or (codes[0],):
        if not values[required.index]:
            return table.header[required.index], f"no {required.level} code"
    for c in codes:
        value = values[c.index]
        if value and not is_code(value):
            return table.header[c.index], f"'{value}' is not a GSS code (a letter and 8 digits)"
    if change_col is not None and cell(cells, change_col).upper() not in CHANGE_TYPES:
        return (table.header[change_col],
                f"change indicator '{cell(cells, change_col)}' is not one of U, S, M, X")
    return None


def _held(columns: list[_Column], values: dict[int, str]) -> list[_Column]:
    """The columns whose code this row gives. A code in columns of two levels (regions
    outside England repeat the country code) belongs to the coarser one."""
    filled = [c for c in columns if values[c.index]]
    if len({values[c.index] for c in filled}) == len(filled):
        return filled
    owner: dict[str, int] = {}
    for c in filled:
        owner[values[c.index]] = max(owner.get(values[c.index], -1), c.rank)
    return [c for c in filled if owner[values[c.index]] == c.rank]
