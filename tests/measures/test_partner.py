"""Partner measures, checked against the shipped sample files read independently with pandas
and against a hand-computed test of proportions."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy.stats import norm

from cspkit.demo import demo_data_dir
from cspkit.measures.areas import select_area
from cspkit.measures.partner import (
    attribute_by_year,
    attribute_counts,
    compare_proportions,
    flagged_by_year,
    indicator_table,
)
from cspkit.measures.periods import parse_period

PARTNER = demo_data_dir() / "partner"
LOOKUP21 = (demo_data_dir() / "geography" / "lookups" /
            "LSOA_(2021)_to_Electoral_Ward_(2023)_to_LAD_(2023)_Best_Fit_Lookup_in_EW.csv.gz")
BEDFORD = "E06000055"


def fy(day: pd.Timestamp) -> str:
    start = day.year if day.month >= 4 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


@pytest.fixture(scope="module")
def bedford_lsoas() -> set[str]:
    lookup = pd.read_csv(LOOKUP21, encoding="utf-8-sig", dtype=str)
    return set(lookup.loc[lookup["LAD23CD"] == BEDFORD, "LSOA21CD"])


def test_two_proportions_by_hand():
    result = compare_proportions(40, 200, 300, 1000)
    pooled = 340 / 1200
    z = (0.2 - 0.3) / math.sqrt(pooled * (1 - pooled) * (1 / 200 + 1 / 1000))
    assert result.p_value == pytest.approx(2 * norm.sf(abs(z)))
    assert result.verdict == "significantly lower"
    assert compare_proportions(60, 200, 300, 1000).verdict == "no significant difference"
    assert compare_proportions(3, 20, 300, 1000).verdict == "too few to tell"


def test_indicators_equal_the_sample_file(demo_warehouse):
    raw = pd.read_csv(PARTNER / "treatment_SYNTHETIC.csv", dtype={"Area code": str})
    raw = raw[raw["Area code"] == BEDFORD]
    expected = raw.groupby("Financial year")["In treatment"].sum().to_dict()
    got = indicator_table(demo_warehouse, "treatment", ["in_treatment"], [BEDFORD])
    assert dict(zip(got["period_label"], got["value"].astype(int), strict=True)) == expected


def test_ed_attendances_by_age_and_gender(demo_warehouse, bedford_lsoas):
    raw = pd.read_csv(PARTNER / "ed_assault_attendances_SYNTHETIC.csv", dtype=str,
                      keep_default_na=False)
    raw["date"] = pd.to_datetime(raw["AttendanceDate"])
    in_bedford = raw["IncidentLSOA"].isin(bedford_lsoas) | (
        (raw["IncidentLSOA"] == "") & (raw["ResidentDistrict"] == BEDFORD))
    year = raw[in_bedford & (raw["date"].dt.year == 2023)]
    gender = year["Gender"].map({"M": "Male", "F": "Female", "U": "Unknown"})
    expected = year.groupby([year["AgeBand"], gender]).size()
    got = attribute_counts(demo_warehouse, select_area(demo_warehouse, "Bedford"),
                           parse_period("2023"), "istv", rows="age_band", columns="gender")
    got = got.set_index(["age_band", "gender"])["count"]
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    by_year = attribute_by_year(demo_warehouse, select_area(demo_warehouse, "Bedford"), "istv",
                                "subcategory")
    assert by_year["count"].sum() == int(in_bedford.sum())


def test_hate_crime_by_financial_year(demo_warehouse, bedford_lsoas):
    raw = pd.read_csv(PARTNER / "police_crime_markers_SYNTHETIC.csv", dtype=str)
    raw = raw[raw["LSOA"].isin(bedford_lsoas) & (raw["HateFlag"] == "Y")]
    expected = pd.to_datetime(raw["RecordedDate"], dayfirst=True).map(fy).value_counts()
    got = flagged_by_year(demo_warehouse, select_area(demo_warehouse, "Bedford"),
                          "police-markers", "hate").set_index("financial_year")["count"]
    assert got[got > 0].sort_index().to_dict() == expected.sort_index().to_dict()


# Districts of the Bedfordshire and Cambridgeshire police force areas (the fire samples cover
# each force area for a different span: Cambridgeshire 2017-2019, Bedfordshire 2021-2024).
BEDFORDSHIRE = {"E06000055", "E06000056", "E06000032"}
CAMBRIDGESHIRE = {"E07000008", "E07000009", "E07000010", "E07000011", "E07000012", "E06000031"}
LOOKUP11 = (demo_data_dir() / "geography" / "lookups" /
            "Lower_Layer_Super_Output_Area_(2011)_to_Ward_(2019)_Lookup_in_England_and_Wales"
            ".csv.gz")


@pytest.mark.parametrize("district,code,force_lads,lookup,lad_column,lsoa_column", [
    ("Bedford", BEDFORD, BEDFORDSHIRE, LOOKUP21, "LAD23CD", "LSOA21CD"),
    ("East Cambridgeshire", "E07000009", CAMBRIDGESHIRE, LOOKUP11, "LAD19CD", "LSOA11CD"),
])
def test_a_partner_series_covers_only_the_months_its_source_holds(
        demo_warehouse, district, code, force_lads, lookup, lad_column, lsoa_column):
    """Deliberate fires by month: every month the fire data holds for the district's force
    area, 0 where the district had none, and no month outside that span (the samples for the
    other force must not extend it with zeros)."""
    from cspkit.measures.series import monthly_counts

    geography = pd.read_csv(lookup, encoding="utf-8-sig", dtype=str)
    in_force = set(geography.loc[geography[lad_column].isin(force_lads), lsoa_column])
    in_district = set(geography.loc[geography[lad_column] == code, lsoa_column])
    raw = pd.read_csv(PARTNER / "fire_incidents_SYNTHETIC.csv", dtype=str,
                      keep_default_na=False)
    raw["month"] = pd.to_datetime(raw["CallDate"], dayfirst=True).dt.to_period("M")
    held = sorted(set(raw.loc[raw["LSOA code"].isin(in_force), "month"]))
    deliberate = raw[raw["LSOA code"].isin(in_district) & (raw["CauseCode"] == "D")]
    by_month = deliberate.groupby("month").size()

    got = monthly_counts(demo_warehouse, select_area(demo_warehouse, district), source="fire",
                         subcategory="Deliberate")
    assert [pd.Period(m, "M") for m in got["month"]] == held
    assert got["count"].tolist() == [int(by_month.get(m, 0)) for m in held]
    assert len(held) == 36   # three years of each force, never the other's six
