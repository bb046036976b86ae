"""Reporting periods: parsing the forms analysts write, and checking two periods are comparable.

A period is a run of whole months. Police data are monthly and published months go missing,
so every comparison of two periods first checks how many of each period's months are
actually in the data: '8 of 12 months in 2019 vs 12 of 12 in 2018' is not a fall in crime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from cspkit.errors import CspkitError

PeriodKind = Literal["calendar", "financial", "rolling", "range"]

ACCEPTED_FORMS = ("'2023' (calendar year), '2023/24', '2023-24' or '2023/2024' (financial year "
                  "April 2023 to March 2024), '2023-01..2023-06' (months January to June 2023), "
                  "'rolling:2024-03' or '12m-to-2024-03' (the 12 months ending March 2024)")


class PeriodError(CspkitError, ValueError):
    """Text that is not a period, or two periods that cannot honestly be compared."""


def add_months(month: date, n: int) -> date:
    """The first of the month `n` months after (or before, if negative) `month`."""
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_start(day: date) -> date:
    """The first day of the month containing `day`."""
    return date(day.year, day.month, 1)


def month_label(month: date) -> str:
    """'Mar 2024': the short form used in labels and messages."""
    return month.strftime("%b %Y")


@dataclass(frozen=True)
class Period:
    """A run of whole months, `start` to `end` inclusive, each given as the first of its month.

    `label` is how reports name it ('2023', '2023/24', '12 months to Mar 2024'); `kind` says
    which form it was written in.
    """

    start: date
    end: date
    label: str
    kind: PeriodKind

    def __post_init__(self) -> None:
        """Refuse a period that does not run forwards over whole months."""
        if self.start.day != 1 or self.end.day != 1:
            raise PeriodError(f"period {self.label!r}: start and end must be first-of-month dates")
        if self.end < self.start:
            raise PeriodError(f"period {self.label!r} ends ({month_label(self.end)}) before it "
                              f"starts ({month_label(self.start)})")

    @property
    def n_months(self) -> int:
        """How many months the period spans."""
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def months(self) -> list[date]:
        """Every month of the period, in order, as first-of-month dates."""
        return [add_months(self.start, i) for i in range(self.n_months)]

    def contains(self, month: date) -> bool:
        """Whether the month containing `month` (any day of it) falls in the period."""
        return self.start <= month_start(month) <= self.end

    def __str__(self) -> str:
        """The label, so periods read naturally in messages."""
        return self.label


def calendar_year(year: int) -> Period:
    """January to December of `year`."""
    return Period(date(year, 1, 1), date(year, 12, 1), str(year), "calendar")


def financial_year(year: int) -> Period:
    """April `year` to March of the next year, labelled '2023/24'."""
    return Period(date(year, 4, 1), date(year + 1, 3, 1),
                  f"{year}/{(year + 1) % 100:02d}", "financial")


def rolling_year(end: date) -> Period:
    """The 12 months ending with the month containing `end`."""
    end = month_start(end)
    return Period(add_months(end, -11), end, f"12 months to {month_label(end)}", "rolling")


def month_range(start: date, end: date) -> Period:
    """The months from `start` to `end` inclusive."""
    start, end = month_start(start), month_start(end)
    label = month_label(start) if start == end else f"{month_label(start)} to {month_label(end)}"
    return Period(start, end, label, "range")


_YEAR = re.compile(r"(\d{4})")
_FINANCIAL = re.compile(r"(\d{4})[/-](\d{2}|\d{4})")
_RANGE = re.compile(r"(\d{4})-(\d{2})\.\.(\d{4})-(\d{2})")
_ROLLING = re.compile(r"(?:rolling:|12m-to-)(\d{4})-(\d{2})")


def _month(text: str, year: str, month: str) -> date:
    """The month YYYY-MM of `text`, or PeriodError if MM is not 01-12."""
    if not 1 <= int(month) <= 12:
        raise PeriodError(f"{text!r}: {year}-{month} is not a month (months run 01 to 12)")
    return date(int(year), int(month), 1)


def parse_period(text: str) -> Period:
    """Read a period as analysts write it: see ACCEPTED_FORMS.

    Raises PeriodError naming the text and the accepted forms when it is none of them.
    """
    cleaned = text.strip().lower()
    if m := _YEAR.fullmatch(cleaned):
        return calendar_year(int(m[1]))
    if m := _FINANCIAL.fullmatch(cleaned):
        first, second = int(m[1]), m[2]
        expected = f"{(first + 1) % 100:02d}" if len(second) == 2 else str(first + 1)
        if second != expected:
            raise PeriodError(
                f"{text!r} is not a financial year: a financial year starting in April {first} "
                f"ends in March {first + 1}, written '{first}/{expected}'. "
                f"For a run of months write e.g. '{first}-01..{first}-06'. "
                f"Accepted forms: {ACCEPTED_FORMS}")
        return financial_year(first)
    if m := _RANGE.fullmatch(cleaned):
        start, end = _month(text, m[1], m[2]), _month(text, m[3], m[4])
        if end < start:
            raise PeriodError(f"{text!r}: the range ends before it starts")
        return month_range(start, end)
    if m := _ROLLING.fullmatch(cleaned):
        return rolling_year(_month(text, m[1], m[2]))
    raise PeriodError(f"{text!r} is not a period. Accepted forms: {ACCEPTED_FORMS}")


def previous(period: Period) -> Period:
    """The period of the same length immediately before: the year before, for any year."""
    start = add_months(period.start, -period.n_months)
    end = add_months(period.end, -period.n_months)
    if period.kind == "calendar":
        return calendar_year(start.year)
    if period.kind == "financial":
        return financial_year(start.year)
    if period.kind == "rolling":
        return rolling_year(end)
    return month_range(start, end)


def year_before(period: Period) -> Period:
    """The same months one year earlier: the seasonally like-for-like baseline for a range."""
    if period.n_months == 12:
        return previous(period)
    return month_range(add_months(period.start, -12), add_months(period.end, -12))


@dataclass(frozen=True)
class PeriodCoverage:
    """Which of a period's months are in the data. `partial` is True when any is missing."""

    period: Period
    months_present: list[date]
    months_missing: list[date]
    partial: bool

    def describe(self) -> str:
        """'8 of 12 months in 2019'."""
        return f"{len(self.months_present)} of {self.period.n_months} months in {self.period}"

    def offsets_present(self) -> frozenset[int]:
        """Positions (0 = first month) of the months present, to match coverage across periods."""
        return frozenset((m.year - self.period.start.year) * 12 + m.month
                         - self.period.start.month for m in self.months_present)


def coverage_of(period: Period, months_present: set[date]) -> PeriodCoverage:
    """How much of `period` is covered, given the set of months that have data.

    Months outside the period are ignored; any day of a month stands for that month.
    """
    present = {month_start(m) for m in months_present}
    months = period.months()
    have = [m for m in months if m in present]
    missing = [m for m in months if m not in present]
    return PeriodCoverage(period, have, missing, partial=bool(missing))


def compare_guard(a: PeriodCoverage, b: PeriodCoverage) -> str | None:
    """A caveat label when two periods' coverage differs, else None.

    Coverage differs when the periods differ in length or when different positions within them
    have data (so 'Jan-Aug 2019 vs Jan-Aug 2018' is like for like, but 'Jan-Aug 2019 vs all of
    2018' is not). The label reads e.g. 'partial vs full: 8 of 12 months in 2019 vs 12 of 12
    in 2018'.
    """
    if a.period.n_months == b.period.n_months and a.offsets_present() == b.offsets_present():
        return None
    kinds = f"{'partial' if a.partial else 'full'} vs {'partial' if b.partial else 'full'}"
    if a.period.n_months != b.period.n_months:
        kinds = f"different lengths, {kinds}"
    return (f"{kinds}: {a.describe()} vs "
            f"{len(b.months_present)} of {b.period.n_months} in {b.period}")


def _missing_text(cov: PeriodCoverage) -> str:
    """'2019: 8 of 12 months (missing Sep 2019, ...)' or '2018 has all 12 months'."""
    if not cov.partial:
        return f"{cov.period} has all {cov.period.n_months} months"
    missing = ", ".join(month_label(m) for m in cov.months_missing)
    return f"{cov.describe()} (missing {missing})"


def comparable(a: PeriodCoverage, b: PeriodCoverage, allow_partial: bool = False) -> str | None:
    """Check two periods can be compared; return the caveat label (or None) to print with them.

    Raises PeriodError, naming both periods and their months, when their coverage differs and
    either is partial, unless `allow_partial` is True (then the caveat must be shown).
    """
    guard = compare_guard(a, b)
    if guard is not None and (a.partial or b.partial) and not allow_partial:
        raise PeriodError(
            f"cannot compare {a.period} with {b.period}: {_missing_text(a)}, but "
            f"{_missing_text(b)}. Choose periods with the same months covered, or allow a "
            f"partial comparison and show the caveat '{guard}'")
    return guard
