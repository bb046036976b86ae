"""Reference data: ONS geography lookups, boundaries, centroids and classifications, ONS
population, and the MHCLG Indices of Deprivation.

Each file is recognised from its content (or as the `kind` the user names) and parsed into the
warehouse's canonical tables with every bad row rejected with its line and reason; the ingest
pipeline does the rest.
"""

from __future__ import annotations

from pathlib import Path

from cspkit.errors import InputError
from cspkit.sources.inputs import DATA_SUFFIXES
from cspkit.sources.parsed import Parsed
from cspkit.sources.reference import boundaries
from cspkit.sources.reference.recognise import KIND_CHOICES, MODULES, Recognised, recognise
from cspkit.sources.reference.result import LoadContext, LoadResult
from cspkit.sources.reference.table import (
    find_header,
    is_workbook,
    read_csv,
    sheet_rows,
    table_from,
)

__all__ = ["KINDS", "LOAD_ORDER", "LoadContext", "Recognised", "files_under", "parse",
           "recognise"]

KINDS = tuple(KIND_CHOICES)
# Lookups first: the LSOA editions they record decide the edition of population tables.
LOAD_ORDER = ["lookup", "classification", "centroids", "boundaries", "population", "imd",
              "imd-district"]
# Files taken from a folder (gzipped GeoJSON is not among the generic data suffixes).
FOLDER_SUFFIXES = (*DATA_SUFFIXES, ".geojson.gz", ".json.gz", ".gpkg", ".xlsm", ".ods")


def files_under(paths: list[str]) -> list[str]:
    """Folders walked here (not by expand_inputs) so that .geojson.gz files are found."""
    found: list[str] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            found.append(str(path))
            continue
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            name = child.name.lower()
            if name.endswith(FOLDER_SUFFIXES) and not name.startswith((".", "~$")):
                found.append(str(child))
    return found


def parse(item: Recognised, ctx: LoadContext) -> Parsed:
    """The rows of a recognised reference file, ready for the warehouse."""
    module = MODULES[item.kind]
    file = item.file
    if module is boundaries:
        return boundaries.parse(file, ctx)
    if is_workbook(file):
        sheets = [sheet_rows(sheet, name) for name, sheet in item.sheets.items()]
    else:
        sheets = [read_csv(file)]
    result = LoadResult()
    for sheet in sheets:
        header = find_header(sheet, module.matches)
        if header is None:  # recognised from the head, so only a file changed meanwhile
            raise InputError(file.display, "the header row is no longer there",
                             expected=module.EXPECTED)
        table = table_from(sheet, header, file.display)
        if not table.rows:
            result.notes.append("a header but no data rows" + table.where())
            continue
        result.merge(module.parse(table, ctx))
        result.control_characters += sheet.control_characters
        if table.notes:
            result.notes.append(f"{len(table.notes)} note line(s) under the table"
                                f"{table.where()} are not data (e.g. line "
                                f"{table.notes[0][0]})")
    return result
