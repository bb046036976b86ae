"""Population (and households) by area and year, from ONS tables as published.

Handled layouts, all recognised by a code column and a population column under any title rows:
ONS small-area estimates for LSOAs (SAPE, ``Code, Name, Mid-2018 population``; on 2021 LSOAs
``LAD 2021 Code ... LSOA 2021 Code, LSOA 2021 Name, Total, F0 ... M90`` with one sheet per year,
or broad age bands ``F0 to 15 ... M65 and over``), census tables (``LSOA Code ... Persons ...
Households``; the first ``Persons`` is all usual residents) and the mid-year estimates for local
authorities (``Code, Name, Geography, All ages, 0 ... 90+``, where the Geography column says each
row's level, or one column per year: ``Code, Name, Geography, Mid-2022, Mid-2021 ...``). The
year comes from the header, the sheet name, the title or the file name. LSOA rows take the LSOA
edition their codes belong to (SAPE up to mid-2020 and census 2011 are on 2011 LSOAs, later
SAPE on 2021 LSOAs); other areas the edition of their codes as the file states it. The Indices of
Deprivation's population denominators (IoD File 6, ``LSOA code (2011) ... Total population: mid
2015 (excluding prisoners)``) load as totals; their age groups are not stored.

Two optional parts are kept when a table has them: residents by age into `population_age`
(single years of age as published, both sexes added; broad bands as published), and each area's
land area (SAPE's ``Area Sq Km``, MYE5's ``Area (sq km)``) as the attribute ``area_km2``, from
which densities are computed.
"""

from __future__ import annotations

import re

import pyarrow as pa

from cspkit.errors import InputError
from cspkit.sources.parsed import AreaRow, HeldGeography, table_of
from cspkit.sources.reference.gss import (
    clean_header,
    is_code,
    level_of_code,
    level_rank,
    parse_column,
)
from cspkit.sources.reference.numbers import parse_number
from cspkit.sources.reference.result import LoadContext, LoadResult
from cspkit.sources.reference.table import Sheet, Table, cell, find_header, year_in

KIND = "population"
EXPECTED = ("a population table: a code column (Code, LSOA Code, LSOA 2021 Code, LSOA11CD ...) "
            "and a population column (Mid-2018 population, All ages, Total, Persons ...) or "
            "one column per year (Mid-2022, Mid-2021 ...)")
POPULATION = re.compile(r"^(mid-?\d{4} population|all ages|all persons|persons|population|"
                        r"all usual residents|usual residents|total|"
                        # IoD File 6: 'Total population: mid 2015 (excluding prisoners)'
                        r"total population:? mid[\s-]?\d{4}(?: \(excluding prisoners\))?)$",
                        re.IGNORECASE)
# IoD File 6 also gives age groups, in bands population_age does not take.
AGE_GROUP = re.compile(r"^(dependent children|population aged|older population|working age)",
                       re.IGNORECASE)
# One column per year: the mid-year estimates' time series (MYE4).
YEAR_COLUMN = re.compile(r"^mid[\s_-]?(\d{4})$", re.IGNORECASE)
HOUSEHOLDS = re.compile(r"^(all )?households$", re.IGNORECASE)
AREA_KM2 = re.compile(r"^area\s*\(?sq\.?\s*km\)?$", re.IGNORECASE)
CODE_HEADER = re.compile(r"\bcodes?\b", re.IGNORECASE)
MID_YEAR = r"mid[\s_-]?(\d{4})"
CENSUS_YEAR = r"census[\s_-]*(\d{4})"
# "...using April 2020 local authority district codes", "ukmidyearestimates20192020ladcodes"
LAD_EDITION = r"(\d{4})[\s_-]*(?:local authority district codes|ladcodes)"
# Tables shaped like population tables that hold something else (MYE6: median age).
NOT_PERSONS = re.compile(r"median age|people per|per sq", re.IGNORECASE)
# Age columns: '0' ... '90+' (MYE2), 'F0' ... 'M90' (SAPE by single year; 90 means 90 and over),
# 'F0 to 15', 'M65 and over' (SAPE broad ages).
SINGLE_AGE = re.compile(r"^([FM])?\s*(\d{1,3})\s*(\+|and over|plus)?$", re.IGNORECASE)
AGE_BAND = re.compile(r"^([FM])?\s*(\d{1,3})\s*(?:to|-)\s*(\d{1,3})$", re.IGNORECASE)
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

Band = tuple[int, int | None]


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
        # 'LSOA (2011) Code', 'LSOA 2021 Code'
        year = year_in(text, r"\((\d{4})") or year_in(text, r"\b((?:19|20)\d{2})\b")
        named.append((level_rank(level), index, level, str(year) if year else None))
    if not named:
        return None
    _, index, level, vintage = min(named)
    return index, level, vintage


def _year_columns(header: list[str]) -> dict[int, int]:
    found: dict[int, int] = {}
    for index, text in enumerate(header):
        match = YEAR_COLUMN.match(text)
        if match:
            found[index] = int(match.group(1))
    return found


def matches(header: list[str]) -> bool:
    return _code_column(header) is not None and (
        any(POPULATION.match(h) for h in header) or bool(_year_columns(header)))


def preferred_sheets(heads: list[Sheet]) -> list[str]:
    """Of the sheets that look like population tables, those to load: one sheet per year when
    the workbook has them ('Mid-2021 LSOA 2021', 'Mid-2022 LSOA 2021'); else the one for all
    persons, with any sheet of one column per year beside it (MYE2 and MYE4). Tables of
    something else shaped alike (median age) are left out."""
    usable: list[Sheet] = []
    for sheet in heads:
        header = find_header(sheet, matches)
        title = " ".join(" ".join(c) for _, c in sheet.rows[:header or 0])
        if sheet.name is not None and not NOT_PERSONS.search(title):
            usable.append(sheet)
    names = [s.name for s in usable if s.name is not None]

    def score(name: str) -> int:
        lower = name.lower()
        return (2 if "person" in lower else 0) - (2 if "male" in lower else 0)

    by_year: dict[int, str] = {}
    for name in names:
        year = year_in(name, MID_YEAR)
        if year is not None and score(name) >= 0:
            by_year.setdefault(year, name)
    if len(by_year) > 1:
        return [by_year[y] for y in sorted(by_year)]
    series = [s.name for s in usable if s.name is not None and _is_series(s)]
    single = [n for n in names if n not in series]
    chosen = [max(single, key=score)] if single else []
    return chosen + [n for n in series if score(n) >= 0][:1]


def _is_series(sheet: Sheet) -> bool:
    index = find_header(sheet, matches)
    if index is None:
        return False
    header = [clean_header(c) for c in sheet.rows[index][1]]
    return not any(POPULATION.match(h) for h in header) and bool(_year_columns(header))


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
    # (column, year): one population column, or one per year.
    if persons_index is not None:
        values = [(persons_index, _year(table, source))]
        ages = _age_columns(table.header, persons_index)
    else:
        values = sorted(_year_columns(table.header).items(), key=lambda c: -c[1])
        households_index, ages = None, {}
    years = [y for _, y in values]
    area_index = table.column(lambda h: bool(AREA_KM2.match(h)))
    area_km2: dict[str, float] = {}
    result = LoadResult(rows_in=len(table.rows))
    seen: dict[str, int] = {}
    # code, level, {year: persons}, households
    rows: list[tuple[str, str, dict[int, float], float | None]] = []
    age_rows: list[tuple[str, int, int | None, float]] = []
    names: dict[str, str] = {}
    ages_missing = 0
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
            persons: dict[int, float] = {}
            for column, year in values:
                text = cell(cells, column)
                if len(values) > 1 and text in ("", "-", ":", "x", "[x]", "z", "[z]"):
                    continue   # a series has no figure for years before an area existed
                number = parse_number(text)
                if number is None or number < 0:
                    raise ValueError(f"'{text}' is not a population count")
                persons[year] = number
            column = households_index
            households = parse_number(cell(cells, households_index))
            if households is not None and households < 0:
                raise ValueError(f"'{cell(cells, households_index)}' is not a household count")
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
        if area is not None:
            area_km2[code] = area
        if name_index is not None and cell(cells, name_index):
            names[code] = cell(cells, name_index)
        if ages:
            banded = _bands(cells, ages)
            if banded is None:
                ages_missing += 1
            else:
                age_rows += [(code, lo, hi, n) for (lo, hi), n in banded.items()]
    result.rows_loaded = len(rows)
    lsoa_vintage = _lsoa_vintage(ctx.held, [r[0] for r in rows if r[1] == "lsoa"], column_level,
                                 column_vintage, max(years, default=0), result)
    # A series is on the boundaries of its latest year (or later).
    other_vintage = column_vintage or _edition_in(table, source) or str(max(years, default=0))
    vintage_of = {r[0]: lsoa_vintage if r[1] == "lsoa" else other_vintage for r in rows}
    flat = [(r[0], year, n, r[3]) for r in rows for year, n in r[2].items()]
    result.add_table("population", table_of({
        "code": [f[0] for f in flat], "vintage": [vintage_of[f[0]] for f in flat],
        "year": [f[1] for f in flat], "persons": [f[2] for f in flat],
        "households": [f[3] for f in flat], "method": ["published"] * len(flat),
    }, {"year": pa.int32(), "persons": pa.float64(), "households": pa.float64()}))
    if age_rows:
        result.add_table("population_age", table_of({
            "code": [a[0] for a in age_rows], "vintage": [vintage_of[a[0]] for a in age_rows],
            "year": [years[0]] * len(age_rows), "age_from": [a[1] for a in age_rows],
            "age_to": [a[2] for a in age_rows], "persons": [a[3] for a in age_rows],
        }, {"year": pa.int32(), "age_from": pa.int32(), "age_to": pa.int32(),
            "persons": pa.float64()}))
    if area_km2:
        result.add_table("area_attributes", table_of({
            "code": list(area_km2), "attribute": ["area_km2"] * len(area_km2),
            "value": [repr(v) for v in area_km2.values()]}))
    areas: list[AreaRow] = [(r[0], r[1], names.get(r[0]), None) for r in rows]
    result.areas += areas
    result.rename_areas = False
    levels = sorted({r[1] for r in rows}, key=level_rank)
    shown = ", ".join(str(y) for y in sorted(years))
    result.notes.insert(0, f"population {shown}: {', '.join(levels)}"
                        + (" (with households)" if households_index is not None else "")
                        + (" (with residents by age)" if age_rows else "")
                        + (" (with land area)" if area_km2 else ""))
    if ages_missing:
        result.notes.append(f"{ages_missing} area(s) without age bands (a blank or bad age "
                            f"cell){table.where()}")
    if any(r[1] == "lsoa" for r in rows):
        result.lsoa_vintage = lsoa_vintage
    ages = [h for h in table.header if AGE_GROUP.match(h)]
    if ages:
        result.notes.append(f"total population only: {len(ages)} age-group columns not stored "
                            "(the warehouse holds total persons)")
    return result


def _age_columns(header: list[str], after: int) -> dict[int, Band]:
    """Age columns right of the population column: {column: (from, to)}, to None = and over.
    Columns by sex (F0, M0) are used only when no column is for both sexes."""
    both: dict[int, Band] = {}
    by_sex: dict[int, Band] = {}
    for index in range(after + 1, len(header)):
        text = header[index]
        band = AGE_BAND.match(text)
        single = SINGLE_AGE.match(text)
        if band:
            sex, age = band.group(1), (int(band.group(2)), int(band.group(3)))
        elif single:
            sex = single.group(1)
            start = int(single.group(2))
            age = (start, None if single.group(3) else start)
        else:
            continue
        (by_sex if sex else both)[index] = age
    columns = both or by_sex
    ordered = sorted(set(columns.values()), key=lambda b: b[0])
    # Usable only if the ages run from 0 without gaps or overlaps.
    expected = 0
    for lo, hi in ordered:
        if lo != expected:
            return {}
        expected = (hi if hi is not None else lo) + 1
    top = ordered[-1][0] if ordered else None
    # The last single year stands for itself and older ('90' in SAPE is 90 and over).
    return {i: (lo, None if lo == top else hi) for i, (lo, hi) in columns.items()}


def _bands(cells: list[str], ages: dict[int, Band]) -> dict[Band, float] | None:
    """Persons by age for one row, single years or bands as published (columns by sex added
    together). None if an age cell is blank or not a count."""
    summed: dict[Band, float] = {}
    for index, band in ages.items():
        number = parse_number(cell(cells, index))
        if number is None or number < 0:
            return None
        summed[band] = summed.get(band, 0.0) + number
    return summed


def _year(table: Table, source: str) -> int:
    """From the population header ('Mid-2018 population'), else the sheet name ('Mid-2022
    LSOA 2021'), the titles ('... mid-2019'), else the file name ('mid-2017', 'census_2011')."""
    texts = [cell(table.header, table.column(lambda h: bool(POPULATION.match(h))))]
    texts += [table.sheet or ""] + table.title + [source]
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
    """The LSOA edition of the codes: as the column names it (LSOA11CD, LSOA 2021 Code), else
    the edition whose codes they match in the warehouse, else 2011 for years before 2021."""
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
