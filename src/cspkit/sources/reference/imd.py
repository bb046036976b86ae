"""English Indices of Deprivation by LSOA (IoD Files 1, 2, 3, 5, 7, of 2019 on 2011 LSOAs and of
2025 on 2021 LSOAs), in long format. Files 4, 8 and 9 are recognised by `iod_other` and skipped.

Every 'Domain Rank', 'Domain Decile' and 'Domain Score' column becomes one (lsoa, edition,
domain) row; files that complement each other (File 2 ranks, File 5 scores) fill in the same
rows. Ranks must be whole numbers from 1 to the number of LSOAs in England, deciles 1 to 10,
scores numbers; a row failing any of them is quarantined whole.
"""

from __future__ import annotations

import re

import numpy as np
import pyarrow as pa

from cspkit.sources.parsed import table_of
from cspkit.sources.reference.domains import (
    LSOA_CODE_HEADER,
    NATIONAL_LSOAS,
    edition_of,
    header_year,
    split_domain,
)
from cspkit.sources.reference.gss import is_code
from cspkit.sources.reference.numbers import parse_number, parse_numbers, parse_whole
from cspkit.sources.reference.result import LoadContext, LoadResult
from cspkit.sources.reference.table import Table, cell, column_values

KIND = "imd"
EXPECTED = ("Indices of Deprivation by LSOA: 'LSOA code (2011)' and columns like "
            "'Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)'")
MEASURE = re.compile(r"^(rank|decile|score)\b", re.IGNORECASE)
TRANSFORMED = re.compile(r"transformed", re.IGNORECASE)

Measure = tuple[int, str, str]    # column index, domain, rank | decile | score


def measures(header: list[str]) -> list[Measure]:
    found: dict[tuple[str, str], int] = {}
    for index, text in enumerate(header):
        if TRANSFORMED.search(text):
            continue  # File 9's transformed scores are not the published scores
        split = split_domain(text)
        if split and (m := MEASURE.match(split[1])):
            found.setdefault((split[0], m.group(1).lower()), index)
    return [(index, domain, measure) for (domain, measure), index in found.items()]


def matches(header: list[str]) -> bool:
    has_lsoa = any(LSOA_CODE_HEADER.match(h) for h in header)
    return has_lsoa and bool(measures(header))


def parse(table: Table, ctx: LoadContext) -> LoadResult:
    code_index = table.column(lambda h: bool(LSOA_CODE_HEADER.match(h)))
    edition = edition_of(ctx.edition, table.file, ctx.source, table.header, table.sheet)
    vintage = header_year(table.header, LSOA_CODE_HEADER) or (
        "2021" if edition >= "2025" else "2011")
    columns = measures(table.header)
    top_rank = max(NATIONAL_LSOAS.get(edition, 0), len(table.rows))
    result = LoadResult(rows_in=len(table.rows), lsoa_vintage=vintage)
    # Whole columns at once (a national file has half a million cells); rows found bad are
    # then looked at one by one for the reason.
    parsed = {index: parse_numbers(column_values(table.rows, index))
              for index, _, _ in columns}
    good = np.ones(len(table.rows), dtype=bool)
    for index, _, measure in columns:
        good &= _valid(parsed[index], measure, top_rank)
    seen: dict[str, int] = {}
    for row, (line, cells) in enumerate(table.rows):
        code = cell(cells, code_index)
        if good[row] and is_code(code) and code not in seen:
            seen[code] = line
            continue
        good[row] = False
        column, reason = _problem(table, cells, code_index, code, seen, columns, top_rank)
        result.reject(line, column, reason + table.where(), table.raw(line, cells))
    result.rows_loaded = int(good.sum())
    codes = np.array(column_values(table.rows, code_index), dtype=object)[good]
    out: dict[str, list[object]] = {k: [] for k in ("code", "domain", "score", "rank", "decile")}
    for domain in dict.fromkeys(d for _, d, _ in columns):
        out["code"] += codes.tolist()
        out["domain"] += [domain] * len(codes)
        for measure in ("score", "rank", "decile"):
            index = next((i for i, d, m in columns if d == domain and m == measure), None)
            if index is None:
                out[measure] += [None] * len(codes)
            elif measure == "score":
                out[measure] += parsed[index][good].tolist()
            else:
                out[measure] += parsed[index][good].astype(np.int64).tolist()
    # Files complement each other (ranks from one, scores from another): the store merges.
    rows = len(out["code"])
    result.add_table("imd", table_of({
        "lsoa_code": out["code"], "lsoa_vintage": [vintage] * rows, "edition": [edition] * rows,
        "domain": out["domain"], "score": out["score"], "rank": out["rank"],
        "decile": out["decile"]}, {"score": pa.float64(), "rank": pa.int32(),
                                   "decile": pa.int32()}))
    domains = ", ".join(dict.fromkeys(d for _, d, _ in columns))
    result.notes.append(f"IoD{edition} on {vintage} LSOAs: {domains}")
    return result


def _valid(values: np.ndarray, measure: str, top_rank: int) -> np.ndarray:
    if measure == "score":
        return ~np.isnan(values)
    top = top_rank if measure == "rank" else 10
    with np.errstate(invalid="ignore"):
        return (values >= 1) & (values <= top) & (np.floor(values) == values)


def _problem(table: Table, cells: list[str], code_index: int | None, code: str,
             seen: dict[str, int], columns: list[Measure], top_rank: int
             ) -> tuple[str | None, str]:
    code_header = table.header[code_index] if code_index is not None else None
    if not is_code(code):
        return code_header, f"'{code}' is not a GSS code (a letter and 8 digits)"
    if code in seen:
        return code_header, f"{code} is given twice (first on line {seen[code]})"
    for index, _, measure in columns:
        text = cell(cells, index)
        try:
            if measure == "score":
                if parse_number(text) is None:
                    raise ValueError("no score")
            else:
                parse_whole(text, 1, top_rank if measure == "rank" else 10)
        except ValueError as exc:
            return table.header[index], f"{measure}: {exc}"
    return None, "invalid row"
