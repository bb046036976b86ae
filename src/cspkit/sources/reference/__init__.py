"""Loading reference data: ONS geography lookups, boundaries, centroids and classifications,
ONS population, and the MHCLG Indices of Deprivation.

Each file is recognised from its content (or as the `kind` the user names), logged in
``ingests``, loaded with every bad row quarantined with its line and reason, and reported as
'unchanged' (not logged again) when the same bytes were loaded before. Everything is
recognised before anything is loaded, so a file that cannot be read fails the batch at once;
the caller's transaction then leaves the warehouse as it was. Derived rows (population on 2021
LSOAs, LSOA -> ward links) are rebuilt after every ingest that loaded something.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from cspkit.errors import InputError
from cspkit.sources.inputs import DATA_SUFFIXES, InputFile, expand_inputs
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
from cspkit.store.derive import refresh_derived
from cspkit.store.ingest_log import (
    IngestRecord,
    finish_ingest,
    loaded_with_hash,
    quarantine_rows,
    start_ingest,
)

__all__ = ["KINDS", "ingest_reference"]

KINDS = tuple(KIND_CHOICES)
# Lookups first: the LSOA editions they record decide the edition of population tables.
LOAD_ORDER = ["lookup", "classification", "centroids", "boundaries", "population", "imd",
              "imd-district"]
# Files taken from a folder (gzipped GeoJSON is not among the generic data suffixes).
FOLDER_SUFFIXES = (*DATA_SUFFIXES, ".geojson.gz", ".json.gz", ".gpkg", ".xlsm", ".ods")


def ingest_reference(con: duckdb.DuckDBPyConnection, paths: list[str], *,
                     kind: str | None = None, run_id: str, edition: str | None = None,
                     on_file: Callable[[str, int, int], None] | None = None
                     ) -> list[IngestRecord]:
    """Load the reference files under `paths` (files, folders, zips) inside the caller's
    transaction and return one ingest record per file."""
    if kind is not None and kind not in KIND_CHOICES:
        raise InputError(", ".join(paths), f"unknown kind '{kind}'",
                         expected="one of " + ", ".join(KIND_CHOICES))
    records: list[IngestRecord] = []
    with expand_inputs(_files_under(paths)) as files:
        if not files:
            raise InputError(", ".join(paths), "no reference files found",
                             expected="CSV, XLSX, XLS, GeoJSON, shapefile or zip files")
        planned = [_plan(con, file, kind) for file in files]
        ordered = sorted(planned, key=lambda p: LOAD_ORDER.index(p[0].kind))
        for index, (item, sha) in enumerate(ordered, start=1):
            if on_file:
                on_file(item.file.display, index, len(ordered))
            records.append(_ingest_one(con, item, sha, run_id=run_id, edition=edition))
    if any(r.status == "loaded" for r in records):
        refresh_derived(con)  # derived rows depend only on what was just loaded
    return records


def _plan(con: duckdb.DuckDBPyConnection, file: InputFile, kind: str | None
          ) -> tuple[Recognised, str]:
    """What the file is, and its hash. Bytes already loaded are not read again: their kind is
    the one they were loaded as."""
    sha = file.sha256()
    kinds = [m.KIND for m in KIND_CHOICES[kind]] if kind else list(MODULES)
    for known in kinds:
        if loaded_with_hash(con, sha, f"reference-{known}") is not None:
            return Recognised(file, known), sha
    return recognise(file, kind), sha


def _files_under(paths: list[str]) -> list[str]:
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


def _ingest_one(con: duckdb.DuckDBPyConnection, item: Recognised, sha: str, *, run_id: str,
                edition: str | None) -> IngestRecord:
    file = item.file
    log_kind = f"reference-{item.kind}"
    earlier = loaded_with_hash(con, sha, log_kind)
    if earlier is not None:
        # Reported, not logged: loading the same bytes again changes nothing at all.
        note = f"the same bytes were loaded by ingest {earlier}"
        return IngestRecord(earlier, log_kind, file.display, "unchanged", note=note)
    ingest_id = start_ingest(con, run_id=run_id, kind=log_kind, file=file.display,
                             sha256=sha, size=file.size(), status="loading")
    result = _load(con, item, LoadContext(source=file.name, edition=edition))
    quarantined = quarantine_rows(con, ingest_id, file.display, result.rejected)
    finish_ingest(con, ingest_id, status="loaded", rows_in=result.rows_in,
                  rows_loaded=result.rows_loaded, rows_quarantined=quarantined,
                  note=result.note, lsoa_vintage=result.lsoa_vintage)
    return IngestRecord(ingest_id, log_kind, file.display, "loaded", rows_in=result.rows_in,
                        rows_loaded=result.rows_loaded, rows_quarantined=quarantined,
                        lsoa_vintage=result.lsoa_vintage, note=result.note)


def _load(con: duckdb.DuckDBPyConnection, item: Recognised, ctx: LoadContext) -> LoadResult:
    module = MODULES[item.kind]
    file = item.file
    if module is boundaries:
        return boundaries.load(con, file, ctx)
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
            raise InputError(file.display, "there is a header but no data rows"
                             + table.where(), line=table.header_line, expected=module.EXPECTED)
        result.merge(module.load(con, table, ctx))
        if table.notes:
            result.notes.append(f"{len(table.notes)} note line(s) under the table"
                                f"{table.where()} are not data (e.g. line "
                                f"{table.notes[0][0]})")
    return result
