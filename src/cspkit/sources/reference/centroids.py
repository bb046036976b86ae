"""Area centroids (e.g. ONS LSOA population-weighted centroids): a code and a point.

ONS publishes them in British National Grid (``x``, ``y`` easting/northing, EPSG:27700); we keep
both the grid reference and WGS84 lon/lat, converted with pyproj.
"""

from __future__ import annotations

import re

import pyarrow as pa
from pyproj import Transformer

from cspkit.sources.parsed import AreaRow, table_of
from cspkit.sources.reference.gss import code_columns, is_code, name_column
from cspkit.sources.reference.numbers import parse_number
from cspkit.sources.reference.result import LoadContext, LoadResult
from cspkit.sources.reference.table import Table, cell

KIND = "centroids"
EXPECTED = ("a centroid file: a code column like LSOA21CD and British National Grid "
            "coordinates x, y (or easting, northing)")
EASTING = {"x", "easting", "bng_e", "x_coordinate"}
NORTHING = {"y", "northing", "bng_n", "y_coordinate"}
POPULATION_WEIGHTED = re.compile(r"pwc|population[\s_-]*weighted", re.IGNORECASE)
# Great Britain's grid extent with a margin; outside it a coordinate is not a BNG one.
EASTING_RANGE = (-100_000.0, 800_000.0)
NORTHING_RANGE = (-100_000.0, 1_400_000.0)
_TO_WGS84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


def _index(header: list[str], names: set[str]) -> int | None:
    for index, name in enumerate(header):
        if name.lower() in names:
            return index
    return None


def matches(header: list[str]) -> bool:
    return bool(code_columns(header)) and _index(header, EASTING) is not None \
        and _index(header, NORTHING) is not None


def parse(table: Table, ctx: LoadContext) -> LoadResult:
    source = ctx.source
    code_col = code_columns(table.header)[0]
    name_col = name_column(table.header, code_col)
    x_col, y_col = _index(table.header, EASTING), _index(table.header, NORTHING)
    kind = "population-weighted" if POPULATION_WEIGHTED.search(source) else "geometric"
    result = LoadResult(rows_in=len(table.rows))
    seen: dict[str, int] = {}
    codes: list[str] = []
    xs: list[float] = []
    ys: list[float] = []
    areas: list[AreaRow] = []
    for line, cells in table.rows:
        code = cell(cells, code_col.index)
        column: int | None = code_col.index
        try:
            if not is_code(code):
                raise ValueError(f"'{code}' is not a GSS code (a letter and 8 digits)")
            if code in seen:
                raise ValueError(f"{code} is given twice (first on line {seen[code]})")
            column = x_col
            x, y = _point(cell(cells, x_col), cell(cells, y_col))
        except ValueError as exc:
            name = table.header[column] if column is not None else None
            result.reject(line, name, str(exc) + table.where(), table.raw(line, cells))
            continue
        seen[code] = line
        codes.append(code)
        xs.append(x)
        ys.append(y)
        areas.append((code, code_col.level, cell(cells, name_col.index) if name_col else None,
                      code_col.vintage))
    result.rows_loaded = len(codes)
    lons, lats = _TO_WGS84.transform(xs, ys)
    double = pa.float64()
    result.add_table("area_centroids", table_of({
        "code": codes, "vintage": [code_col.vintage] * len(codes), "kind": [kind] * len(codes),
        "lon": list(lons), "lat": list(lats), "easting": xs, "northing": ys},
        {"lon": double, "lat": double, "easting": double, "northing": double}))
    result.areas += areas
    if code_col.level == "lsoa":
        result.lsoa_vintage = code_col.vintage
    result.notes.append(f"{kind} centroids of {code_col.level} {code_col.vintage}")
    return result


def _point(x_text: str, y_text: str) -> tuple[float, float]:
    x, y = parse_number(x_text), parse_number(y_text)
    if x is None or y is None:
        raise ValueError("no coordinates")
    if not (EASTING_RANGE[0] <= x <= EASTING_RANGE[1]
            and NORTHING_RANGE[0] <= y <= NORTHING_RANGE[1]):
        raise ValueError(f"({x_text}, {y_text}) is not a British National Grid easting/northing")
    return x, y
