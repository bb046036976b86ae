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


def months_text(months: list[date]) -> str:
    """Months as a reader writes them: runs of consecutive months joined, e.g. 'May–Dec 2021',
    'Apr 2019–Mar 2020', 'Jan–Mar 2021, Jun 2021'; '' for none."""
    runs: list[list[date]] = []
    for month in sorted(set(month_start(m) for m in months)):
        if runs and add_months(runs[-1][-1], 1) == month:
            runs[-1].append(month)
        else:
            runs.append([month])
    parts = []
    for run in runs:
        first, last = run[0], run[-1]
        if first == last:
            parts.append(month_label(first))
        elif first.year == last.year:
            parts.append(f"{first:%b}–{last:%b %Y}")
        else:
            parts.append(f"{month_label(first)}–{month_label(last)}")
    return ", ".join(parts)


@dataclass(frozen=True)
class MonthMatch:
    """The months two periods are compared on: pairs (month of the period, month of the
    baseline) that both hold data, matched by position in periods of equal length (so a
    calendar year meets the same calendar months a year earlier) when the periods are a whole
    number of years apart, else by calendar month.

    `label` and `baseline_label` name what is compared: the period's own label when all its
    months are compared, else the months themselves ('May–Dec 2021'). `reason` says why
    nothing can be compared when `pairs` is empty."""

    pairs: tuple[tuple[date, date], ...]
    label: str
    baseline_label: str
    whole: bool           # both periods compared over all their months
    reason: str = ""
    held: tuple[date, ...] = ()            # every month the period's data holds
    baseline_held: tuple[date, ...] = ()   # every month the baseline's data holds

    @property
    def months(self) -> list[date]:
        """The period's months compared."""
        return [a for a, _ in self.pairs]

    @property
    def baseline_months(self) -> list[date]:
        """The baseline's months compared."""
        return [b for _, b in self.pairs]

    @property
    def n_months(self) -> int:
        """How many months each side of the comparison holds."""
        return len(self.pairs)

    def note(self) -> str:
        """'' when the whole periods are compared, else what was compared and why."""
        if self.whole:
            return ""
        if not self.pairs:
            return f"no change can be stated: {self.reason}"
        return (f"like for like on the {self.n_months} month{'s' if self.n_months > 1 else ''}"
                f" both periods hold: {self.label} against {self.baseline_label}")


def match_months(a: PeriodCoverage, b: PeriodCoverage) -> MonthMatch:
    """The months on which `a` (the period) and `b` (the baseline) can be compared like for
    like: see MonthMatch. Periods not a whole number of years apart are matched by calendar
    month, which needs each to be 12 months or fewer (a month of the year must not appear
    twice)."""
    present_a, present_b = set(a.months_present), set(b.months_present)
    held = (tuple(a.months_present), tuple(b.months_present))
    shift = (a.period.start.year - b.period.start.year) * 12 \
        + a.period.start.month - b.period.start.month
    if a.period.n_months == b.period.n_months and shift % 12 == 0:
        candidates = list(zip(a.period.months(), b.period.months(), strict=True))
    elif a.period.n_months <= 12 and b.period.n_months <= 12:
        by_month = {m.month: m for m in b.period.months()}
        candidates = [(m, by_month[m.month]) for m in a.period.months() if m.month in by_month]
    else:
        return MonthMatch((), a.period.label, b.period.label, False,
                          f"{a.period} ({a.period.n_months} months) and {b.period} "
                          f"({b.period.n_months} months) are longer than a year and not a "
                          "whole number of years apart, so their months cannot be matched "
                          "like for like", *held)
    pairs = tuple((x, y) for x, y in candidates if x in present_a and y in present_b)
    whole = (len(pairs) == a.period.n_months == b.period.n_months and shift % 12 == 0)
    if whole:
        return MonthMatch(pairs, a.period.label, b.period.label, True, "", *held)
    if not pairs:
        held_a = months_text(a.months_present) or "no months"
        held_b = months_text(b.months_present) or "no months"
        # The counts shown are those of the months held: the labels say which.
        empty = [str(c.period) for c in (a, b) if not c.months_present]
        reason = (f"the data holds no months of {' or '.join(empty)}" if empty else
                  f"the data holds {held_a} of {a.period} and {held_b} of {b.period}, which "
                  "share no months to compare like for like")
        return MonthMatch((), held_a if a.partial else a.period.label,
                          held_b if b.partial else b.period.label, False, reason, *held)
    return MonthMatch(pairs, months_text([x for x, _ in pairs]),
                      months_text([y for _, y in pairs]), False, "", *held)
