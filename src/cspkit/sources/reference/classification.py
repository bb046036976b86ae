"""Area classifications kept as attributes: the ONS Rural-Urban Classification of LSOAs.

``LSOA11CD, LSOA11NM, RUC11CD, RUC11`` -> attributes ``rural_urban_2011_code`` ('C1') and
``rural_urban_2011`` ('Urban city and town') of each LSOA.
"""

from __future__ import annotations

import re

from cspkit.sources.parsed import AreaRow, table_of
from cspkit.sources.reference.gss import code_columns, is_code, name_column
from cspkit.sources.reference.result import LoadContext, LoadResult
from cspkit.sources.reference.table import Table, cell

KIND = "classification"
EXPECTED = "a Rural-Urban Classification file: a code column like LSOA11CD, and RUC11CD, RUC11"
RUC_CODE = re.compile(r"^RUC(\d\d)CD$", re.IGNORECASE)
RUC_NAME = re.compile(r"^RUC(\d\d)(NM)?$", re.IGNORECASE)


def _columns(header: list[str]) -> tuple[int | None, int | None, str | None]:
    """Indexes of the classification code and name columns, and the classification's year."""
    code = name = None
    year = None
    for index, text in enumerate(header):
        if (m := RUC_CODE.match(text)) and code is None:
            code, year = index, "20" + m.group(1)
        elif (m := RUC_NAME.match(text)) and name is None:
            name, year = index, year or "20" + m.group(1)
    return code, name, year


def matches(header: list[str]) -> bool:
    code, name, _ = _columns(header)
    return bool(code_columns(header)) and (code is not None or name is not None)


def parse(table: Table, ctx: LoadContext) -> LoadResult:
    area_col = code_columns(table.header)[0]
    area_name = name_column(table.header, area_col)
    ruc_code, ruc_name, year = _columns(table.header)
    result = LoadResult(rows_in=len(table.rows))
    seen: dict[str, int] = {}
    attributes: list[tuple[str, str, str]] = []
    areas: list[AreaRow] = []
    for line, cells in table.rows:
        code = cell(cells, area_col.index)
        values = {f"rural_urban_{year}_code": cell(cells, ruc_code),
                  f"rural_urban_{year}": cell(cells, ruc_name)}
        problem: tuple[int | None, str] | None = None
        if not is_code(code):
            problem = area_col.index, f"'{code}' is not a GSS code (a letter and 8 digits)"
        elif code in seen:
            problem = area_col.index, f"{code} is given twice (first on line {seen[code]})"
        elif not any(values.values()):
            problem = ruc_code if ruc_code is not None else ruc_name, "no classification"
        if problem:
            column = table.header[problem[0]] if problem[0] is not None else None
            result.reject(line, column, problem[1] + table.where(), table.raw(line, cells))
            continue
        seen[code] = line
        attributes += [(code, attribute, value) for attribute, value in values.items() if value]
        areas.append((code, area_col.level, cell(cells, area_name.index) if area_name else None,
                      area_col.vintage))
    result.rows_loaded = len(seen)
    result.add_table("area_attributes", table_of({"code": [a[0] for a in attributes],
                                                  "attribute": [a[1] for a in attributes],
                                                  "value": [a[2] for a in attributes]}))
    result.areas += areas
    if area_col.level == "lsoa":
        result.lsoa_vintage = area_col.vintage
    result.notes.append(f"rural-urban classification {year} of {area_col.level} "
                        f"{area_col.vintage}")
    return result
