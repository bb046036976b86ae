"""Population (and households) by area and year, from ONS tables as published.

Handled layouts, all recognised by a code column and a population column under any title rows:
ONS small-area estimates for LSOAs (SAPE, ``Code, Name, Mid-2018 population``), census tables
(``LSOA Code ... Persons ... Households``; the first ``Persons`` is all usual residents) and the
mid-year estimates for local authorities (``Code, Name, Geography, All ages``, where the
Geography column says each row's level). The year comes from the header, the title or the file
name. LSOA rows take the LSOA edition their codes belong to (SAPE up to mid-2020 and census 2011
are on 2011 LSOAs); other areas the edition of their codes as the file states it.

Two optional parts are kept when a table has them: persons by single year of age (the mid-year
estimates' ``0, 1, ... 89, 90+`` columns) into ``population_age``, and each area's land area
(SAPE's ``Area Sq Km``, MYE5's ``Area (sq km)``) as the attribute ``area_km2``, from which
densities are computed.
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
                        r"all usual residents|usual residents)$", re.IGNORECASE)
HOUSEHOLDS = re.compile(r"^(all )?households$", re.IGNORECASE)
# A single year of age ('0' .. '89') or the open-ended top one ('90+').
AGE = re.compile(r"^(\d{1,3})(\+)?$")
AREA_KM2 = re.compile(r"^area\s*\(?sq\.?\s*km\)?$", re.IGNORECASE)
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
    area_index = table.column(lambda h: bool(AREA_KM2.match(h)))
    ages = _age_columns(table.header)
    year = _year(table, source)
    result = LoadResult(rows_in=len(table.rows))
    seen: dict[str, int] = {}
    rows: list[tuple[str, str, float, float | None]] = []   # code, level, persons, households
    names: dict[str, str] = {}
    by_age: dict[str, list[float]] = {}
    area_km2: dict[str, float] = {}
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
            counts: list[float] = []
            for index, _, _ in ages:
                column = index
                value = parse_number(cell(cells, index))
                if value is None or value < 0:
                    raise ValueError(f"'{cell(cells, index)}' is not a population count")
                counts.append(value)
            column = area_index
            area = parse_number(cell(cells, area_index))
            if area is not None and area <= 0:
                raise ValueError(f"'{cell(cells, area_index)}' is not a land area in sq km")
        except ValueError as exc:
            header = table.header[column] if column is not None else None
            result.reject(line, header, str(exc) + table.where(), table.raw(line, cells))
            continue
        seen[code] = line
        rows.append((code, level, persons, households))
        if counts:
            by_age[code] = counts
        if area is not None:
            area_km2[code] = area
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
    if by_age:
        _add_ages(result, rows, vintages, year, ages, by_age)
    if area_km2:
        result.add_table("area_attributes", table_of({
            "code": list(area_km2), "attribute": ["area_km2"] * len(area_km2),
            "value": [repr(v) for v in area_km2.values()]}))
    areas: list[AreaRow] = [(r[0], r[1], names.get(r[0]), None) for r in rows]
    result.areas += areas
    result.rename_areas = False
    levels = sorted({r[1] for r in rows}, key=level_rank)
    result.notes.insert(0, f"population {year}: {', '.join(levels)}"
                        + (" (with households)" if households_index is not None else "")
                        + (" (by single year of age)" if by_age else "")
                        + (" (with land area)" if area_km2 else ""))
    if any(r[1] == "lsoa" for r in rows):
        result.lsoa_vintage = lsoa_vintage
    return result


def _age_columns(header: list[str]) -> list[tuple[int, int, int | None]]:
    """(column, age from, age to) of the age columns, when the header holds a whole run of
    single years from 0 (a stray numeric header is not an age table); age to None is open."""
    found = [(i, int(m.group(1)), None if m.group(2) else int(m.group(1)))
             for i, h in enumerate(header) if (m := AGE.match(h))]
    singles = sorted(a for _, a, b in found if b is not None)
    if not singles or singles != list(range(len(singles))) or len(singles) < 10:
        return []
    return found


def _add_ages(result: LoadResult, rows: list[tuple[str, str, float, float | None]],
              vintages: list[str], year: int, ages: list[tuple[int, int, int | None]],
              by_age: dict[str, list[float]]) -> None:
    columns: dict[str, list[object]] = {"code": [], "vintage": [], "year": [], "age_from": [],
                                        "age_to": [], "persons": [], "method": []}
    for (code, _, _, _), vintage in zip(rows, vintages, strict=True):
        for (_, age_from, age_to), persons in zip(ages, by_age.get(code, []), strict=True):
            for name, value in (("code", code), ("vintage", vintage), ("year", year),
                                ("age_from", age_from), ("age_to", age_to),
                                ("persons", persons), ("method", "published")):
                columns[name].append(value)
    result.add_table("population_age", table_of(columns, {
        "year": pa.int32(), "age_from": pa.int32(), "age_to": pa.int32(),
        "persons": pa.float64()}))


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
