"""Reading a reference CSV or workbook sheet as text rows that remember where they came from.

Every row keeps its position in the file (the physical line of a CSV, counting the header and
the lines inside quoted multi-line headers; the 1-based row of a workbook sheet) so a rejected
row can be quarantined with a line a user can find. Values are kept as text; each loader parses
and validates the columns it uses.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from python_calamine import CalamineError, CalamineSheet, CalamineWorkbook

from cspkit.errors import InputError
from cspkit.sources.inputs import InputFile, gunzip_bytes
from cspkit.sources.limits import current_limits
from cspkit.sources.reference.gss import clean_header, is_code

# A header sits within the first rows of a sheet (ONS tables put titles and notes above it).
HEADER_SEARCH_ROWS = 40
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")

Row = tuple[int, list[str]]


@dataclass
class Sheet:
    """The non-blank rows of a CSV file or of one workbook sheet."""

    name: str | None                       # workbook sheet name; None for a CSV
    rows: list[Row]
    raw_lines: list[str] | None = None     # a CSV's physical lines, for quarantine
    control_characters: int = 0            # rows that had control characters removed


@dataclass
class Table:
    """A header and the data rows under it."""

    file: str
    sheet: str | None
    header: list[str]
    header_line: int
    title: list[str]                       # text above the header (table titles)
    rows: list[Row]
    notes: list[Row] = field(default_factory=list)   # footnotes: one cell of prose
    raw_lines: list[str] | None = None

    def raw(self, line: int, cells: list[str]) -> str:
        """The row as it stands in the file (the CSV line; the cells joined for a sheet)."""
        if self.raw_lines is not None and 0 < line <= len(self.raw_lines):
            return self.raw_lines[line - 1].rstrip("\r")
        return ",".join(cells)

    def where(self) -> str:
        """" (sheet 'X')" for a workbook, "" for a CSV: appended to quarantine reasons."""
        return f" (sheet '{self.sheet}')" if self.sheet else ""

    def column(self, predicate: Callable[[str], bool]) -> int | None:
        for index, name in enumerate(self.header):
            if predicate(name):
                return index
        return None


def column_values(rows: list[Row], index: int | None) -> list[str]:
    """One column of `rows` as text ('' where a row is short)."""
    if index is None:
        return [""] * len(rows)
    return [cells[index] if index < len(cells) else "" for _, cells in rows]


def cell(row: list[str], index: int | None) -> str:
    if index is None or index >= len(row):
        return ""
    return row[index]


def is_workbook(file: InputFile) -> bool:
    return file.name.lower().endswith(WORKBOOK_SUFFIXES)


# ----------------------------------------------------------------------------- CSV


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) as ONS publishes now; Windows-1252 as older files are."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_bytes(file: InputFile) -> bytes:
    if file.path.name.lower().endswith(".gz"):
        return gunzip_bytes(file)   # bounded against gzip bombs
    return file.path.read_bytes()


def head(file: InputFile, limit: int = 65536) -> bytes:
    """The file's first bytes, decompressed; a corrupt gzip stream is the user's to fix."""
    try:
        return file.head_bytes(limit)
    except zlib.error as exc:
        raise InputError(file.display, f"not a readable gzip file ({exc})",
                         expected="a complete gzip-compressed file") from exc


# Control characters other than tab, LF and CR have no place in a text cell.
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def csv_sheet(text: str, limit: int | None = None) -> Sheet:
    """Parse CSV text; each record is numbered by the physical line it starts on. Control
    characters are removed from cells and the rows that had them counted."""
    csv.field_size_limit(current_limits().max_field_bytes)
    controlled = 0
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()

    def feed() -> Iterator[str]:
        for line in lines:
            yield line + "\n"

    reader = csv.reader(feed())
    rows: list[Row] = []
    previous_end = 0
    try:
        for record in reader:
            start = previous_end + 1
            previous_end = reader.line_num
            cells = [value.strip() for value in record]
            if any(CONTROL.search(c) for c in cells):
                cells = [CONTROL.sub("", c) for c in cells]
                controlled += 1
            if any(cells):
                rows.append((start, cells))
                if limit is not None and len(rows) >= limit:
                    break
    except csv.Error:
        if limit is None:
            raise
        # a head cut mid-record: what was read is enough to recognise the header
    return Sheet(None, rows, lines, controlled)


def read_csv(file: InputFile) -> Sheet:
    text = decode(read_bytes(file))
    try:
        return csv_sheet(text)
    except csv.Error as exc:
        raise InputError(file.display, f"not a readable CSV ({exc})",
                         expected="a comma-separated file with a header row") from exc


def head_csv(file: InputFile) -> Sheet:
    """The first records of a CSV, enough to find its header."""
    return csv_sheet(head(file).decode("utf-8-sig", errors="replace"), limit=HEADER_SEARCH_ROWS)


# ----------------------------------------------------------------------------- workbooks


def open_workbook(file: InputFile) -> CalamineWorkbook:
    try:
        return CalamineWorkbook.from_path(str(file.path))
    except (CalamineError, ValueError, OSError) as exc:
        raise InputError(file.display, f"not a readable Excel workbook ({exc})",
                         expected="an .xlsx or .xls file as downloaded") from exc


def workbook_sheets(file: InputFile) -> dict[str, CalamineSheet]:
    """Every sheet of the workbook, parsed (calamine parses a sheet whole when it is opened,
    so recognising and loading share these)."""
    book = open_workbook(file)
    sheets = {}
    for name in book.sheet_names:
        try:
            sheets[name] = book.get_sheet_by_name(name)
        except (CalamineError, ValueError) as exc:
            raise InputError(file.display, f"cannot read sheet '{name}' ({exc})",
                             expected="an .xlsx or .xls file as downloaded") from exc
    return sheets


def text_of(value: object) -> str:
    """A workbook cell as text: whole numbers without '.0', dates as ISO."""
    if type(value) is str:
        return value.strip()
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    return str(value).strip()


def sheet_rows(sheet: CalamineSheet, name: str, limit: int | None = None) -> Sheet:
    """The non-blank rows of a workbook sheet, numbered as the spreadsheet numbers them."""
    rows: list[Row] = []
    values = sheet.to_python(skip_empty_area=False, nrows=limit)
    for number, values_row in enumerate(values, start=1):
        cells = [v.strip() if type(v) is str
                 else str(int(v)) if type(v) is float and v.is_integer()
                 else text_of(v) for v in values_row]
        if any(cells):
            rows.append((number, cells))
    return Sheet(name, rows)


# ----------------------------------------------------------------------------- tables


def find_header(sheet: Sheet, matches: Callable[[list[str]], bool]) -> int | None:
    """Index in `sheet.rows` of the first row (among the first few) that `matches`."""
    for index, (_, cells) in enumerate(sheet.rows[:HEADER_SEARCH_ROWS]):
        if matches([clean_header(c) for c in cells]):
            return index
    return None


def _is_note(text: str) -> bool:
    """A lone piece of prose under a table ('1. Further information ...', 'Source: ONS') is a
    footnote; a lone code or number is a data row with cells missing, and is validated."""
    if is_code(text):
        return False
    try:
        float(text.replace(",", ""))
    except ValueError:
        return True
    return False


def table_from(sheet: Sheet, header_index: int, file: str) -> Table:
    header_line, header_cells = sheet.rows[header_index]
    header = [clean_header(c) for c in header_cells]
    title = [" ".join(c for c in cells if c) for _, cells in sheet.rows[:header_index]]
    rows: list[Row] = []
    notes: list[Row] = []
    for line, cells in sheet.rows[header_index + 1:]:
        filled = [c for c in cells if c]
        if len(filled) == 1 and len(header) > 2 and _is_note(filled[0]):
            notes.append((line, cells))
        else:
            rows.append((line, cells))
    return Table(file, sheet.name, header, header_line, title, rows, notes, sheet.raw_lines)


def year_in(text: str, pattern: str) -> int | None:
    match = re.search(pattern, text, re.IGNORECASE)
    return int(match.group(1)) if match else None
