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
