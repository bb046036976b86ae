"""Monthly series from the demo warehouse, checked against pandas counts by month."""

from __future__ import annotations

import zipfile
from datetime import date

import pandas as pd
import pytest

from cspkit.measures.areas import select_area
from cspkit.measures.series import monthly_series

from .conftest import ASB

BEDFORD = "E06000055"


def month(text: str) -> date:
    return date(int(text[:4]), int(text[5:7]), 1)


@pytest.fixture(scope="module")
def bedford_asb(demo_warehouse) -> pd.DataFrame:
    return monthly_series(demo_warehouse, select_area(demo_warehouse, "Bedford"), category=ASB)


def test_bedford_asb_counts_for_all_36_months(bedford_asb, bedfordshire_events):
    rows = bedfordshire_events[(bedfordshire_events["lad_code"] == BEDFORD)
                               & (bedfordshire_events["category"] == ASB)]
    expected = rows.groupby("month").size()
    assert len(expected) == 36
    assert len(bedford_asb) == 36
    assert list(bedford_asb["month"]) == [month(m) for m in expected.index]
    assert list(bedford_asb["count"]) == expected.tolist()


def test_rolling_mean_is_the_mean_of_the_twelve_months_to_date(bedford_asb,
                                                               bedfordshire_events):
    rows = bedfordshire_events[(bedfordshire_events["lad_code"] == BEDFORD)
                               & (bedfordshire_events["category"] == ASB)]
    window = [str(p) for p in pd.period_range("2021-05", "2022-04", freq="M")]
    by_hand = sum(int((rows["month"] == m).sum()) for m in window) / 12
    at = bedford_asb.set_index("month")["rolling_mean"]
    assert at[month("2022-04")] == pytest.approx(by_hand)
    # Before twelve months of data there is no rolling mean.
    assert at[month("2022-03")] != at[month("2022-03")]   # NaN


def test_exceptional_months_are_exactly_those_outside_the_limits(bedford_asb):
    above = bedford_asb["count"] > bedford_asb["upper"]
    below = bedford_asb["count"] < bedford_asb["lower"]
    assert above.any() and below.any()
    assert (bedford_asb.loc[above, "exceptional"] == "above").all()
    assert (bedford_asb.loc[below, "exceptional"] == "below").all()
    assert (bedford_asb.loc[~above & ~below, "exceptional"] == "").all()
    # The centre is the mean of the months shown (no baseline given).
    assert bedford_asb["centre"].iloc[0] == pytest.approx(bedford_asb["count"].mean())


def test_east_cambridgeshire_series_has_only_the_covered_months(demo_warehouse,
                                                                cambridgeshire_zip,
                                                                cambridgeshire_events):
    with zipfile.ZipFile(cambridgeshire_zip) as archive:
        covered = sorted(m.split("/")[0] for m in archive.namelist()
                         if m.endswith("-street.csv"))
    assert len(covered) == 8
    series = monthly_series(demo_warehouse, select_area(demo_warehouse, "E07000009"))
    assert list(series["month"]) == [month(m) for m in covered]
    expected = cambridgeshire_events[cambridgeshire_events["lad_code"] == "E07000009"
                                     ].groupby("month").size()
    assert list(series["count"]) == [int(expected[m]) for m in covered]
    assert series["rolling_mean"].isna().all()    # never twelve consecutive months
