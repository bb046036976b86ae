"""Periods: the forms analysts write, the period before, and coverage guards."""

from __future__ import annotations

from datetime import date

import pytest

from cspkit.measures.periods import (
    Period,
    PeriodError,
    comparable,
    compare_guard,
    coverage_of,
    parse_period,
    previous,
    year_before,
)


def d(y: int, m: int) -> date:
    return date(y, m, 1)


def test_calendar_year():
    p = parse_period("2023")
    assert (p.start, p.end, p.label, p.kind, p.n_months) == (d(2023, 1), d(2023, 12), "2023",
                                                             "calendar", 12)
    assert p.months()[0] == d(2023, 1) and p.months()[-1] == d(2023, 12)


@pytest.mark.parametrize("text", ["2023/24", "2023-24", "2023/2024", " 2023/24 "])
def test_financial_year_forms(text):
    p = parse_period(text)
    assert (p.start, p.end, p.label, p.kind) == (d(2023, 4), d(2024, 3), "2023/24", "financial")


def test_financial_year_across_a_century():
    assert parse_period("1999/00").end == d(2000, 3)


@pytest.mark.parametrize("text", ["2023/25", "2023-2025", "2023-06"])
def test_a_financial_year_must_run_into_the_next_year(text):
    with pytest.raises(PeriodError, match=r"not a financial year.*'2023/24'") as err:
        parse_period(text)
    assert repr(text) in str(err.value)


def test_month_range():
    p = parse_period("2023-01..2023-06")
    assert (p.start, p.end, p.n_months, p.kind) == (d(2023, 1), d(2023, 6), 6, "range")
    assert p.label == "Jan 2023 to Jun 2023"


@pytest.mark.parametrize("text", ["rolling:2024-03", "12m-to-2024-03", "ROLLING:2024-03"])
def test_rolling_twelve_months(text):
    p = parse_period(text)
    assert (p.start, p.end, p.n_months, p.kind) == (d(2023, 4), d(2024, 3), 12, "rolling")
    assert p.label == "12 months to Mar 2024"


@pytest.mark.parametrize("text", ["", "23", "2023-13..2024-01", "2023-06..2023-01", "last year",
                                  "rolling:2024-13", "2023-1..2023-6"])
def test_bad_text_names_the_text_and_forms(text):
    with pytest.raises(PeriodError) as err:
        parse_period(text)
    assert repr(text) in str(err.value)


def test_unrecognised_text_lists_accepted_forms():
    with pytest.raises(PeriodError, match=r"'2023/24'.*'2023-01\.\.2023-06'.*'rolling:2024-03'"):
        parse_period("FY23")


def test_contains_any_day_of_a_month():
    p = parse_period("2023/24")
    assert p.contains(date(2023, 4, 17)) and p.contains(d(2024, 3))
    assert not p.contains(d(2023, 3)) and not p.contains(d(2024, 4))


def test_period_must_use_first_of_month_and_run_forwards():
    with pytest.raises(PeriodError):
        Period(date(2023, 1, 2), d(2023, 2), "x", "range")
    with pytest.raises(PeriodError):
        Period(d(2023, 2), d(2023, 1), "x", "range")


def test_previous_is_the_same_length_immediately_before():
    assert previous(parse_period("2023")) == parse_period("2022")
    assert previous(parse_period("2023/24")) == parse_period("2022/23")
    assert previous(parse_period("rolling:2024-03")) == parse_period("12m-to-2023-03")
    before = previous(parse_period("2023-01..2023-06"))
    assert (before.start, before.end, before.kind) == (d(2022, 7), d(2022, 12), "range")
    # Across a year boundary.
    before = previous(parse_period("2023-02..2023-03"))
    assert (before.start, before.end) == (d(2022, 12), d(2023, 1))


def test_year_before_keeps_the_same_months():
    p = year_before(parse_period("2023-01..2023-06"))
    assert (p.start, p.end) == (d(2022, 1), d(2022, 6))
    assert year_before(parse_period("2023")) == parse_period("2022")


def test_coverage_ignores_months_outside_and_lists_missing():
    p = parse_period("2019")
    present = {d(2019, m) for m in range(1, 9)} | {d(2018, 12), date(2019, 5, 20)}
    cov = coverage_of(p, present)
    assert cov.months_present == [d(2019, m) for m in range(1, 9)]
    assert cov.months_missing == [d(2019, m) for m in range(9, 13)]
    assert cov.partial and cov.describe() == "8 of 12 months in 2019"
    full = coverage_of(parse_period("2018"), {d(2018, m) for m in range(1, 13)})
    assert not full.partial and full.months_missing == []


def _full(text: str):
    p = parse_period(text)
    return coverage_of(p, set(p.months()))


def test_guard_labels_partial_against_full():
    partial = coverage_of(parse_period("2019"), {d(2019, m) for m in range(1, 9)})
    full = _full("2018")
    assert compare_guard(partial, full) == \
        "partial vs full: 8 of 12 months in 2019 vs 12 of 12 in 2018"
    assert compare_guard(full, partial) == \
        "full vs partial: 12 of 12 months in 2018 vs 8 of 12 in 2019"
    assert compare_guard(full, _full("2017")) is None


def test_guard_accepts_like_for_like_partial_periods():
    a = coverage_of(parse_period("2019"), {d(2019, m) for m in range(1, 9)})
    b = coverage_of(parse_period("2018"), {d(2018, m) for m in range(1, 9)})
    assert compare_guard(a, b) is None
    shifted = coverage_of(parse_period("2018"), {d(2018, m) for m in range(2, 10)})
    assert compare_guard(a, shifted) == \
        "partial vs partial: 8 of 12 months in 2019 vs 8 of 12 in 2018"


def test_guard_flags_different_lengths():
    label = compare_guard(_full("2023"), _full("2023-01..2023-06"))
    assert label is not None and label.startswith("different lengths")


def test_comparable_refuses_partial_against_full_naming_both():
    partial = coverage_of(parse_period("2019"), {d(2019, m) for m in range(1, 9)})
    full = _full("2018")
    with pytest.raises(ValueError, match=r"2019.*8 of 12 months.*Sep 2019.*Dec 2019.*2018 has "
                                         r"all 12 months"):
        comparable(partial, full)
    assert comparable(partial, full, allow_partial=True) == compare_guard(partial, full)
    assert comparable(full, _full("2017")) is None


# --------------------------------------------------------------------------- like for like


def test_months_text_joins_runs():
    from cspkit.measures.periods import months_text

    assert months_text([date(2021, m, 1) for m in range(5, 13)]) == "May–Dec 2021"
    assert months_text([date(2019, 11, 1), date(2019, 12, 1), date(2020, 1, 1),
                        date(2020, 3, 1)]) == "Nov 2019–Jan 2020, Mar 2020"
    assert months_text([]) == ""


def test_match_months_pairs_the_same_calendar_months():
    from cspkit.measures.periods import calendar_year, coverage_of, financial_year, match_months

    now = coverage_of(calendar_year(2021), {date(2021, m, 1) for m in range(1, 13)})
    before = coverage_of(calendar_year(2020), {date(2020, m, 1) for m in range(5, 13)})
    match = match_months(now, before)
    assert match.n_months == 8 and not match.whole
    assert (match.label, match.baseline_label) == ("May–Dec 2021", "May–Dec 2020")
    assert match.pairs[0] == (date(2021, 5, 1), date(2020, 5, 1))
    assert "8 months both periods hold" in match.note()
    full = match_months(now, coverage_of(calendar_year(2020),
                                         {date(2020, m, 1) for m in range(1, 13)}))
    assert full.whole and full.note() == "" and full.label == "2021"
    # Different lengths: matched by calendar month.
    fy = coverage_of(financial_year(2021), {date(2021, m, 1) for m in range(4, 13)}
                     | {date(2022, m, 1) for m in range(1, 4)})
    mixed = match_months(fy, now)
    assert mixed.n_months == 12 and not mixed.whole
    assert mixed.pairs[0] == (date(2021, 4, 1), date(2021, 4, 1))


def test_match_months_with_nothing_shared_says_why():
    from cspkit.measures.periods import coverage_of, financial_year, match_months

    now = coverage_of(financial_year(2019), {date(2019, 8, 1), date(2019, 9, 1)})
    before = coverage_of(financial_year(2018), {date(2018, 10, 1), date(2018, 11, 1)})
    match = match_months(now, before)
    assert match.pairs == () and "share no months" in match.note()
    assert match.label == "Aug–Sep 2019"
