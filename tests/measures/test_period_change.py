"""Change between periods from the demo warehouse, checked against pandas counts and an
independent Poisson E-test."""

from __future__ import annotations

import pandas as pd
import pytest
from scipy.stats import poisson_means_test

from cspkit.measures.areas import select_area
from cspkit.measures.change import compare_counts
from cspkit.measures.period_change import change, place_change
from cspkit.measures.periods import PeriodError, parse_period

from .conftest import ASB

BEDFORD = "E06000055"


@pytest.fixture(scope="module")
def bedford(demo_warehouse):
    return select_area(demo_warehouse, "Bedford")


@pytest.fixture(scope="module")
def bedford_change(demo_warehouse, bedford) -> pd.DataFrame:
    return change(demo_warehouse, bedford, parse_period("2023"), parse_period("2022"))


def year_counts(events: pd.DataFrame, lad: str, year: str, by: str = "category") -> pd.Series:
    rows = events[(events["lad_code"] == lad) & events["month"].str.startswith(f"{year}-")]
    return rows.groupby(by).size()


def test_counts_and_baseline_counts_by_category(bedford_change, bedfordshire_events):
    now = year_counts(bedfordshire_events, BEDFORD, "2023")
    before = year_counts(bedfordshire_events, BEDFORD, "2022")
    table = bedford_change.set_index("category")
    assert set(table.index) == set(now.index) | set(before.index)
    for category, row in table.iterrows():
        assert row["count"] == now.get(category, 0), category
        assert row["baseline_count"] == before.get(category, 0), category
        assert row["change"] == row["count"] - row["baseline_count"]
    assert list(bedford_change["count"]) == sorted(bedford_change["count"], reverse=True)


def test_verdicts_follow_the_p_value_and_direction(bedford_change):
    for _, row in bedford_change.iterrows():
        if row["p_value"] < 0.05:
            expected = ("significant increase" if row["count"] > row["baseline_count"]
                        else "significant decrease")
        else:
            expected = "no significant change"
        assert row["verdict"] == expected, row["category"]
    # The demo data has both kinds of significant change in Bedford 2023 vs 2022.
    assert {"significant increase", "significant decrease", "no significant change"} <= set(
        bedford_change["verdict"])


@pytest.mark.parametrize("category", [
    "Robbery", "Drugs", "Bicycle theft",
    ASB,
])
def test_p_value_is_the_e_test_with_person_month_exposures(bedford_change, bedfordshire_events,
                                                           mid2019_population, category):
    k1 = int(year_counts(bedfordshire_events, BEDFORD, "2023")[category])
    k0 = int(year_counts(bedfordshire_events, BEDFORD, "2022")[category])
    persons = mid2019_population[BEDFORD]          # nearest estimate to both years
    n1 = n0 = persons * 12 / 12
    expected = poisson_means_test(k1, n1, k0, n0).pvalue
    row = bedford_change.set_index("category").loc[category]
    assert row["p_value"] == pytest.approx(expected, rel=1e-9, abs=1e-15)
    assert row["pct_change"] == pytest.approx((k1 / k0 - 1) * 100)


def test_verdict_follows_the_e_test_for_large_totals():
    k1, k0 = 1_399, 1_505                  # e.g. a district's category, this year vs last
    persons = 173_292.0                    # same residents and months in both periods
    expected = poisson_means_test(k1, persons, k0, persons).pvalue
    assert expected < 0.05
    result = compare_counts(k1, k0, persons, persons)
    assert result.p_value == pytest.approx(expected, rel=1e-9)
    assert result.verdict == "significant decrease"


def test_partial_years_with_different_months_are_refused(demo_warehouse):
    east_cambs = select_area(demo_warehouse, "East Cambridgeshire")
    with pytest.raises(PeriodError, match="4 of 12 months"):
        change(demo_warehouse, east_cambs, parse_period("2019"), parse_period("2018"))
    allowed = change(demo_warehouse, east_cambs, parse_period("2019"), parse_period("2018"),
                     allow_partial=True)
    assert not allowed.empty
    notes = set(allowed["comparison_note"])
    assert len(notes) == 1
    note = notes.pop()
    assert note.startswith("partial vs partial") and "4 of 12" in note
    assert allowed["partial"].all() and allowed["baseline_partial"].all()


def test_partial_comparison_counts_match_pandas(demo_warehouse, cambridgeshire_events):
    east_cambs = select_area(demo_warehouse, "E07000009")
    table = change(demo_warehouse, east_cambs, parse_period("2019"), parse_period("2018"),
                   allow_partial=True).set_index("category")
    now = year_counts(cambridgeshire_events, "E07000009", "2019")
    before = year_counts(cambridgeshire_events, "E07000009", "2018")
    for category, row in table.iterrows():
        assert row["count"] == now.get(category, 0), category
        assert row["baseline_count"] == before.get(category, 0), category


# --------------------------------------------------------------------------- ward table


@pytest.fixture(scope="module")
def bedford_wards(lsoa21_lookup) -> pd.DataFrame:
    wards = lsoa21_lookup.loc[lsoa21_lookup["LAD23CD"] == BEDFORD, ["WD23CD", "WD23NM"]]
    return wards.drop_duplicates().set_index("WD23CD").sort_index()


@pytest.mark.parametrize("category", [ASB, "Theft from the person"])
def test_ward_table(demo_warehouse, bedford, bedfordshire_events, bedford_wards, category):
    table = place_change(demo_warehouse, bedford, parse_period("2023"), parse_period("2022"),
                         level="ward", category=category)
    of_category = bedfordshire_events[bedfordshire_events["category"] == category]
    now = year_counts(of_category, BEDFORD, "2023", by="ward_code")
    before = year_counts(of_category, BEDFORD, "2022", by="ward_code")

    assert len(bedford_wards) == 28
    assert len(table) == 28 and table["ward_code"].is_unique
    assert set(table["ward_code"]) == set(bedford_wards.index)
    indexed = table.set_index("ward_code")
    for ward, row in indexed.iterrows():
        assert row["ward_name"] == bedford_wards.loc[ward, "WD23NM"]
        assert row["count"] == now.get(ward, 0), ward
        assert row["baseline_count"] == before.get(ward, 0), ward
        assert row["change"] == row["count"] - row["baseline_count"]
    assert list(table["change"]) == sorted(table["change"], reverse=True)
    # Wards with no such events in either year are listed with 0, not left out.
    empty = set(bedford_wards.index) - set(now.index) - set(before.index)
    if category != ASB:
        assert empty, "the demo data has wards without thefts from the person"
    for ward in empty:
        assert indexed.loc[ward, "count"] == 0 and indexed.loc[ward, "baseline_count"] == 0
    assert table["count"].sum() == now.sum()
    assert table["baseline_count"].sum() == before.sum()


def test_very_large_totals_use_the_e_tests_large_sample_form():
    # A district beside the rest of its county: the Wald test stands in for the E-test.
    k1, k0, e1, e0 = 16_223, 40_882, 173_292.0, 501_700.0
    exact = poisson_means_test(k1, e1, k0, e0).pvalue
    assert compare_counts(k1, k0, e1, e0).p_value == pytest.approx(exact, abs=1e-12)
    k1, k0 = 5_100, 4_950 + 120       # just over the threshold, near alpha
    exact = poisson_means_test(k1, 1.0, k0, 1.0).pvalue
    assert compare_counts(k1, k0).p_value == pytest.approx(exact, rel=2e-3)
