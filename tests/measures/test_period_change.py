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


def test_verdicts_follow_the_bh_adjusted_p_value_and_direction(bedford_change):
    tested = bedford_change[bedford_change["q_value"].notna()]
    assert len(tested) == len(bedford_change)          # every Bedford category is tested
    # Benjamini-Hochberg by hand: q_(i) = min over j >= i of p_(j) * m / j.
    p = tested["p_value"].to_numpy()
    order = p.argsort()
    m = len(p)
    q = [min(min(p[order[j]] * m / (j + 1) for j in range(i, m)), 1.0) for i in range(m)]
    for rank, index in enumerate(order):
        assert tested["q_value"].iloc[index] == pytest.approx(q[rank])
    for _, row in bedford_change.iterrows():
        direction = ("significant increase" if row["count"] > row["baseline_count"]
                     else "significant decrease")
        raw = direction if row["p_value"] < 0.05 else "no significant change"
        adjusted = direction if row["q_value"] < 0.05 else "no significant change"
        assert row["verdict_unadjusted"] == raw, row["category"]
        assert row["verdict"] == adjusted, row["category"]
    # The control matters on the demo data: some p < 0.05 do not survive it.
    assert (bedford_change["verdict_unadjusted"] != bedford_change["verdict"]).any()
    family = bedford_change.attrs["family"]
    assert family.tests == len(bedford_change) and family.procedure == "Benjamini–Hochberg"


def monthly_counts_of(events: pd.DataFrame, lad: str, category: str, year: str) -> list[int]:
    rows = events[(events["lad_code"] == lad) & (events["category"] == category)
                  & events["month"].str.startswith(f"{year}-")]
    by_month = rows.groupby("month").size()
    return [int(by_month.get(f"{year}-{m:02d}", 0)) for m in range(1, 13)]


@pytest.mark.parametrize("category", [
    "Robbery", "Drugs", "Bicycle theft", "Violence and sexual offences",
    ASB,
])
def test_p_value_is_the_quasi_poisson_glm_or_the_e_test(bedford_change, bedfordshire_events,
                                                        mid2019_population, category):
    """An independent computation: statsmodels' formula GLM (Poisson, Pearson-scaled
    dispersion) of the monthly counts read with pandas — 2023 and 2022 and, as history,
    May-Dec 2021 (the data begins in May 2021) — with calendar month and year as factors,
    the 2023 effect referred to t on the residual df and never below scipy's E-test; the
    E-test alone when the months show no extra variation."""
    import numpy as np
    import statsmodels.api as sm
    import statsmodels.formula.api as smf
    from scipy.stats import t

    years = {"2023": monthly_counts_of(bedfordshire_events, BEDFORD, category, "2023"),
             "2022": monthly_counts_of(bedfordshire_events, BEDFORD, category, "2022"),
             "2021": monthly_counts_of(bedfordshire_events, BEDFORD, category, "2021")}
    persons = mid2019_population[BEDFORD]          # nearest estimate to every year
    frame = pd.DataFrame([{"year": y, "month": m + 1, "count": c}
                          for y, counts in years.items() for m, c in enumerate(counts)
                          if not (y == "2021" and m + 1 < 5)])
    frame = frame[frame.groupby("month")["count"].transform("sum") > 0]
    fit = smf.glm("count ~ C(month) + C(year, Treatment('2022'))", frame,
                  family=sm.families.Poisson(),
                  offset=np.full(len(frame), np.log(persons))).fit(scale="X2")
    a, b = sum(years["2023"]), sum(years["2022"])
    exact = poisson_means_test(a, persons, b, persons).pvalue
    row = bedford_change.set_index("category").loc[category]
    effect = "C(year, Treatment('2022'))[T.2023]"
    if fit.scale > 1:
        expected = max(2 * t.sf(abs(fit.params[effect] / fit.bse[effect]), fit.df_resid),
                       exact)
        assert row["test"].startswith("quasi-Poisson") and f"{int(fit.df_resid)} df" in row["test"]
        assert row["dispersion"] == pytest.approx(fit.scale, abs=1e-3)
        # The comparison itself is the months both years hold: log(2023 / 2022).
        assert fit.params[effect] == pytest.approx(np.log(a / b), abs=1e-6)
    else:
        expected = exact
        assert row["test"] == "exact Poisson (E-test)"
    assert row["p_value"] == pytest.approx(expected, rel=1e-5, abs=1e-12)
    assert row["pct_change"] == pytest.approx((a / b - 1) * 100)
    assert row["months_compared"] == 12


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


def test_periods_sharing_no_months_state_no_change(demo_warehouse, cambridgeshire_events):
    # East Cambridgeshire holds Jan-Feb and Aug-Sep 2019 but Mar and Oct-Dec 2018.
    east_cambs = select_area(demo_warehouse, "E07000009")
    table = change(demo_warehouse, east_cambs, parse_period("2019"), parse_period("2018"),
                   allow_partial=True).set_index("category")
    assert set(table["verdict"]) == {"not compared"}
    assert table["p_value"].isna().all() and table["change"].isna().all()
    note = table["comparison_note"].iloc[0]
    assert "share no months" in note and "Jan–Feb 2019, Aug–Sep 2019" in note
    assert table.attrs["family"].tests == 0
    # The counts shown are each period's months held, labelled with those months.
    now = year_counts(cambridgeshire_events, "E07000009", "2019")
    before = year_counts(cambridgeshire_events, "E07000009", "2018")
    for category, row in table.iterrows():
        assert row["count"] == now.get(category, 0), category
        assert row["baseline_count"] == before.get(category, 0), category
    assert table["period"].iloc[0] == "Jan–Feb 2019, Aug–Sep 2019"
    assert table["baseline_period"].iloc[0] == "Mar 2018, Oct–Dec 2018"


def test_part_years_compare_only_the_months_both_hold(demo_warehouse, bedford,
                                                      bedfordshire_events):
    # Bedford's data starts in May 2021: 2022 against 2021 is May-Dec against May-Dec.
    table = change(demo_warehouse, bedford, parse_period("2022"), parse_period("2021"),
                   allow_partial=True).set_index("category")
    assert set(table["period"]) == {"May–Dec 2022"}
    assert set(table["baseline_period"]) == {"May–Dec 2021"}
    assert set(table["months_compared"]) == {8}
    assert "8 months both periods hold" in table["comparison_note"].iloc[0]
    rows = bedfordshire_events[bedfordshire_events["lad_code"] == BEDFORD]
    months = rows["month"].str[5:7].astype(int) >= 5
    now = rows[months & rows["month"].str.startswith("2022-")].groupby("category").size()
    before = rows[months & rows["month"].str.startswith("2021-")].groupby("category").size()
    for category, row in table.iterrows():
        assert row["count"] == now.get(category, 0), category
        assert row["baseline_count"] == before.get(category, 0), category
        assert row["pct_change"] == pytest.approx(
            (now.get(category, 0) / before.get(category, 0) - 1) * 100)


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
    assert table.attrs["family"].tests == int(table["q_value"].notna().sum())
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


def test_financial_years_holding_different_months_state_no_change(demo_warehouse):
    # The case that was reported as "40% higher": 2 months of 2019/20 against 5 others.
    east_cambs = select_area(demo_warehouse, "East Cambridgeshire")
    table = change(demo_warehouse, east_cambs, parse_period("2019/20"),
                   parse_period("2018/19"), allow_partial=True)
    assert set(table["verdict"]) == {"not compared"}
    assert table["pct_change"].isna().all()
    assert "Aug–Sep 2019" in table["comparison_note"].iloc[0]


def test_a_baseline_with_no_data_states_no_change(demo_warehouse, bedford):
    table = change(demo_warehouse, bedford, parse_period("2021-05..2021-08"),
                   parse_period("2020-05..2020-08"), allow_partial=True)
    assert set(table["verdict"]) == {"not compared"}
    assert table["comparison_note"].iloc[0] == (
        "no change can be stated: the data holds no months of May 2020 to Aug 2020")
