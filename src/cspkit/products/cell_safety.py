"""Text cells that a spreadsheet would run as a formula, neutralised before any CSV or XLSX is
written (OWASP "CSV injection").

A category, ward name, partner code or title that begins with `=`, `+`, `-`, `@`, a tab or a
carriage return can be read by Excel, LibreOffice or Google Sheets as a formula (and a formula
can fetch a URL or, through DDE in older Excel, run a command). Every such text cell gets a
leading `'`, which spreadsheets treat as "this is text" and which a reader can still see.
Full-width `＝ ＋ － ＠` are treated the same as a precaution: it costs nothing, and such text is
rare in this data.

Left alone:
- numbers (int, float, numpy numbers): they are values, never formulas;
- text that is only a plain signed number, such as `-12`, `+3.5`, `-12%` or `-1,234`: a
  spreadsheet reads it as that number; with no name, reference, function or operator after the
  sign there is nothing to evaluate, and prefixing it would break published change columns
  ("-3") for every program that reads the CSV;
- text already starting with `'`: so applying this twice changes nothing.

Every writer goes through `safe_cell` / `safe_frame` (CSV files through `write_csv`); XLSX
writers also pass each cell through `as_text`, so a string is stored as a string and never as a
formula. The XLSX keeps the visible `'` too (rather than Excel's hidden quote-prefix style), so
the cell stays safe when someone saves the sheet as CSV again.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

# OWASP's list, and the full-width forms of the four printable ones.
TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
PREFIX = "'"
# A sign, digits (plain or in comma-separated thousands), optional decimals, optional %.
PLAIN_NUMBER = re.compile(
    r"[+-](?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)%?")


def is_formula_like(text: str) -> bool:
    """True when a spreadsheet could read `text` as a formula."""
    return text.startswith(TRIGGERS) and not PLAIN_NUMBER.fullmatch(text)


def safe_cell(value: Any) -> Any:
    """`value` with a leading `'` when it is formula-like text; anything else unchanged."""
    if isinstance(value, str) and is_formula_like(value):
        return PREFIX + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` whose text cells and column names are safe to write; number columns
    are not touched (their dtype stays numeric)."""
    out = frame.copy()
    for i in range(frame.shape[1]):
        column = frame.iloc[:, i]
        if pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(
                column.dtype):
            continue
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype(object)
        if column.map(lambda v: isinstance(v, str) and is_formula_like(v)).any():
            out.isetitem(i, column.map(safe_cell))
    names = [safe_cell(c) for c in frame.columns]
    if names != list(frame.columns):
        out.columns = names
    return out


def write_csv(frame: pd.DataFrame, path: Path | None = None) -> str | None:
    """`safe_frame(frame)` as UTF-8 CSV without the index, into `path` (or returned as text).

    Lines end in `\n`, except when a text cell holds a carriage return: then in `\r\n` (as RFC
    4180 has it), because Python's csv writer quotes a field holding `\r` only when `\r` is
    part of the line ending, and an unquoted `\r` splits the row for every reader."""
    safe = safe_frame(frame)
    text = [c for c in safe.columns if isinstance(c, str)] + [
        v for i in range(safe.shape[1]) if not pd.api.types.is_numeric_dtype(safe.iloc[:, i])
        for v in safe.iloc[:, i] if isinstance(v, str)]
    ending = "\r\n" if any("\r" in t for t in text) else "\n"
    return safe.to_csv(path, index=False, encoding="utf-8", lineterminator=ending)


def as_text(cell: Any) -> None:
    """An openpyxl cell holding a string is written as a string, never as a formula (openpyxl
    makes any string starting with `=` a formula)."""
    if isinstance(cell.value, str):
        cell.value = safe_cell(cell.value)
        cell.data_type = "s"
