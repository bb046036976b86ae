"""data.police.uk CSV files: recognise them by header, parse them, validate every row.

Three layouts are published per force and month: ``street`` (crimes and ASB), ``outcomes`` and
``stop-and-search``. Parsing runs in a private in-memory DuckDB (not the warehouse: this module
knows nothing of it), many files in one read, so a year of a force's data parses in well under
a second; its memory is capped and it spills to disk, so a file of any size parses in bounded
memory. Rows are never dropped here: each one is either a canonical row or a rejected row with
its line and reason.

Quirks handled (all seen in real downloads): UTF-8 BOM; CRLF or LF line endings; a quoted LSOA
name containing a comma in a file where nothing else is quoted (DuckDB's dialect sniffer then
guesses "no quoting", so the dialect is fixed rather than sniffed); ASB rows with no Crime ID; rows
with no coordinates or LSOA (kept, unlocated); the same Crime ID twice in one file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from cspkit.errors import InputError, UnrecognisedFile
from cspkit.police_forces import force_id_from_name
from cspkit.sources.inputs import InputFile, gunzip, looks_like_html
from cspkit.sources.limits import current_limits
from cspkit.sources.parsed import Parsed

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


# data.police.uk's first month; nothing can be dated before it.
FIRST_MONTH = "2010-12"
TARGET = {"street": "events", "outcomes": "police_outcomes", "stop-and-search": "stop_search"}
# Control characters other than tab, LF and CR have no place in these text fields.
CONTROL = "[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F]"
ORDINARY_BYTES = bytes(b for b in range(256)
                       if not (b < 0x20 and b not in (0x09, 0x0a, 0x0d)) and b != 0x7f)
# Files up to this size are parsed together in one DuckDB read; a larger one alone, streamed.
BATCH_BYTES = 64 << 20
# DuckDB's memory for such a batch (its staged rows take a few times the CSV's size).
BATCH_MEMORY = 1 << 30


def max_field_bytes() -> int:
    """The longest field accepted (setting CSPKIT_MAX_FIELD_BYTES)."""
    return int(current_limits().max_field_bytes)


def latest_month() -> str:
    """Nothing is published for a month that has not ended: the current month is the last
    one a file could name (a day's grace for clocks)."""
    return (dt.date.today() + dt.timedelta(days=1)).strftime("%Y-%m")


def valid_month(text: str) -> bool:
    return bool(re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text)) and \
        FIRST_MONTH <= text <= latest_month()


@dataclass
class PoliceFile:
    """A recognised data.police.uk file, before parsing (only its head has been read)."""

    file: InputFile
    kind: str                  # street | outcomes | stop-and-search
    header: list[str]
    force: str | None          # from the file name, else from the rows
    month: str | None          # YYYY-MM from the file name, else from the rows
    lines: int = 0             # physical lines after the header, blank lines included
    crlf: bool = False
    control: bool = False      # some byte is a control character (other than tab, CR, LF)
    local: Path | None = None  # a decompressed copy of a .gz file (DuckDB reads it by path)

    @property
    def path(self) -> Path:
        return self.local or self.file.path


def open_text(path: Path) -> IO[str]:
    return open(path, encoding="utf-8-sig", newline="")


def recognise(file: InputFile, workdir: Path | None = None) -> PoliceFile:
    """Say which data.police.uk layout `file` is (InputError if none), reading its head, then
    scan it once, streaming, for what parsing needs: valid UTF-8, line count, line endings and
    the longest line."""
    head = file.head_bytes(65536)
    if not head.strip():
        raise InputError(file.display, "the file is empty",
                         expected="a data.police.uk CSV with a header row")
    if looks_like_html(head):
        raise InputError(file.display, "this is an HTML page, not a CSV (often an error page "
                         "saved in place of a download)", expected="a data.police.uk CSV")
    if head.startswith(b"PK\x03\x04"):
        raise InputError(file.display, "this is a zip archive named as a CSV",
                         expected="a CSV, or pass the .zip itself")
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    first = head.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", errors="replace")
    if "\r" in first:
        raise InputError(file.display, "lines end with a bare carriage return (old Mac line "
                         "endings)", line=1, expected="lines ending LF or CRLF, as "
                         "data.police.uk publishes")
    try:
        header = [h.strip() for h in next(csv.reader([first]))] if first else []
    except csv.Error as exc:
        raise InputError(file.display, f"the header row cannot be read as CSV ({exc})", line=1,
                         expected="a data.police.uk CSV header") from exc
    kind = _layout_of(header)
    if kind is None:
        raise UnrecognisedFile(
            file.display,
            f"unrecognised header: {', '.join(header[:6])[:300]}"
            f"{' ...' if len(header) > 6 else ''}",
            line=1,
            expected="a data.police.uk street file (" + ", ".join(STREET) + "), an outcomes "
                     "file (... Outcome type) or a stop-and-search file (Type, Date, ...)",
        )
    named = [h for h in header if h]
    twice = sorted({h for h in named if named.count(h) > 1})
    if twice or len(named) < len(header):
        problem = (f"the header names {twice[0]!r} twice" if twice
                   else "the header has a column with no name")
        raise InputError(file.display, problem, line=1,
                         expected="one named column each, as data.police.uk publishes")
    match = FILE_NAME.search(file.name)
    force = match.group("force") if match else None
    month = match.group("month") if match else None
    if match and match.group("kind") != kind:
        raise InputError(file.display, f"the name says {match.group('kind')} but the header is "
                         f"that of a {kind} file", line=1, expected=f"a {kind} file name")
    if month is not None and not valid_month(month):
        raise InputError(file.display, f"the name gives the month {month}, which is not a month "
                         "data.police.uk can have published",
                         expected=f"YYYY-MM from {FIRST_MONTH} to {latest_month()}")
    pf = PoliceFile(file, kind, header, force, month)
    if file.path.name.lower().endswith(".gz"):
        pf.local = _gunzip(file, workdir)
    _scan(pf)
    return pf


def _gunzip(file: InputFile, workdir: Path | None) -> Path:
    """A decompressed copy for DuckDB to read by path, bounded against gzip bombs."""
    handle, name = tempfile.mkstemp(suffix=".csv", dir=workdir)
    os.close(handle)
    return gunzip(file, Path(name))


def _scan(pf: PoliceFile) -> None:
    """One streaming pass: UTF-8 validity (with the line and column of a bad byte), physical
    lines after the header, CRLF, and whether any control character is there. (A field over
    the size limit is caught by the parser that meets it.)"""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 0
    offset = 0
    crlf = False
    control = False
    last = b""
    with open(pf.path, "rb") as handle:
        while chunk := handle.read(1 << 22):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                _bad_utf8(pf, handle, offset + exc.start)
            if not crlf and b"\r\n" in chunk[:8192]:
                crlf = True
            # translate() deletes every ordinary byte at C speed: what is left is control.
            if not control and chunk.translate(None, ORDINARY_BYTES):
                control = True
            lines += chunk.count(b"\n")
            offset += len(chunk)
            last = chunk[-1:]
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise InputError(pf.file.display, "the file ends inside a UTF-8 character",
                         expected="UTF-8 text, as data.police.uk publishes") from exc
    trailing = offset > 0 and last != b"\n"     # a last line without a newline
    pf.lines = max(lines - 1 + (1 if trailing else 0), 0)
    pf.crlf = crlf
    pf.control = control


def _bad_utf8(pf: PoliceFile, handle: IO[bytes], position: int) -> None:
    handle.seek(0)
    before = handle.read(position)
    bad = handle.read(1)
    line = before.count(b"\n") + 1
    column = position - (before.rfind(b"\n") + 1) + 1
    raise InputError(pf.file.display, f"byte 0x{bad[0]:02x} at character {column} is not "
                     "valid UTF-8", line=line,
                     expected="UTF-8 text, as data.police.uk publishes")


def _layout_of(header: list[str]) -> str | None:
    present = set(header)
    for kind, required in _REQUIRED.items():
        if required <= present and (kind != "street" or "Crime type" in present):
            if kind == "outcomes" and "Crime type" in present:
                continue
            return kind
    return None


def _clean(column: str) -> str:
    """A text field trimmed, empty as NULL. trim() copies every string, which is costly at
    national scale, so it runs only where it could change something: a field whose first and
    last characters are printable ASCII other than a space is already trimmed (trim removes
    spaces, Unicode ones too, and nothing printable)."""
    c = f'"{column}"'
    return (f"CASE WHEN {c}[1] BETWEEN '!' AND '~' AND {c}[-1] BETWEEN '!' AND '~' "
            f"THEN {c} ELSE nullif(trim({c}), '') END")


def location_checks_sql() -> str:
    """CASE branches shared by street and outcomes files (columns lon, lat, lsoa)."""
    return f"""
        WHEN {_clean("Longitude")} IS NOT NULL AND lon IS NULL
          THEN 'Longitude: expected a number, found "' || "Longitude" || '"'
        WHEN {_clean("Latitude")} IS NOT NULL AND lat IS NULL
          THEN 'Latitude: expected a number, found "' || "Latitude" || '"'
        WHEN (lon IS NULL) <> (lat IS NULL) THEN 'Longitude/Latitude: one given without the other'
        WHEN lon IS NOT NULL AND (lon NOT BETWEEN {LON_RANGE[0]} AND {LON_RANGE[1]}
                                  OR lat NOT BETWEEN {LAT_RANGE[0]} AND {LAT_RANGE[1]})
          THEN 'Longitude/Latitude: ' || lon || ', ' || lat || ' is outside the UK'
        WHEN lsoa IS NOT NULL AND NOT regexp_full_match(lsoa, '[EW]01\\d{{6}}')
          THEN 'LSOA code: expected E01/W01 and 6 digits, found "' || lsoa || '"'"""


def _per_file(values: Sequence[str | None]) -> str:
    """A file's value by its index `_file`, from a list literal (no join: a scan with no join
    keeps the staged rows' order, so they need no sort)."""
    items = ", ".join("NULL" if v is None else "'" + v.replace("'", "''") + "'" for v in values)
    return f"CAST([{items}] AS VARCHAR[])[_file + 1]"


def _parsed_sql(kind: str, batch: _Batch) -> str:
    """The staged rows with the parsed fields the checks and the canonical rows need:
    file_month, force, lon, lat, lsoa, ctype (the type column) and, for stop-and-search, _at."""
    # TRY_CAST to DOUBLE ignores the ASCII blanks trim keeps, and trim removes the rest.
    lon = f'TRY_CAST({_clean("Longitude")} AS DOUBLE)'
    lat = f'TRY_CAST({_clean("Latitude")} AS DOUBLE)'
    common = (f"{_per_file(batch.months)} AS file_month, {_per_file(batch.forces)} AS force, "
              f"{lon} AS lon, {lat} AS lat")
    if kind == "stop-and-search":
        return (f'SELECT *, {common}, TRY_CAST("Date" AS TIMESTAMPTZ) AS _at, '
                f'NULL::VARCHAR AS lsoa FROM "{STAGE}"')
    type_column = "Crime type" if kind == "street" else "Outcome type"
    return (f'SELECT *, {common}, {_clean("LSOA code")} AS lsoa, '
            f'{_clean(type_column)} AS ctype FROM "{STAGE}"')


def _reason_sql(kind: str) -> str:
    """Why a parsed row (of `_parsed_sql`) is rejected; NULL when it is valid."""
    if kind == "stop-and-search":
        return f"""CASE
            WHEN _error IS NOT NULL THEN _error
            WHEN _at IS NULL THEN 'Date: expected an ISO date-time, found "' ||
                                  coalesce("Date", '') || '"'
            WHEN strftime(_at, '%Y-%m') < '{FIRST_MONTH}'
                 OR strftime(_at, '%Y-%m') > '{latest_month()}'
              THEN 'Date: ' || "Date" || ' is outside the months data.police.uk can have '
                   || 'published ({FIRST_MONTH} to {latest_month()})'
            WHEN {_clean("Longitude")} IS NOT NULL AND lon IS NULL
              THEN 'Longitude: expected a number, found "' || "Longitude" || '"'
            WHEN {_clean("Latitude")} IS NOT NULL AND lat IS NULL
              THEN 'Latitude: expected a number, found "' || "Latitude" || '"'
            ELSE NULL
          END"""
    type_column = "Crime type" if kind == "street" else "Outcome type"
    # The first check that fails, in this order. A row whose month is its file's (a valid
    # month: the name was checked) passes the month checks at once, without the regular
    # expression; coalesce evaluates each part only for the rows still passing.
    return f"""coalesce(
      _error,
      CASE
        WHEN "Month" = file_month THEN NULL
        WHEN "Month" IS NULL OR NOT regexp_full_match("Month", '\\d{{4}}-(0[1-9]|1[0-2])')
          THEN 'Month: expected YYYY-MM, found ' || coalesce('"' || "Month" || '"', 'nothing')
        WHEN "Month" < '{FIRST_MONTH}' OR "Month" > '{latest_month()}'
          THEN 'Month: ' || "Month" || ' is outside the months data.police.uk can have '
               || 'published ({FIRST_MONTH} to {latest_month()})'
        WHEN file_month IS NOT NULL AND "Month" <> file_month
          THEN 'Month: ' || "Month" || ' in a file for ' || file_month
      END,
      CASE
        WHEN ctype IS NULL THEN '{type_column}: empty'
        {location_checks_sql()}
        ELSE NULL
      END)"""


STAGE = "_stage"
REJECTS = "_rejects"
PARSED = "_parsed"


@dataclass
class _Batch:
    files: list[PoliceFile]
    kind: str
    forces: list[str | None] = field(default_factory=list)
    months: list[str | None] = field(default_factory=list)


class PoliceParser:
    """Parses recognised files with a private, memory-capped DuckDB that spills to `workdir`.

    `parse` yields one `Parsed` per file, in the order given: canonical rows for the file's
    table (`events`, `police_outcomes` or `stop_search`), rejected rows, force and month."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.con = duckdb.connect(":memory:")
        self.memory = current_limits().max_ingest_memory
        self.con.execute(f"SET temp_directory = '{str(workdir).replace(chr(39), '')}'")
        self.con.execute("SET preserve_insertion_order = true")
        # One thread: keeping rows in file order (their line numbers) across threads costs
        # DuckDB half as much CPU again as the read itself, and the warehouse's writes use the
        # other core meanwhile.
        self.con.execute("SET threads = 1")

    def close(self) -> None:
        self.con.close()

    def parse(self, files: Sequence[PoliceFile]) -> Iterator[Parsed]:
        for batch in _batches(files):
            yield from self._parse_batch(batch)

    def _parse_batch(self, batch: _Batch) -> Iterator[Parsed]:
        """Set-based, in DuckDB: the files are staged once (one table, read in one pass), the
        rejected rows found by one scan of it (and a grouping for repeated Crime IDs), and the
        valid rows read from the stage straight into Arrow. Nothing is copied row by row."""
        con = self.con
        # A batch of files is at most BATCH_BYTES of CSV, so its memory is bounded whatever the
        # limit; a single larger file is what the memory limit is for (DuckDB spills beyond it).
        alone = len(batch.files) == 1 and batch.files[0].path.stat().st_size > BATCH_BYTES
        limit = self.memory if alone else max(self.memory, BATCH_MEMORY)
        con.execute(f"SET memory_limit = '{limit // (1 << 20)}MiB'")
        ordered = stage_many(con, batch.files, STAGE)
        self._identify(batch)
        control = any(pf.control for pf in batch.files)
        con.execute(f'CREATE OR REPLACE TEMP VIEW "{PARSED}" AS SELECT *, '
                    f"{_control_flag(LAYOUTS[batch.kind], batch.files)} "
                    f"FROM ({_parsed_sql(batch.kind, batch)})")
        if alone:
            any_rejected = _find_rejects(con, batch.kind)
            table = None
        else:
            # One pass over the stage gives every row as loaded with its reason (NULL: valid);
            # the few rejected rows are then taken out in Arrow. The stage's rows come in file
            # and line order unless it was put together from several reads: only then sorted.
            order = "" if ordered else " ORDER BY _file, line_no"
            checked = con.sql(_canonical_sql(batch.kind, control, False, reason=True)
                              + order).to_arrow_table()
            reasons = checked.column("_reason")
            bad = checked.filter(pc.is_valid(reasons)).select(["_file", "line_no", "_reason"])
            any_rejected = _rejects_from(con, bad, batch.kind)
            table = checked.drop(["_reason"])
            if any_rejected:
                out = con.sql(f'SELECT _file, _line FROM "{REJECTS}"').to_arrow_table()
                table = table.filter(pc.invert(pc.is_in(
                    _row_keys(table.column("_file"), table.column("line_no")),
                    value_set=_row_keys(out.column("_file"), out.column("_line")))))
        rows_in = dict(con.execute(f'SELECT _file, count(*) FROM "{STAGE}" GROUP BY 1'
                                   ).fetchall())
        controls: dict[int, int] = {}
        if control:
            controls = dict(con.execute(f'SELECT _file, count(*) FROM "{PARSED}" '
                                        "WHERE _control GROUP BY 1").fetchall())
        rejected: dict[int, list[tuple[int, str]]] = {}
        if any_rejected:
            for index, line, reason in con.execute(
                    f'SELECT _file, _line, _reason FROM "{REJECTS}" ORDER BY _file, _line'
                    ).fetchall():
                rejected.setdefault(int(index), []).append((int(line), str(reason)))
        select = _canonical_sql(batch.kind, control, any_rejected)
        offset = 0
        for index, pf in enumerate(batch.files):
            items = rejected.get(index, [])
            count = int(rows_in.get(index, 0))
            ctl = int(controls.get(index, 0))
            parsed = Parsed(rows_in=count, rows_loaded=count - len(items),
                            force=batch.forces[index], month=batch.months[index],
                            control_characters=ctl)
            text = raw_lines(pf, [line for line, _ in items])
            header = set(pf.header)
            for line, reason in items:
                head = reason.split(":", 1)[0]
                parsed.reject(line, head if head in header else None, reason, text.get(line))
            good = count - len(items)
            if table is not None:
                rows: pa.Table | Path = table.slice(offset, good).drop(["_file"])
                offset += good
            else:
                # Spilled by DuckDB to Parquet in the work folder: a file of any size passes
                # to the warehouse without its rows ever being held in Python.
                spill = self.workdir / f"parsed-{index}-{id(pf)}.parquet"
                literal = "'" + str(spill).replace("'", "''") + "'"
                con.execute(f"COPY (SELECT * EXCLUDE (_file) FROM ({select}) "
                            f"ORDER BY line_no) TO {literal} (FORMAT parquet)")
                rows = spill
            parsed.tables[TARGET[batch.kind]] = rows
            if ctl:
                parsed.notes.append(f"{ctl:,} row(s) had control characters removed")
            yield parsed
        con.execute(f'DROP VIEW IF EXISTS "{PARSED}"')
        con.execute(f'DROP TABLE IF EXISTS "{REJECTS}"')
        drop_stage(con, STAGE)

    def _identify(self, batch: _Batch) -> None:
        """Force and month of each file: from its name, else from its rows."""
        files = batch.files
        month_expr = ("strftime(TRY_CAST(\"Date\" AS TIMESTAMPTZ), '%Y-%m')"
                      if batch.kind == "stop-and-search" else '"Month"')
        by_rows: dict[int, str] = {}
        if any(pf.month is None for pf in files):
            by_rows = {f: m for f, m in self.con.execute(
                f'SELECT _file, mode({month_expr}) FROM "{STAGE}" GROUP BY 1').fetchall()}
        reported: dict[int, str] = {}
        if any(pf.force is None for pf in files) and batch.kind != "stop-and-search":
            reported = {f: r for f, r in self.con.execute(
                f'SELECT _file, mode("Reported by") FROM "{STAGE}" GROUP BY 1').fetchall()}
        for index, pf in enumerate(files):
            month = pf.month or by_rows.get(index)
            batch.months.append(month if month and valid_month(month) else None)
            batch.forces.append(pf.force or force_id_from_name(reported.get(index)))



def _batches(files: Sequence[PoliceFile]) -> Iterator[_Batch]:
    """Runs of the same layout, each up to BATCH_BYTES (a bigger file on its own)."""
    current: list[PoliceFile] = []
    size = 0
    for pf in files:
        bytes_ = pf.path.stat().st_size
        if current and (pf.kind != current[0].kind or size + bytes_ > BATCH_BYTES):
            yield _Batch(current, current[0].kind)
            current, size = [], 0
        current.append(pf)
        size += bytes_
    if current:
        yield _Batch(current, current[0].kind)


def _text(column: str, control: bool) -> str:
    """A text field as loaded: trimmed, empty as NULL, control characters removed (the
    regular expression runs only on the rare rows that have one)."""
    if not control:
        return _clean(column)
    return (f"CASE WHEN _control THEN nullif(trim(regexp_replace(\"{column}\", '{CONTROL}', "
            f"'', 'g')), '') ELSE {_clean(column)} END")


def _canonical_sql(kind: str, control: bool, any_rejected: bool, reason: bool = False) -> str:
    """The valid rows of PARSED as the columns of their warehouse table (and `_file`); with
    `reason`, every row and its `_reason` (NULL: valid; nothing in a rejected row's other
    columns fails, as they are TRY_CAST)."""
    valid = (f' ANTI JOIN "{REJECTS}" USING (_file, _line)' if any_rejected else "")
    source = f'"{PARSED}"{valid}'
    why = f", {_reason_sql(kind)} AS _reason" if reason else ""
    ctype = (f"CASE WHEN _control THEN regexp_replace(ctype, '{CONTROL}', '', 'g') "
             "ELSE ctype END" if control else "ctype")
    if kind == "street":
        return f"""
            SELECT _file, _line AS line_no, 'police.uk' AS source, force,
                   TRY_CAST("Month" || '-01' AS DATE) AS month, {ctype} AS category,
                   {_text("Crime ID", control)} AS record_id, lsoa AS lsoa_code,
                   {_text("LSOA name", control)} AS lsoa_name, lon, lat,
                   {_text("Location", control)} AS location,
                   lsoa IS NOT NULL AND lon IS NOT NULL AS located,
                   {_text("Last outcome category", control)} AS outcome,
                   {_text("Context", control)} AS context{why}
            FROM {source}"""
    if kind == "outcomes":
        return f"""
            SELECT _file, _line AS line_no, force,
                   TRY_CAST("Month" || '-01' AS DATE) AS month,
                   {_text("Crime ID", control)} AS crime_id,
                   lsoa AS lsoa_code, lon, lat, {_text("Location", control)} AS location,
                   {ctype} AS outcome{why}
            FROM {source}"""
    return f"""
        SELECT _file, _line AS line_no, force,
               coalesce(CAST(file_month || '-01' AS DATE),
                        date_trunc('month', _at)::DATE) AS month,
               _at AS searched_at, {_text("Type", control)} AS search_type,
               {_text("Policing operation", control)} AS policing_operation, lon, lat,
               {_text("Gender", control)} AS gender, {_text("Age range", control)} AS age_range,
               {_text("Self-defined ethnicity", control)} AS self_defined_ethnicity,
               {_text("Officer-defined ethnicity", control)} AS officer_defined_ethnicity,
               {_text("Legislation", control)} AS legislation,
               {_text("Object of search", control)} AS object_of_search,
               {_text("Outcome", control)} AS outcome,
               TRY_CAST({_text("Outcome linked to object of search", control)} AS BOOLEAN)
                   AS outcome_linked,
               TRY_CAST({_text("Removal of more than just outer clothing", control)}
                        AS BOOLEAN) AS removal_of_clothing{why}
        FROM {source}"""


def _control_flag(columns: Sequence[str], files: Sequence[PoliceFile]) -> str:
    """Whether any field of the row holds a control character: tested only in the files whose
    scan found one, so clean files pay nothing."""
    marked = [str(i) for i, pf in enumerate(files) if pf.control]
    if not marked:
        return "false AS _control"
    joined = ", ".join(f'"{c}"' for c in columns)
    return (f"CASE WHEN _file IN ({', '.join(marked)}) THEN "
            f"regexp_matches(concat_ws('', {joined}), '{CONTROL}') ELSE false END AS _control")


def _find_rejects(con: duckdb.DuckDBPyConnection, kind: str) -> bool:
    """The table REJECTS (_file, _line, _reason) of every rejected row of PARSED, found in one
    scan; returns whether there is any."""
    con.execute(f"""CREATE OR REPLACE TEMP TABLE "{REJECTS}" AS
        SELECT _file, _line, _reason FROM (SELECT _file, _line, {_reason_sql(kind)} AS _reason
                                           FROM "{PARSED}")
        WHERE _reason IS NOT NULL""")
    return _with_duplicates(con, kind)


def _rejects_from(con: duckdb.DuckDBPyConnection, bad: pa.Table, kind: str) -> bool:
    """The table REJECTS from the rows found invalid (`bad`: _file, line_no, _reason), and the
    repeated Crime IDs; returns whether there is any."""
    con.register("_bad_arrow", bad)
    try:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE "{REJECTS}" AS
            SELECT _file::INTEGER AS _file, line_no::BIGINT AS _line,
                   _reason::VARCHAR AS _reason FROM _bad_arrow""")
    finally:
        con.unregister("_bad_arrow")
    return _with_duplicates(con, kind)


def _row_keys(files: pa.ChunkedArray, lines: pa.ChunkedArray) -> pa.ChunkedArray:
    """One number per (file index, line), to find rows by both at once."""
    return pc.add(pc.multiply(pc.cast(files, pa.int64()), 1 << 32), pc.cast(lines, pa.int64()))


def _with_duplicates(con: duckdb.DuckDBPyConnection, kind: str) -> bool:
    """Adds the repeated Crime IDs of a street stage to REJECTS; whether it holds any row."""
    if kind == "street":
        # The same Crime ID twice in one file is a publishing duplicate: keep the first valid
        # row. The IDs repeated among all rows are found by one grouping on their hashes (few
        # or none; a collision only adds rows to look at), and only their rows are looked at
        # again, by the IDs themselves.
        con.execute(f"""INSERT INTO "{REJECTS}"
            WITH repeated AS (SELECT _file, hash("Crime ID") AS _hash FROM "{STAGE}"
                              WHERE "Crime ID" IS NOT NULL GROUP BY ALL HAVING count(*) > 1),
                 valid AS (SELECT s._file, s._line, s."Crime ID" FROM "{STAGE}" s
                           SEMI JOIN repeated p
                             ON p._file = s._file AND p._hash = hash(s."Crime ID")
                           ANTI JOIN "{REJECTS}" x USING (_file, _line)
                           WHERE s."Crime ID" IS NOT NULL),
                 first AS (SELECT _file, "Crime ID", min(_line) AS _first_line FROM valid
                           GROUP BY ALL HAVING count(*) > 1)
            SELECT v._file, v._line,
                   'duplicate Crime ID: first seen at line ' || f._first_line
            FROM valid v JOIN first f USING (_file, "Crime ID")
            WHERE v._line > f._first_line""")
    ((count,),) = con.execute(f'SELECT count(*) FROM "{REJECTS}"').fetchall()
    return bool(count)


def stage_many(con: duckdb.DuckDBPyConnection, files: list[PoliceFile], table: str) -> bool:
    """Parse `files` (all of one layout) into the temporary view `table`: ``_file`` (index into
    `files`), ``_line`` (the physical line the row starts on), ``_error`` (a structural problem
    such as a wrong number of fields, else NULL) and one VARCHAR column per layout field.
    Returns whether its rows come in (_file, _line) order as they are (no sort needed).

    Well-formed files are read by DuckDB in one pass per header variant; a file with blank lines,
    records spanning lines or rows DuckDB rejects is re-read with Python's csv module, which
    gives exact line numbers and keeps malformed rows for quarantine."""
    layout = LAYOUTS[files[0].kind]
    drop_stage(con, table)
    slow: list[int] = []
    # One DuckDB read per header and line-ending variant: a multi-file read takes its dialect
    # from the first file, and LF files read with a CRLF dialect come out wrong.
    variants: dict[tuple[tuple[str, ...], bool], list[int]] = {}
    for index, pf in enumerate(files):
        variants.setdefault((tuple(pf.header), pf.crlf), []).append(index)
    parts: list[str] = []
    ordered = True
    for number, ((header, _), indexes) in enumerate(variants.items()):
        part, again, in_order = _stage_with_duckdb(con, [files[i] for i in indexes], indexes,
                                                   header, layout, f"{table}_raw{number}")
        slow.extend(again)
        ordered = ordered and in_order
        if part:
            parts.append(part)
    if slow:
        cols = ", ".join(f'"{c}" VARCHAR' for c in layout)
        con.execute(f'CREATE TEMP TABLE "{table}_slow" (_file INTEGER, _line BIGINT, '
                    f"_error VARCHAR, {cols})")
        for index in sorted(slow):
            _stage_with_csv_module(con, files[index], index, layout, f"{table}_slow")
        parts.append(f'SELECT * FROM "{table}_slow"')
    if not parts:   # every file empty
        cols = ", ".join(f'NULL::VARCHAR AS "{c}"' for c in layout)
        parts.append(f"SELECT NULL::INTEGER AS _file, NULL::BIGINT AS _line, "
                     f"NULL::VARCHAR AS _error, {cols} WHERE false")
    con.execute(f'CREATE TEMP VIEW "{table}" AS ' + " UNION ALL ".join(parts))
    return ordered and len(parts) == 1


def drop_stage(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Remove a stage made by `stage_many` (the view and the tables behind it)."""
    con.execute(f'DROP VIEW IF EXISTS "{table}"')
    for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary AND "
            "(table_name LIKE ? ESCAPE '\\' OR table_name = ?)",
            [table.replace("_", "\\_") + "\\_%", table]).fetchall():
        con.execute(f'DROP TABLE IF EXISTS "{name}"')


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _stage_with_duckdb(con: duckdb.DuckDBPyConnection, files: list[PoliceFile],
                       indexes: list[int], header: tuple[str, ...], layout: tuple[str, ...],
                       raw: str) -> tuple[str | None, list[int], bool]:
    """Read `files` into the table `raw`; returns the SELECT giving their staged rows (None if
    no file qualified), the indexes of files that need the slow path after all, and whether
    that SELECT gives its rows in (_file, _line) order."""
    columns = ", ".join(_literal(c) + ": 'VARCHAR'" for c in header)
    paths = "[" + ", ".join(_literal(str(pf.path)) for pf in files) + "]"
    # Each row's file index is worked out from its file name as it is read: the name is the
    # same for a whole chunk of rows, so this costs nothing per row (unlike a join on it).
    index_of = "[" + ", ".join(str(i) for i in indexes) + "]"
    try:
        con.execute(
            f"""CREATE TEMP TABLE "{raw}" AS
                SELECT {index_of}[list_position({paths}, _path)]::INTEGER AS _file,
                       * EXCLUDE (_path)
                FROM read_csv({paths}, header = true, delim = ',', quote = '"',
                              escape = '"', columns = {{{columns}}}, strict_mode = true,
                              max_line_size = {max_field_bytes() + 2},
                              filename = '_path', store_rejects = true,
                              rejects_table = '{raw}_rej', rejects_scan = '{raw}_scan')"""
        )
    except duckdb.Error:
        # What DuckDB cannot read at all (a line over the size limit, a dialect it cannot
        # settle) the careful path reads, and names the line.
        for name in (raw, f"{raw}_rej", f"{raw}_scan"):
            con.execute(f'DROP TABLE IF EXISTS "{name}"')
        return None, list(indexes), True
    rejected = {r[0] for r in con.execute(
        f"""SELECT DISTINCT s.file_path FROM "{raw}_rej" r
            JOIN "{raw}_scan" s USING (scan_id, file_id)""").fetchall()}
    # Insertion order is scan order, so a file's rows are contiguous and in line order: a row's
    # line is its rowid less the file's first rowid, plus 2 (the header is line 1).
    spans = {int(i): (int(n), int(first), int(last)) for i, n, first, last in con.execute(
        f'SELECT _file, count(*), min(rowid), max(rowid) FROM "{raw}" GROUP BY 1').fetchall()}
    con.execute(f'DROP TABLE IF EXISTS "{raw}_rej"')
    con.execute(f'DROP TABLE IF EXISTS "{raw}_scan"')
    good: list[tuple[int, int]] = []
    slow: list[int] = []
    for pf, index in zip(files, indexes, strict=True):
        n, first, last = spans.get(index, (0, 0, -1))
        if str(pf.path) in rejected or n != pf.lines or (n and last - first + 1 != n):
            slow.append(index)
        else:
            good.append((index, first))
    if not good:
        return None, slow, True
    if slow:
        con.execute(f'DELETE FROM "{raw}" WHERE _file IN ({", ".join(map(str, slow))})')
    # The files' rows follow each other in the order given unless the reader interleaved them.
    firsts = [first for _, first in sorted(good)]
    in_order = firsts == sorted(firsts)
    first_of = [0] * (max(indexes) + 1)
    for index, first in good:
        first_of[index] = first
    select = ", ".join(f'"{c}"' if c in header else f'NULL::VARCHAR AS "{c}"' for c in layout)
    return (f"""SELECT _file, rowid - [{", ".join(map(str, first_of))}][_file + 1] + 2
                       AS _line, NULL::VARCHAR AS _error, {select}
                FROM "{raw}\"""", slow, in_order)


def _stage_with_csv_module(con: duckdb.DuckDBPyConnection, pf: PoliceFile, index: int,
                           layout: tuple[str, ...], table: str) -> None:
    """Exact line numbers and structural errors, at Python speed (used for unusual files),
    streamed in chunks of rows so that memory stays bounded."""
    csv.field_size_limit(max_field_bytes())
    width = len(pf.header)
    position = {name: i for i, name in enumerate(pf.header)}
    with open_text(pf.path) as handle:
        reader = csv.reader(handle)
        next(reader)  # header
        start = reader.line_num + 1
        chunk: list[tuple[int, str | None, list[str]]] = []
        while True:
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise InputError(pf.file.display, f"cannot be parsed as CSV ({exc})",
                                 line=start, expected="data.police.uk rows; the largest field "
                                 f"accepted is {max_field_bytes():,} bytes (setting "
                                 "CSPKIT_MAX_FIELD_BYTES)") from exc
            this_start, start = start, reader.line_num + 1
            if not record or (len(record) == 1 and not record[0].strip()):
                continue  # a blank line is not a row (a line of empty fields is: DuckDB agrees)
            error = None
            if len(record) != width:
                error = f"expected {width} fields, found {len(record)}"
                record = (record + [""] * width)[:width]
            chunk.append((this_start, error, record))
            if len(chunk) >= 50_000:
                _insert_slow(con, chunk, index, layout, position, table)
                chunk = []
        _insert_slow(con, chunk, index, layout, position, table)


def _insert_slow(con: duckdb.DuckDBPyConnection, chunk: list[tuple[int, str | None, list[str]]],
                 index: int, layout: tuple[str, ...], position: dict[str, int],
                 table: str) -> None:
    if not chunk:
        return
    data: dict[str, pa.Array] = {
        "_file": pa.array([index] * len(chunk), pa.int32()),
        "_line": pa.array([c[0] for c in chunk], pa.int64()),
        "_error": pa.array([c[1] for c in chunk], pa.string()),
    }
    for name in layout:
        at = position.get(name)
        data[name] = pa.array([(c[2][at] or None) if at is not None else None for c in chunk],
                              pa.string())
    con.register("_slow_arrow", pa.table(data))
    con.execute(f'INSERT INTO "{table}" SELECT * FROM _slow_arrow')
    con.unregister("_slow_arrow")


def raw_lines(pf: PoliceFile, line_numbers: Sequence[int]) -> dict[int, str]:
    """The text of the given physical lines (to keep beside a quarantined row), streamed."""
    wanted = set(line_numbers)
    out: dict[int, str] = {}
    if not wanted:
        return out
    last = max(wanted)
    with open(pf.path, encoding="utf-8-sig", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            if number in wanted:
                out[number] = line.rstrip("\r\n")
            if number >= last:
                break
    return out
