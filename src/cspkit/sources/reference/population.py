"""Population (and households) by area and year, from ONS tables as published.

Handled layouts, all recognised by a code column and a population column under any title rows:
ONS small-area estimates for LSOAs (SAPE, ``Code, Name, Mid-2018 population``), census tables
(``LSOA Code ... Persons ... Households``; the first ``Persons`` is all usual residents) and the
mid-year estimates for local authorities (``Code, Name, Geography, All ages``, where the
Geography column says each row's level), and the Indices of Deprivation's population denominators
(IoD File 6, ``LSOA code (2011) ... Total population: mid 2015 (excluding prisoners)``; its age
groups are not stored). The year comes from the header, the title or the file
name. LSOA rows take the LSOA edition their codes belong to (SAPE up to mid-2020 and census 2011
are on 2011 LSOAs); other areas the edition of their codes as the file states it.
"""

from __future__ import annotations

import re

import pyarrow as pa

from cspkit.errors import InputError
from cspkit.sources.parsed import AreaRow, HeldGeography, table_of
from cspkit.sources.reference.gss import is_code, level_of_code, level_rank, parse_column
from cspkit.sources.reference.numbers import parse_number
from cspkit.sources.reference.result import LoadContext, LoadResult
from cspkit.sources.reference.table import Table, cell, year_in

KIND = "population"
EXPECTED = ("a population table: a code column (Code, LSOA Code, LSOA11CD ...) and a "
            "population column (Mid-2018 population, All ages, Persons ...)")
POPULATION = re.compile(r"^(mid-?\d{4} population|all ages|all persons|persons|population|"
                        r"all usual residents|usual residents|"
                        # IoD File 6: 'Total population: mid 2015 (excluding prisoners)'
                        r"total population:? mid[\s-]?\d{4}(?: \(excluding prisoners\))?)$",
                        re.IGNORECASE)
# IoD File 6 also gives age groups; the population table holds totals only.
AGE_GROUP = re.compile(r"^(dependent children|population aged|older population|working age)",
                       re.IGNORECASE)
HOUSEHOLDS = re.compile(r"^(all )?households$", re.IGNORECASE)
CODE_HEADER = re.compile(r"\bcodes?\b", re.IGNORECASE)
MID_YEAR = r"mid[\s_-]?(\d{4})"
CENSUS_YEAR = r"census[\s_-]*(\d{4})"
# "...using April 2020 local authority district codes", "ukmidyearestimates20192020ladcodes"
LAD_EDITION = r"(\d{4})[\s_-]*(?:local authority district codes|ladcodes)"
# The ONS mid-year estimates' Geography column -> level.
GEOGRAPHY_LEVEL = {
    "country": "country", "region": "region", "county": "county",
    "metropolitan county": "county", "unitary authority": "lad",
    "non-metropolitan district": "lad", "metropolitan district": "lad",
    "london borough": "lad", "council area": "lad", "local government district": "lad",
}
_LEVEL_WORDS = [("lsoa", "lsoa"), ("msoa", "msoa"), ("ward", "ward"),
                ("local authority", "lad"), ("lad", "lad"), ("la", "lad"), ("county", "county"),
                ("region", "region"), ("country", "country")]


def _code_column(header: list[str]) -> tuple[int, str | None, str | None] | None:
    """The column holding each row's own area code, with its level and edition if the header
    says them. A plain 'Code' column wins; else the finest named one (the census table also
    has region, district and MSOA codes beside the LSOA's)."""
    named: list[tuple[int, int, str, str | None]] = []
    for index, text in enumerate(header):
        gss = parse_column(text, index)
        if gss and gss.part == "CD":
            named.append((level_rank(gss.level), index, gss.level, gss.vintage))
            continue
        if not CODE_HEADER.search(text):
            continue
        words = text.lower()
        level = next((lvl for word, lvl in _LEVEL_WORDS if re.search(rf"\b{word}\b", words)),
                     None)
        if level is None:
            return index, None, None
        year = year_in(text, r"\((\d{4})")
        named.append((level_rank(level), index, level, str(year) if year else None))
    if not named:
        return None
    _, index, level, vintage = min(named)
    return index, level, vintage


def matches(header: list[str]) -> bool:
    return _code_column(header) is not None and any(POPULATION.match(h) for h in header)


def preferred_sheets(names: list[str]) -> list[str]:
    """Of the sheets that look like population tables, the one for all persons."""
    def score(name: str) -> int:
        lower = name.lower()
        return (2 if "person" in lower else 0) - (2 if "male" in lower else 0)
    return [max(names, key=score)] if names else []


def parse(table: Table, ctx: LoadContext) -> LoadResult:
    source = ctx.source
    found = _code_column(table.header)
    if found is None:
        raise InputError(table.file, "no area code column", expected=EXPECTED)
    code_index, column_level, column_vintage = found
    name_index = code_index + 1 if "name" in cell(table.header, code_index + 1).lower() else None
    persons_index = table.column(lambda h: bool(POPULATION.match(h)))
    households_index = table.column(lambda h: bool(HOUSEHOLDS.match(h)))
    geography_index = table.column(lambda h: h.rstrip("0123456789").lower() == "geography")
    year = _year(table, source)
    result = LoadResult(rows_in=len(table.rows))
    seen: dict[str, int] = {}
    rows: list[tuple[str, str, float, float | None]] = []   # code, level, persons, households
    names: dict[str, str] = {}
    for line, cells in table.rows:
        code = cell(cells, code_index)
        column: int | None = code_index
        try:
            if not is_code(code):
                raise ValueError(f"'{code}' is not a GSS code (a letter and 8 digits)")
            if code in seen:
                raise ValueError(f"{code} is given twice (first on line {seen[code]})")
            level = (GEOGRAPHY_LEVEL.get(cell(cells, geography_index).lower())
                     or level_of_code(code) or column_level)
            if level is None:
                raise ValueError(f"cannot tell what kind of area {code} is")
            column = persons_index
            persons = parse_number(cell(cells, persons_index))
            if persons is None or persons < 0:
                raise ValueError(f"'{cell(cells, persons_index)}' is not a population count")
            column = households_index
            households = parse_number(cell(cells, households_index))
            if households is not None and households < 0:
                raise ValueError(f"'{cell(cells, households_index)}' is not a household count")
        except ValueError as exc:
            header = table.header[column] if column is not None else None
            result.reject(line, header, str(exc) + table.where(), table.raw(line, cells))
            continue
        seen[code] = line
        rows.append((code, level, persons, households))
        if name_index is not None and cell(cells, name_index):
            names[code] = cell(cells, name_index)
    result.rows_loaded = len(rows)
    lsoa_vintage = _lsoa_vintage(ctx.held, [r[0] for r in rows if r[1] == "lsoa"], column_level,
                                 column_vintage, year, result)
    other_vintage = column_vintage or _edition_in(table, source) or str(year)
    vintages = [lsoa_vintage if r[1] == "lsoa" else other_vintage for r in rows]
    result.add_table("population", table_of({
        "code": [r[0] for r in rows], "vintage": vintages, "year": [year] * len(rows),
        "persons": [r[2] for r in rows], "households": [r[3] for r in rows],
        "method": ["published"] * len(rows),
    }, {"year": pa.int32(), "persons": pa.float64(), "households": pa.float64()}))
    areas: list[AreaRow] = [(r[0], r[1], names.get(r[0]), None) for r in rows]
    result.areas += areas
    result.rename_areas = False
    levels = sorted({r[1] for r in rows}, key=level_rank)
    result.notes.insert(0, f"population {year}: {', '.join(levels)}"
                        + (" (with households)" if households_index is not None else ""))
    if any(r[1] == "lsoa" for r in rows):
        result.lsoa_vintage = lsoa_vintage
    ages = [h for h in table.header if AGE_GROUP.match(h)]
    if ages:
        result.notes.append(f"total population only: {len(ages)} age-group columns not stored "
                            "(the warehouse holds total persons)")
    return result


def _year(table: Table, source: str) -> int:
    """From the population header ('Mid-2018 population'), else the titles or sheet name
    ('... mid-2019'), else the file name ('mid-2017', 'census_2011')."""
    texts = [cell(table.header, table.column(lambda h: bool(POPULATION.match(h))))]
    texts += table.title + [table.sheet or "", source]
    for text in texts:
        for pattern in (MID_YEAR, CENSUS_YEAR):
            year = year_in(text, pattern)
            if year:
                return year
    raise InputError(table.file, "cannot tell which year this population is for",
                     expected="'Mid-YYYY' in the header, title or sheet name, or a file name "
                              "with mid-YYYY or census_YYYY")


def _edition_in(table: Table, source: str) -> str | None:
    for text in table.title + [source]:
        year = year_in(text, LAD_EDITION)
        if year:
            return str(year)
    return None


def _lsoa_vintage(held: HeldGeography, codes: list[str], column_level: str | None,
                  column_vintage: str | None, year: int, result: LoadResult) -> str:
    """The LSOA edition of the codes: as the column names it (LSOA11CD), else the edition
    whose codes they match in the warehouse, else 2011 for years before 2021."""
    if column_level == "lsoa" and column_vintage in ("2011", "2021"):
        return column_vintage
    if codes:
        editions = [held.vintages.get(code, frozenset()) for code in set(codes)]
        only11 = sum(1 for e in editions if "2011" in e and "2021" not in e)
        only21 = sum(1 for e in editions if "2021" in e and "2011" not in e)
        if only11 > only21:
            return "2011"
        if only21 > only11:
            return "2021"
    guess = "2011" if year <= 2020 else "2021"
    if codes:
        result.notes.append(f"LSOA edition {guess} assumed from the year (load the LSOA "
                            "lookups first to check it against the codes)")
    return guess
