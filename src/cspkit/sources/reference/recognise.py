"""Saying what a reference file is from its content, before anything is loaded.

Tables (CSV or workbook sheets) are recognised by a header row among their first rows, tried
against each kind in an order where the more specific layouts come first (a population table
also has code columns, as a lookup does). Boundaries are recognised by their format and a code
property. A file nothing recognises fails with the headers each kind expects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType

from python_calamine import CalamineSheet

from cspkit.errors import InputError, NotLoaded, UnrecognisedFile
from cspkit.sources.inputs import InputFile, looks_like_html
from cspkit.sources.reference import (
    boundaries,
    centroids,
    classification,
    imd,
    imd_district,
    iod_other,
    lookup,
    population,
)
from cspkit.sources.reference.gss import clean_header
from cspkit.sources.reference.table import (
    HEADER_SEARCH_ROWS,
    Sheet,
    find_header,
    head,
    head_csv,
    is_workbook,
    sheet_rows,
    workbook_sheets,
)

# Most specific first.
TABLE_KINDS: list[ModuleType] = [imd_district, imd, classification, centroids, population, lookup]
# What a user may name with --kind, and the layouts each covers.
KIND_CHOICES: dict[str, list[ModuleType]] = {
    "lookup": [lookup],
    "boundaries": [boundaries],
    "population": [population],
    "imd": [imd_district, imd],
    "centroids": [centroids],
    "classification": [classification],
}
MODULES: dict[str, ModuleType] = {m.KIND: m for m in [*TABLE_KINDS, boundaries]}


@dataclass(frozen=True)
class Recognised:
    file: InputFile
    kind: str                       # a loader's KIND: lookup, imd-district, boundaries ...
    # Workbook sheets to load, as parsed while recognising them.
    sheets: dict[str, CalamineSheet] = field(default_factory=dict, compare=False)


def recognise(file: InputFile, kind: str | None = None) -> Recognised:
    candidates = KIND_CHOICES[kind] if kind else [*TABLE_KINDS, boundaries]
    if boundaries.is_boundary_file(file):
        return _recognise_boundaries(file, candidates)
    data = head(file)
    if not data.strip():
        raise InputError(file.display, "the file is empty", expected=_expected(candidates))
    if looks_like_html(data):
        raise InputError(file.display, "this is an HTML page, not data (often an error page "
                         "saved in place of a download)", expected=_expected(candidates))
    tables = [m for m in candidates if m is not boundaries]
    if is_workbook(file):
        return _recognise_workbook(file, tables, candidates)
    sheet = head_csv(file)
    for module in tables:
        if find_header(sheet, module.matches) is not None:
            return Recognised(file, module.KIND)
    _not_loaded(file, [sheet], tables)
    raise _unrecognised(file, sheet, candidates)


def _not_loaded(file: InputFile, heads: list[Sheet], tables: list[ModuleType]) -> None:
    """Raise NotLoaded for an Indices of Deprivation file recognised but not held."""
    if imd not in tables:
        return
    for sheet in heads:
        for _, cells in sheet.rows[:HEADER_SEARCH_ROWS]:
            what = iod_other.describe([clean_header(c) for c in cells])
            if what:
                raise NotLoaded(file.display, what)


def _recognise_boundaries(file: InputFile, candidates: list[ModuleType]) -> Recognised:
    if boundaries not in candidates:
        raise InputError(file.display, "this is a boundary file", expected=_expected(candidates))
    data = head(file, 4096)
    if not data.strip():
        raise InputError(file.display, "the file is empty", expected=boundaries.EXPECTED)
    if looks_like_html(data):
        raise InputError(file.display, "this is an HTML page, not boundaries (often an error "
                         "page saved in place of a download)", expected=boundaries.EXPECTED)
    fields = boundaries.fields(file)
    if not boundaries.matches(fields):
        raise UnrecognisedFile(file.display, "no area code among the features' properties "
                         f"({', '.join(fields[:15]) or 'none'})", expected=boundaries.EXPECTED)
    return Recognised(file, boundaries.KIND)


def _recognise_workbook(file: InputFile, tables: list[ModuleType],
                        candidates: list[ModuleType]) -> Recognised:
    parsed = workbook_sheets(file)
    heads = [sheet_rows(sheet, name, limit=HEADER_SEARCH_ROWS) for name, sheet in parsed.items()]
    for module in tables:
        names = [h.name for h in heads
                 if h.name is not None and find_header(h, module.matches) is not None]
        if names:
            if module is population:
                names = population.preferred_sheets([h for h in heads if h.name in names])
            return Recognised(file, module.KIND, {name: parsed[name] for name in names})
    _not_loaded(file, heads, tables)
    first = next((h for h in heads if h.rows), Sheet(None, []))
    raise _unrecognised(file, first, candidates)


def _unrecognised(file: InputFile, sheet: Sheet, candidates: list[ModuleType]
                  ) -> UnrecognisedFile:
    first = [c for c in sheet.rows[0][1] if c][:12] if sheet.rows else []
    where = f" (sheet '{sheet.name}')" if sheet.name else ""
    return UnrecognisedFile(file.display, "not recognised as reference data; its first row"
                      f"{where} is: {', '.join(first) or '(nothing)'}",
                      expected=_expected(candidates))


def _expected(candidates: list[ModuleType]) -> str:
    # Listed in the order a user meets these files, not the order they are tried in.
    shown = [lookup, boundaries, centroids, classification, population, imd, imd_district]
    return "; or ".join(m.EXPECTED for m in shown if m in candidates)
