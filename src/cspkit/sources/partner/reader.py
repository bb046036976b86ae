"""Reading a partner file (CSV, gzipped CSV or one workbook sheet) as rows that remember where
they came from: the physical line of a CSV, the 1-based row of a sheet, so a quarantined row can
be found by whoever sent the file."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from cspkit.errors import InputError
from cspkit.sources.inputs import InputFile, looks_like_html
from cspkit.sources.partner.schema import Schema
from cspkit.sources.reference.gss import clean_header
from cspkit.sources.reference.table import is_workbook, read_csv, text_of

# Exports often put a title or notes above the header: look for it in the first rows.
HEADER_SEARCH_ROWS = 20

Cell = Any   # text, or a date / time / number as a workbook stores it


@dataclass
class Table:
    file: str
    sheet: str | None
    header: list[str]
    columns: dict[str, int]            # schema column -> index in the header
    rows: list[tuple[int, list[Cell]]]
    raw_lines: list[str] | None        # a CSV's physical lines, for quarantine
    control_characters: int = 0        # rows that had control characters removed

    def raw(self, line: int, cells: list[Cell]) -> str:
        if self.raw_lines is not None and 0 < line <= len(self.raw_lines):
            return self.raw_lines[line - 1].rstrip("\r")
        return ",".join(text_of(c) for c in cells)


def read_table(file: InputFile, schema: Schema) -> Table:
    """The file's header and data rows; raises InputError when the file is not what the
    schema describes (so nothing of it is loaded)."""
    head = file.head_bytes(4096)
    if not head.strip():
        raise InputError(file.display, "the file is empty",
                         expected=f"a header row and data rows as schema '{schema.name}' "
                         "describes")
    if looks_like_html(head):
        raise InputError(file.display, "this is a web page (HTML), not a data file; the "
                         "download may have failed or needed a login",
                         expected="a CSV or Excel export")
    if is_workbook(file):
        sheet, rows = _sheet_rows(file, schema)
        raw_lines = None
        controlled = 0
    else:
        if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
            raise InputError(file.display, "this is an Excel workbook named as a CSV",
                             expected="a file ending .xlsx or .xls")
        parsed = read_csv(file)
        sheet, rows, raw_lines = None, [(line, list(cells)) for line, cells in parsed.rows], \
            parsed.raw_lines
        controlled = parsed.control_characters
    if not rows:
        raise InputError(file.display, "the file holds no rows",
                         expected=f"a header row with {', '.join(schema.required_columns())}")
    header_at, columns = _find_header(file, schema, rows, sheet)
    header = [clean_header(c) for c in rows[header_at][1]]
    return Table(file.display, sheet, header, columns, rows[header_at + 1:], raw_lines,
                 controlled)


def _sheet_rows(file: InputFile, schema: Schema) -> tuple[str, list[tuple[int, list[Cell]]]]:
    try:
        book = pd.ExcelFile(file.path, engine="calamine")
    except Exception as exc:  # calamine raises its own and zip/OS errors for a bad workbook
        raise InputError(file.display, f"not a readable Excel workbook ({exc})",
                         expected="an .xlsx or .xls file as exported") from exc
    with book:
        names = [str(n) for n in book.sheet_names]
        wanted = schema.sheet if schema.sheet is not None else 0
        if isinstance(wanted, int):
            if wanted >= len(names):
                raise InputError(file.display, f"the workbook has no sheet number {wanted} "
                                 f"(0-based; it has {len(names)}: {', '.join(names)})",
                                 expected=f"the sheet schema '{schema.name}' names")
            name = names[wanted]
        else:
            matches = [n for n in names if n.strip().casefold() == wanted.strip().casefold()]
            if not matches:
                raise InputError(file.display, f"no sheet named '{wanted}' (sheets: "
                                 f"{', '.join(names)})",
                                 expected=f"the sheet schema '{schema.name}' names")
            name = matches[0]
        try:
            # keep_default_na off: "n/a" or "NA" in a value cell must be quarantined as
            # written, not silently read as blank.
            frame = pd.read_excel(book, sheet_name=name, header=None, dtype=object,
                                  keep_default_na=False, na_values=[])
        except Exception as exc:
            raise InputError(file.display, f"cannot read sheet '{name}' ({exc})",
                             expected="an .xlsx or .xls file as exported") from exc
    rows = []
    # pandas keeps leading blank rows, so position + 1 is the row number Excel shows.
    for position, values in enumerate(frame.itertuples(index=False, name=None), start=1):
        cells = [_cell(v) for v in values]
        if any(c != "" for c in cells):
            rows.append((position, cells))
    return name, rows


def _cell(value: Any) -> Cell:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dt.date | dt.time | int | float | bool):
        return value
    return str(value).strip()


def _key(name: str) -> str:
    return clean_header(name).casefold()


def _find_header(file: InputFile, schema: Schema, rows: list[tuple[int, list[Cell]]],
                 sheet: str | None) -> tuple[int, dict[str, int]]:
    """The first row holding every required column (matched ignoring case and spacing)."""
    required = schema.required_columns()
    wanted = [*required, *schema.optional_columns()]
    for index, (_, cells) in enumerate(rows[:HEADER_SEARCH_ROWS]):
        keys = {}
        for position, cell in enumerate(cells):
            keys.setdefault(_key(text_of(cell)), position)
        if all(_key(c) in keys for c in required):
            return index, {c: keys[_key(c)] for c in wanted if _key(c) in keys}
    found = [clean_header(text_of(c)) for c in rows[0][1] if text_of(c)]
    missing = [c for c in required if _key(c) not in {_key(f) for f in found}]
    where = f" (sheet '{sheet}')" if sheet else ""
    raise InputError(file.display, f"missing column{'s' if len(missing) != 1 else ''} "
                     f"{', '.join(missing)}{where}; found {', '.join(found) or 'nothing'}",
                     expected=f"the columns schema '{schema.name}' names: "
                     f"{', '.join(required)}")
