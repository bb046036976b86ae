"""Numbers as ONS and MHCLG spreadsheets write them: '1,563', '29199', '1665.0', '-0.137'."""

from __future__ import annotations

import math
import re

import numpy as np

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def parse_number(text: str) -> float | None:
    """The value of `text`, None when blank; ValueError saying why when it is not a number."""
    try:
        number = float(text)   # the common case first: this runs for every cell
    except ValueError:
        value = text.strip()
        if not value:
            return None
        if not _THOUSANDS.match(value):
            raise ValueError(f"'{text}' is not a number") from None
        number = float(value.replace(",", ""))
    if not math.isfinite(number) or "_" in text:  # float() accepts 'inf' and '1_000'
        raise ValueError(f"'{text}' is not a number")
    return number


def parse_whole(text: str, low: int, high: int) -> int:
    """A whole number in low..high (ranks and deciles); ValueError otherwise, also when blank."""
    number = parse_number(text)
    if number is None:
        raise ValueError("no value")
    if not number.is_integer():
        raise ValueError(f"'{text}' is not a whole number")
    if not low <= number <= high:
        raise ValueError(f"{int(number)} is outside {low}..{high}")
    return int(number)


def parse_numbers(texts: list[str]) -> np.ndarray:
    """parse_number over a column at once: NaN where a cell is blank or not a number (the
    caller asks parse_number for the reason on those rows only)."""
    try:
        values = np.array(texts, dtype=float)   # every cell a plain number: the usual case
    except ValueError:
        values = np.array([_or_nan(t) for t in texts], dtype=float)
    values[~np.isfinite(values)] = np.nan
    return values


def _or_nan(text: str) -> float:
    try:
        number = parse_number(text)
    except ValueError:
        return math.nan
    return math.nan if number is None else number
