"""Counts and rates from the demo warehouse, checked against pandas over the raw police files
and the ONS lookups and mid-2019 estimates read independently."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from cspkit.measures.areas import custom_area, select_area
from cspkit.measures.counts import ALL_CRIME, counts
from cspkit.measures.periods import parse_period

from .conftest import ASB

BEDFORD, LUTON, EAST_CAMBS = "E06000055", "E06000032", "E07000009"


def expected_counts(events: pd.DataFrame, lad: str, months: list[str]) -> pd.Series:
    rows = events[(events["lad_code"] == lad) & events["month"].isin(months)]
    return rows.groupby("category").size().sort_index()


def by_category(frame: pd.DataFrame) -> pd.Series:
    return frame.set_index("category")["count"].sort_index()


def months_of(first: str, last: str) -> list[str]:
    return [str(p) for p in pd.period_range(first, last, freq="M")]


@pytest.mark.parametrize(("lad", "name", "year"), [(BEDFORD, "Bedford", 2023),
                                                   (LUTON, "Luton", 2022)])
def test_calendar_year_counts_and_rates_by_category(demo_warehouse, bedfordshire_events,
                                                    mid2022_population, lad, name, year):
    result = counts(demo_warehouse, select_area(demo_warehouse, name), parse_period(str(year)))
    expected = expected_counts(bedfordshire_events, lad, months_of(f"{year}-01", f"{year}-12"))
    assert list(result.columns[:3]) == ["category", "count", "rate_per_1000"]
    pd.testing.assert_series_equal(by_category(result), expected, check_names=False,
                                   check_dtype=False)
    # Rates per 1,000 residents of the ONS mid-2022 estimate for the district (the nearest
    # held to 2023), and the rows say which year that is.
    persons = mid2022_population[lad]
    assert (result["population"] == persons).all()
    assert (result["population_year"] == 2022).all()
    note = "" if year == 2022 else "population of 2022 used (nearest to 2023)"
    assert (result["population_note"] == note).all()
    for count, rate in zip(result["count"], result["rate_per_1000"], strict=True):
        assert rate == pytest.approx(count * 1000 / persons, abs=5e-4)
    assert not result["partial"].any()
    assert (result["months_in_data"] == 12).all()
    # Each category's share of all the area's events.
    shares = (expected / expected.sum()).round(4)
    for category, share in zip(result["category"], result["share"], strict=True):
        assert share == pytest.approx(shares[category], abs=1e-9)


def test_bedford_mid2019_population_read_independently(mid2019_population):
    assert mid2019_population[BEDFORD] == 173_292


def test_bedford_mid2022_population_read_independently(mid2022_population):
    assert mid2022_population[BEDFORD] == 187_466


def test_financial_year_counts(demo_warehouse, bedfordshire_events):
    result = counts(demo_warehouse, select_area(demo_warehouse, BEDFORD),
                    parse_period("2022/23"))
    expected = expected_counts(bedfordshire_events, BEDFORD, months_of("2022-04", "2023-03"))
    pd.testing.assert_series_equal(by_category(result), expected, check_names=False,
                                   check_dtype=False)
    assert (result["period"] == "2022/23").all()
    assert not result["partial"].any()


def test_month_range_counts(demo_warehouse, bedfordshire_events):
    result = counts(demo_warehouse, select_area(demo_warehouse, "Bedford"),
                    parse_period("2023-01..2023-06"))
    expected = expected_counts(bedfordshire_events, BEDFORD, months_of("2023-01", "2023-06"))
    pd.testing.assert_series_equal(by_category(result), expected, check_names=False,
                                   check_dtype=False)
    assert (result["months_in_data"] == 6).all()


def test_custom_area_of_three_lsoas(demo_warehouse, bedfordshire_events):
    lsoas = ["E01017540", "E01017466", "E01034419"]
    area = custom_area(demo_warehouse, "three LSOAs", lsoas)
    result = counts(demo_warehouse, area, parse_period("2023"))
    rows = bedfordshire_events[bedfordshire_events["lsoa_code"].isin(lsoas)
                               & bedfordshire_events["month"].str.startswith("2023-")]
    expected = rows.groupby("category").size().sort_index()
    pd.testing.assert_series_equal(by_category(result), expected, check_names=False,
                                   check_dtype=False)


def test_total_row_is_all_non_asb_categories(demo_warehouse, bedfordshire_events):
    result = counts(demo_warehouse, select_area(demo_warehouse, BEDFORD),
                    parse_period("2023"), total=True)
    expected = expected_counts(bedfordshire_events, BEDFORD, months_of("2023-01", "2023-12"))
    totals = result[result["is_total"]]
    assert list(totals["category"]) == [ALL_CRIME]
    assert int(totals["count"].iloc[0]) == int(expected.drop(ASB).sum())
    assert totals["rate_per_1000"].iloc[0] == pytest.approx(
        expected.drop(ASB).sum() * 1000 / 187_466, abs=5e-4)
    # The other rows are the categories, unflagged, ASB among them.
    rest = result[~result["is_total"]]
    pd.testing.assert_series_equal(by_category(rest), expected, check_names=False,
                                   check_dtype=False)


# --------------------------------------------------------------------------- partial years


@pytest.fixture(scope="module")
def cambridgeshire_street_months(cambridgeshire_zip) -> list[str]:
    with zipfile.ZipFile(cambridgeshire_zip) as archive:
        return sorted(m.split("/")[0] for m in archive.namelist()
                      if m.endswith("-street.csv"))


def test_east_cambridgeshire_2019_is_partial_and_counts_what_is_there(
        demo_warehouse, cambridgeshire_events, cambridgeshire_street_months):
    result = counts(demo_warehouse, select_area(demo_warehouse, "East Cambridgeshire"),
                    parse_period("2019"))
    months_2019 = months_of("2019-01", "2019-12")
    present = [m for m in months_2019 if m in cambridgeshire_street_months]
    missing = [m for m in months_2019 if m not in cambridgeshire_street_months]
    assert present == ["2019-01", "2019-02", "2019-08", "2019-09"]
    assert result["partial"].all()
    assert (result["months_in_data"] == 4).all()
    labels = ", ".join(pd.Timestamp(m).strftime("%b %Y") for m in missing)
    assert (result["months_missing"] == labels).all()
    expected = expected_counts(cambridgeshire_events, EAST_CAMBS, months_2019)
    pd.testing.assert_series_equal(by_category(result), expected, check_names=False,
                                   check_dtype=False)


def test_east_cambridgeshire_located_rows_over_all_eight_months(
        demo_warehouse, cambridgeshire_events, cambridgeshire_street_months):
    # SOURCES.md: East Cambridgeshire's rows total 2,911 over the 8 months.
    located = cambridgeshire_events[cambridgeshire_events["lad_code"] == EAST_CAMBS]
    assert len(located) == 2_911
    assert sorted(located["month"].unique()) == cambridgeshire_street_months
    result = counts(demo_warehouse, select_area(demo_warehouse, EAST_CAMBS),
                    parse_period("2018-03..2019-09"), by="all")
    assert int(result["count"].iloc[0]) == 2_911
    assert int(result["months_in_data"].iloc[0]) == 8
