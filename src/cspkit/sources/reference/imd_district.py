"""Indices of Deprivation district summaries (IoD File 10): one value per district, domain and
summary measure ('IMD - Rank of average score' -> domain imd, measure rank_of_average_score).

The workbook has one sheet per domain; headers name the domain before ' - ' and the sheet name
says it where a header does not ('Income scale'). Ranks must be whole numbers within the
number of districts.
"""

from __future__ import annotations

import re

import pyarrow as pa

from cspkit.sources.parsed import table_of
from cspkit.sources.reference.domains import (
    LAD_CODE_HEADER,
    LSOA_CODE_HEADER,
    NATIONAL_LADS,
    edition_of,
    split_domain,
    without_domain,
)
from cspkit.sources.reference.gss import is_code
from cspkit.sources.reference.numbers import parse_number, parse_whole
from cspkit.sources.reference.result import LoadContext, LoadResult
from cspkit.sources.reference.table import Table, cell

KIND = "imd-district"
EXPECTED = ("Indices of Deprivation district summaries: 'Local Authority District code (2019)' "
            "and columns like 'IMD - Average score', 'IMD - Rank of average score'")
SUMMARY = re.compile(r"average|rank|proportion|extent|concentration|scale", re.IGNORECASE)

Column = tuple[int, str, str]     # index, domain, measure slug


def slug(text: str) -> str:
    """'Proportion of LSOAs in most deprived 10% nationally' ->
    'proportion_of_lsoas_in_most_deprived_10pct_nationally'."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower().replace("%", "pct")).strip("_")


def columns(header: list[str], sheet: str | None = None) -> list[Column]:
    sheet_domain = split_domain(sheet)[0] if sheet and split_domain(sheet) else None
    found: list[Column] = []
    for index, text in enumerate(header):
        if LAD_CODE_HEADER.match(text) or "name" in text.lower() or not SUMMARY.search(text):
            continue
        split = split_domain(text)
        if split and split[1]:
            domain, rest = split
        elif sheet_domain:
            domain, rest = sheet_domain, without_domain(text, sheet_domain)
        else:
            continue
        if slug(rest):
            found.append((index, domain, slug(rest)))
    return found


def matches(header: list[str]) -> bool:
    has_lad = any(LAD_CODE_HEADER.match(h) for h in header)
    has_lsoa = any(LSOA_CODE_HEADER.match(h) for h in header)
    return has_lad and not has_lsoa and bool(columns(header))


def parse(table: Table, ctx: LoadContext) -> LoadResult:
    code_index = table.column(lambda h: bool(LAD_CODE_HEADER.match(h)))
    edition = edition_of(ctx.edition, table.file, ctx.source, table.header)
    found = columns(table.header, table.sheet)
    top_rank = max(NATIONAL_LADS.get(edition, 0), len(table.rows))
    result = LoadResult(rows_in=len(table.rows))
    seen: dict[str, int] = {}
    out: dict[str, list[object]] = {"code": [], "domain": [], "measure": [], "value": []}
    for line, cells in table.rows:
        code = cell(cells, code_index)
        column = code_index
        try:
            if not is_code(code):
                raise ValueError(f"'{code}' is not a GSS code (a letter and 8 digits)")
            if code in seen:
                raise ValueError(f"{code} is given twice (first on line {seen[code]})")
            values: list[tuple[str, str, float]] = []
            for index, domain, measure in found:
                column = index
                values.append((domain, measure, _value(cell(cells, index), measure, top_rank)))
        except ValueError as exc:
            header = table.header[column] if column is not None else None
            result.reject(line, header, str(exc) + table.where(), table.raw(line, cells))
            continue
        seen[code] = line
        for domain, measure, value in values:
            out["code"].append(code)
            out["domain"].append(domain)
            out["measure"].append(measure)
            out["value"].append(value)
    result.rows_loaded = len(seen)
    result.add_table("imd_district", table_of({
        "lad_code": out["code"], "edition": [edition] * len(out["code"]),
        "domain": out["domain"], "measure": out["measure"], "value": out["value"]},
        {"value": pa.float64()}))
    domains = ", ".join(dict.fromkeys(d for _, d, _ in found))
    result.notes.append(f"IoD{edition} district summaries: {domains}")
    return result


def _value(text: str, measure: str, top_rank: int) -> float:
    if measure.startswith("rank"):
        return float(parse_whole(text, 1, top_rank))
    number = parse_number(text)
    if number is None:
        raise ValueError("no value")
    return number
