"""Turning one cell into a canonical value, or a reason the row cannot be loaded.

Each converter returns the value or raises `Reject` with a reason that starts with the column
name, so the quarantine says which cell to fix.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from cspkit.sources.partner.schema import FieldSpec
from cspkit.sources.reference.gss import CODE
from cspkit.sources.reference.table import text_of

FINANCIAL_YEAR = re.compile(r"^(?:FY\s*)?(\d{4})\s*[/-]\s*(\d{2}|\d{4})$", re.IGNORECASE)
MONTH = re.compile(r"^(\d{4})-(\d{1,2})(?:-\d{1,2})?$")
EXAMPLE = {"%d/%m/%Y": "31/01/2023", "%Y-%m-%d": "2023-01-31", "%H:%M": "23:05"}


class Reject(Exception):
    def __init__(self, spec: FieldSpec, problem: str) -> None:
        super().__init__(f"{spec.label}: {problem}")
        self.column = spec.column


def raw_value(spec: FieldSpec, cells: list[Any], index: int | None) -> Any:
    if spec.column is None:
        return spec.value
    if index is None or index >= len(cells):
        return ""
    return cells[index]


def text(spec: FieldSpec, value: Any) -> Any:
    """The cell as text, through the schema's value map when it has one; None when blank."""
    word = text_of(value) if not isinstance(value, str) else value.strip()
    if word == "":
        return None
    if spec.mapping is None:
        return word
    if word in spec.mapping:
        return spec.mapping[word]
    folded = {k.casefold(): v for k, v in spec.mapping.items()}
    if word.casefold() in folded:
        return folded[word.casefold()]
    if spec.has_default:
        return spec.default
    codes = ", ".join(spec.mapping)
    raise Reject(spec, f'unmapped value "{word}" (expected one of {codes})')


def required_text(spec: FieldSpec, value: Any) -> str:
    result = text(spec, value)
    if result is None or str(result).strip() == "":
        raise Reject(spec, "empty (every row needs a value)")
    return str(result)


def _example(fmt: str) -> str:
    return EXAMPLE.get(fmt, fmt)


def date(spec: FieldSpec, value: Any, bounds: tuple[dt.date, dt.date]) -> dt.date:
    fmt = spec.format or "%Y-%m-%d"
    if isinstance(value, dt.datetime):
        result = value.date()
    elif isinstance(value, dt.date):
        result = value
    else:
        word = text_of(value)
        if not word:
            raise Reject(spec, f"empty (expected a date like {_example(fmt)})")
        try:
            result = dt.datetime.strptime(word, fmt).date()
        except ValueError:
            raise Reject(spec, f'"{word}" is not a date in the form {_example(fmt)}') from None
    if not bounds[0] <= result <= bounds[1]:
        raise Reject(spec, f"{result.isoformat()} is outside the accepted dates "
                     f"{bounds[0].isoformat()} to {bounds[1].isoformat()}")
    return result


def time(spec: FieldSpec, value: Any) -> dt.time | None:
    if isinstance(value, dt.datetime):
        return value.time()
    if isinstance(value, dt.time):
        return value
    word = text_of(value)
    if not word:
        return None
    fmt = spec.format or "%H:%M"
    for candidate in (fmt, "%H:%M:%S", "%H:%M"):   # exports add seconds without saying
        try:
            return dt.datetime.strptime(word, candidate).time()
        except ValueError:
            continue
    raise Reject(spec, f'"{word}" is not a time in the form {_example(fmt)}')


def number(spec: FieldSpec, value: Any, *, blank_ok: bool = False) -> float | None:
    if isinstance(value, bool):
        raise Reject(spec, f'expected a number, found "{value}"')
    if isinstance(value, int | float):
        result = float(value)
    else:
        word = text_of(value).replace(",", "")
        if not word:
            if blank_ok:
                return None
            raise Reject(spec, "empty (expected a number)")
        try:
            result = float(word)
        except ValueError:
            raise Reject(spec, f'expected a number, found "{text_of(value)}"') from None
    if math.isnan(result) or math.isinf(result):
        raise Reject(spec, f'expected a number, found "{text_of(value)}"')
    return result


def code(spec: FieldSpec, value: Any, what: str) -> str | None:
    word = text(spec, value)
    if word is None:
        return None
    word = str(word).strip().upper()
    if not CODE.match(word):
        raise Reject(spec, f'"{word}" is not {what} (expected a code like '
                     f'{"E01012345" if what == "an LSOA code" else "E06000032"})')
    return word


def period(spec: FieldSpec, value: Any) -> tuple[dt.date, dt.date, str]:
    """(first day, last day, label as written) of the period in the cell."""
    try:
        return _period(spec, value)
    except (ValueError, OverflowError) as exc:   # e.g. year 0: no date can hold it
        raise Reject(spec, f'"{text_of(value)}" is not a period a calendar can hold '
                     f"({exc})") from exc


def _period(spec: FieldSpec, value: Any) -> tuple[dt.date, dt.date, str]:
    fmt = spec.format or ""
    label = value.date().isoformat() if isinstance(value, dt.datetime) else text_of(value)
    if not label:
        raise Reject(spec, "empty (expected a period)")
    if fmt == "financial_year":
        match = FINANCIAL_YEAR.match(label)
        if match:
            start, end = int(match.group(1)), match.group(2)
            if int(end) % (100 if len(end) == 2 else 10000) == (start + 1) % (
                    100 if len(end) == 2 else 10000):
                return dt.date(start, 4, 1), dt.date(start + 1, 3, 31), label
        raise Reject(spec, f'"{label}" is not a financial year (expected e.g. 2022/23)')
    if fmt == "calendar_year":
        if re.fullmatch(r"\d{4}", label):
            year = int(label)
            return dt.date(year, 1, 1), dt.date(year, 12, 31), label
        raise Reject(spec, f'"{label}" is not a calendar year (expected e.g. 2022)')
    if fmt == "month":
        match = MONTH.match(label)
        if match and 1 <= int(match.group(2)) <= 12:
            first = dt.date(int(match.group(1)), int(match.group(2)), 1)
            return first, _month_end(first), label
        raise Reject(spec, f'"{label}" is not a month (expected e.g. 2022-04)')
    day = date(spec, value, (dt.date.min, dt.date.max))
    if spec.period_length == "month":
        first = day.replace(day=1)
        return first, _month_end(first), label
    if spec.period_length == "year":
        # A year from the given day; 29 February has no twin, so the 28th stands in.
        following = dt.date(day.year + 1, day.month, min(day.day, 28 if day.month == 2 else 31))
        return day, following - dt.timedelta(days=1), label
    return day, day, label


def _month_end(first: dt.date) -> dt.date:
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)
