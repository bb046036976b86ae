"""data.police.uk CSV files: recognise them by header, parse them, validate every row.

Three layouts are published per force and month: ``street`` (crimes and ASB), ``outcomes`` and
``stop-and-search``. Parsing runs inside DuckDB (a private staging table per file) so a year of
a force's data parses in well under a second; rows are never dropped here: each one is either
valid or carries the reason it is not (column ``_reason``), and the loader quarantines those.

Quirks handled (all seen in real downloads): UTF-8 BOM; CRLF or LF line endings; a quoted LSOA
name containing a comma in a file where nothing else is quoted (DuckDB's dialect sniffer then
guesses "no quoting", so the dialect is fixed rather than sniffed); ASB rows with no Crime ID; rows
with no coordinates or LSOA (kept, unlocated); the same Crime ID twice in one file.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from cspkit.errors import InputError
from cspkit.sources.inputs import InputFile, looks_like_html

STREET = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
          "Location", "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context")
OUTCOMES = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude",
            "Location", "LSOA code", "LSOA name", "Outcome type")
STOP_SEARCH = ("Type", "Date", "Part of a policing operation", "Policing operation", "Latitude",
               "Longitude", "Gender", "Age range", "Self-defined ethnicity",
               "Officer-defined ethnicity", "Legislation", "Object of search", "Outcome",
               "Outcome linked to object of search", "Removal of more than just outer clothing")
# Columns without which a file of that layout is unusable (older stop-and-search files lack some
# of the optional ones).
_REQUIRED = {
    "street": set(STREET) - {"Context"},
    "outcomes": set(OUTCOMES),
    "stop-and-search": {"Type", "Date", "Latitude", "Longitude", "Gender", "Age range",
                        "Object of search", "Outcome"},
}
LAYOUTS = {"street": STREET, "outcomes": OUTCOMES, "stop-and-search": STOP_SEARCH}

FILE_NAME = re.compile(r"(?P<month>\d{4}-\d{2})-(?P<force>[a-z-]+?)-"
                       r"(?P<kind>street|outcomes|stop-and-search)\.csv$")
# Broad box around the UK; anything outside is a corrupt coordinate, not an anonymised one.
LON_RANGE = (-11.0, 3.0)
LAT_RANGE = (49.0, 61.5)


@dataclass
class PoliceFile:
    """A recognised data.police.uk file, before loading."""

    file: InputFile
    kind: str                  # street | outcomes | stop-and-search
    header: list[str]
    text: str                  # decoded content, BOM removed
    force: str | None          # from the file name, else from the rows
    month: str | None          # YYYY-MM from the file name, else from the rows


def recognise(file: InputFile) -> PoliceFile:
    """Read and decode `file`, and say which data.police.uk layout it is; InputError if none."""
    raw = file.path.read_bytes()
    if file.path.name.lower().endswith(".gz"):
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError(file.display, f"not a readable gzip file ({exc})",
                             expected="a gzip-compressed CSV") from exc
    if not raw.strip():
        raise InputError(file.display, "the file is empty",
                         expected="a data.police.uk CSV with a header row")
    if looks_like_html(raw):
        raise InputError(file.display, "this is an HTML page, not a CSV (often an error page "
                         "saved in place of a download)", expected="a data.police.uk CSV")
    if raw.startswith(b"PK\x03\x04"):
        raise InputError(file.display, "this is a zip archive named as a CSV",
                         expected="a CSV, or pass the .zip itself")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(file.display, f"byte 0x{raw[exc.start]:02x} at character {col} is not "
                         "valid UTF-8", line=line,
                         expected="UTF-8 text, as data.police.uk publishes") from exc
    newline = text.find("\n")
    first = (text if newline < 0 else text[:newline]).rstrip("\r")
    header = next(csv.reader([first]))
    header = [h.strip() for h in header]
    kind = _layout_of(header)
    if kind is None:
        raise InputError(
            file.display,
            f"unrecognised header: {', '.join(header[:6])}{' ...' if len(header) > 6 else ''}",
            line=1,
            expected="a data.police.uk street file (" + ", ".join(STREET) + "), an outcomes "
                     "file (... Outcome type) or a stop-and-search file (Type, Date, ...)",
        )
    match = FILE_NAME.search(file.name)
    force = match.group("force") if match else None
    month = match.group("month") if match else None
    if match and match.group("kind") != kind:
        raise InputError(file.display, f"the name says {match.group('kind')} but the header is "
                         f"that of a {kind} file", line=1, expected=f"a {kind} file name")
    return PoliceFile(file, kind, header, text, force, month)


def _layout_of(header: list[str]) -> str | None:
    present = set(header)
    for kind, required in _REQUIRED.items():
        if required <= present and (kind != "street" or "Crime type" in present):
            if kind == "outcomes" and "Crime type" in present:
                continue
            return kind
    return None


def stage_many(con: duckdb.DuckDBPyConnection, files: list[PoliceFile], table: str) -> None:
    """Parse `files` (all of one layout) into the temporary table `table`: ``_file`` (index into
    `files`), ``_line`` (the physical line the row starts on), ``_error`` (a structural problem
    such as a wrong number of fields, else NULL) and one VARCHAR column per layout field.

    Well-formed files are read by DuckDB in one pass per header variant; a file with blank lines,
    records spanning lines or rows DuckDB rejects is re-read with Python's csv module, which
    gives exact line numbers and keeps malformed rows for quarantine."""
    layout = LAYOUTS[files[0].kind]
    drop_stage(con, table)
    cols = ", ".join(f'"{c}" VARCHAR' for c in layout)
    con.execute(f'CREATE TEMP TABLE "{table}_slow" (_file INTEGER, _line BIGINT, '
                f"_error VARCHAR, {cols})")
    slow: list[int] = []
    # One DuckDB read per header and line-ending variant: a multi-file read takes its dialect
    # from the first file, and LF files read with a CRLF dialect come out wrong.
    variants: dict[tuple[tuple[str, ...], bool], list[int]] = {}
    # A blank line or a record spanning lines shows afterwards as fewer rows than lines (DuckDB
    # skips blank lines), which sends the file to the slow path: no need to scan for them here.
    for index, pf in enumerate(files):
        crlf = "\r\n" in pf.text[:4096]
        variants.setdefault((tuple(pf.header), crlf), []).append(index)
    parts: list[str] = []
    for number, ((header, _), indexes) in enumerate(variants.items()):
        part, again = _stage_with_duckdb(con, [files[i] for i in indexes], indexes, header,
                                         layout, f"{table}_raw{number}")
        slow.extend(again)
        if part:
            parts.append(part)
    for index in sorted(slow):
        _stage_with_csv_module(con, files[index], index, layout, f"{table}_slow")
    parts.append(f'SELECT * FROM "{table}_slow"')
    # A view, not a copy: the rows are read once more only by the validation that follows.
    con.execute(f'CREATE TEMP VIEW "{table}" AS ' + " UNION ALL ".join(parts))


def drop_stage(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Remove a stage made by `stage_many` (the view and the tables behind it)."""
    con.execute(f'DROP VIEW IF EXISTS "{table}"')
    for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary AND "
            "(table_name LIKE ? ESCAPE '\\' OR table_name = ?)",
            [table.replace("_", "\\_") + "\\_%", table]).fetchall():
        con.execute(f'DROP TABLE IF EXISTS "{name}"')


def _body_end(text: str) -> int:
    """Where the text ends before its trailing line breaks (found without copying it)."""
    end = len(text)
    while end and text[end - 1] in "\r\n":
        end -= 1
    return end


def _stage_with_duckdb(con: duckdb.DuckDBPyConnection, files: list[PoliceFile],
                       indexes: list[int], header: tuple[str, ...], layout: tuple[str, ...],
                       raw: str) -> tuple[str | None, list[int]]:
    """Read `files` into the table `raw`; returns the SELECT giving their staged rows (None if
    no file qualified) and the indexes of files that need the slow path after all."""
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in header)
    paths = "[" + ", ".join("'" + str(pf.file.path).replace("'", "''") + "'"
                            for pf in files) + "]"
    con.execute(
        f"""CREATE TEMP TABLE "{raw}" AS
            SELECT * FROM read_csv({paths}, header = true, delim = ',', quote = '"',
                                   escape = '"', columns = {{{columns}}}, strict_mode = true,
                                   filename = '_path', store_rejects = true,
                                   rejects_table = '{raw}_rej', rejects_scan = '{raw}_scan')"""
    )
    rejected = {r[0] for r in con.execute(
        f"""SELECT DISTINCT s.file_path FROM "{raw}_rej" r
            JOIN "{raw}_scan" s USING (scan_id, file_id)""").fetchall()}
    # Insertion order is scan order, so a file's rows are contiguous and in line order: a row's
    # line is its rowid less the file's first rowid, plus 2 (the header is line 1).
    spans = {path: (int(n), int(first)) for path, n, first in con.execute(
        f'SELECT _path, count(*), min(rowid) FROM "{raw}" GROUP BY 1').fetchall()}
    con.execute(f'DROP TABLE IF EXISTS "{raw}_rej"')
    con.execute(f'DROP TABLE IF EXISTS "{raw}_scan"')
    good: list[tuple[int, str, int]] = []
    slow: list[int] = []
    for pf, index in zip(files, indexes, strict=True):
        path = str(pf.file.path)
        physical = pf.text.count("\n", 0, _body_end(pf.text))  # lines after the header
        n, first = spans.get(path, (0, 0))
        if path in rejected or n != physical:
            slow.append(index)
        else:
            good.append((index, path, first))
    if not good:
        return None, slow
    mapping = pa.table({"_file": pa.array([g[0] for g in good], pa.int32()),
                        "_path": [g[1] for g in good],
                        "_first": pa.array([g[2] for g in good], pa.int64())})
    con.register("_stage_files", mapping)
    con.execute(f'CREATE TEMP TABLE "{raw}_map" AS SELECT * FROM _stage_files')
    con.unregister("_stage_files")
    select = ", ".join(f'r."{c}"' if c in header else f'NULL::VARCHAR AS "{c}"' for c in layout)
    return (f"""SELECT m._file, r.rowid - m._first + 2 AS _line, NULL::VARCHAR AS _error,
                       {select}
                FROM "{raw}" r JOIN "{raw}_map" m USING (_path)"""), slow


def _stage_with_csv_module(con: duckdb.DuckDBPyConnection, pf: PoliceFile, index: int,
                           layout: tuple[str, ...], table: str) -> None:
    """Exact line numbers and structural errors, at Python speed (used for unusual files)."""
    reader = csv.reader(io.StringIO(pf.text, newline=""))
    next(reader)  # header
    width = len(pf.header)
    position = {name: i for i, name in enumerate(pf.header)}
    cols: list[list[str | None]] = [[] for _ in range(width)]
    lines: list[int] = []
    errors: list[str | None] = []
    start = reader.line_num + 1
    for record in reader:
        this_start, start = start, reader.line_num + 1
        if not record or all(not f.strip() for f in record):
            continue  # blank line: not a row
        lines.append(this_start)
        if len(record) != width:
            errors.append(f"expected {width} fields, found {len(record)}")
            record = (record + [""] * width)[:width]
        else:
            errors.append(None)
        for i, value in enumerate(record):
            cols[i].append(value if value != "" else None)
    data: dict[str, pa.Array] = {
        "_file": pa.array([index] * len(lines), pa.int32()),
        "_line": pa.array(lines, pa.int64()),
        "_error": pa.array(errors, pa.string()),
    }
    for name in layout:
        values = cols[position[name]] if name in position else [None] * len(lines)
        data[name] = pa.array(values, pa.string())
    con.register("_stage_slow", pa.table(data))
    con.execute(f'INSERT INTO "{table}" SELECT * FROM _stage_slow')
    con.unregister("_stage_slow")


def raw_lines(pf: PoliceFile, line_numbers: list[int]) -> dict[int, str]:
    """The text of the given physical lines (to keep beside a quarantined row)."""
    wanted = set(line_numbers)
    out: dict[int, str] = {}
    for number, line in enumerate(pf.text.split("\n"), start=1):
        if number in wanted:
            out[number] = line.rstrip("\r")
    return out


def location_checks_sql() -> str:
    """CASE branches shared by street and outcomes files (columns lon, lat, lsoa)."""
    return f"""
        WHEN nullif(trim("Longitude"), '') IS NOT NULL AND lon IS NULL
          THEN 'Longitude: expected a number, found "' || "Longitude" || '"'
        WHEN nullif(trim("Latitude"), '') IS NOT NULL AND lat IS NULL
          THEN 'Latitude: expected a number, found "' || "Latitude" || '"'
        WHEN (lon IS NULL) <> (lat IS NULL) THEN 'Longitude/Latitude: one given without the other'
        WHEN lon IS NOT NULL AND (lon NOT BETWEEN {LON_RANGE[0]} AND {LON_RANGE[1]}
                                  OR lat NOT BETWEEN {LAT_RANGE[0]} AND {LAT_RANGE[1]})
          THEN 'Longitude/Latitude: ' || lon || ', ' || lat || ' is outside the UK'
        WHEN lsoa IS NOT NULL AND NOT regexp_full_match(lsoa, '[EW]01\\d{{6}}')
          THEN 'LSOA code: expected E01/W01 and 6 digits, found "' || lsoa || '"'"""


def validation_sql(table: str, files: str, type_column: str) -> str:
    """SELECT over a staged street or outcomes table joined to `files` (_file, ingest_id,
    month, conflict): canonical columns plus `_reason` (NULL = valid)."""
    return f"""
    WITH v AS (
      SELECT s.*, f.ingest_id, f.month AS file_month, f.conflict,
        TRY_CAST(nullif(trim("Longitude"), '') AS DOUBLE) AS lon,
        TRY_CAST(nullif(trim("Latitude"), '') AS DOUBLE) AS lat,
        nullif(trim("LSOA code"), '') AS lsoa,
        nullif(trim("{type_column}"), '') AS ctype
      FROM "{table}" s JOIN "{files}" f USING (_file)
    )
    SELECT *,
      CASE
        WHEN conflict IS NOT NULL THEN conflict
        WHEN _error IS NOT NULL THEN _error
        WHEN "Month" IS NULL OR NOT regexp_full_match("Month", '\\d{{4}}-(0[1-9]|1[0-2])')
          THEN 'Month: expected YYYY-MM, found ' || coalesce('"' || "Month" || '"', 'nothing')
        WHEN file_month IS NOT NULL AND "Month" <> file_month
          THEN 'Month: ' || "Month" || ' in a file for ' || file_month
        WHEN ctype IS NULL THEN '{type_column}: empty'
        {location_checks_sql()}
        ELSE NULL
      END AS _reason
    FROM v
    """
