"""Where events concentrate and which do most harm, checked against pandas counts per LSOA."""

from __future__ import annotations

import math
from importlib import resources

import pandas as pd
import pytest

from cspkit.measures.areas import select_area
from cspkit.measures.hotspots import harm, lsoa_concentration, lsoa_counts
from cspkit.measures.periods import parse_period

BEDFORD = "E06000055"


@pytest.fixture(scope="module")
def bedford_2023(bedfordshire_events, lsoa21_lookup) -> pd.Series:
    """Located events of 2023 per 2021 LSOA of Bedford, zeros included."""
    lsoas = sorted(lsoa21_lookup.loc[lsoa21_lookup["LAD23CD"] == BEDFORD, "LSOA21CD"].unique())
    rows = bedfordshire_events[(bedfordshire_events["lad_code"] == BEDFORD)
                               & bedfordshire_events["month"].str.startswith("2023-")]
    return rows.groupby("lsoa_code").size().reindex(lsoas, fill_value=0)


def test_lsoa_counts_cover_every_lsoa(demo_warehouse, bedford_2023):
    result = lsoa_counts(demo_warehouse, select_area(demo_warehouse, "Bedford"),
                         parse_period("2023"))
    assert len(bedford_2023) == 117
    assert sorted(result.index) == list(bedford_2023.index)
    assert result.sort_index().tolist() == bedford_2023.tolist()
    assert int(result.sum()) == int(bedford_2023.sum()) == 16_223


def test_top_5pct_share(demo_warehouse, bedford_2023):
    result = lsoa_concentration(demo_warehouse, select_area(demo_warehouse, BEDFORD),
                                parse_period("2023"))
    n_top = math.ceil(0.05 * 117)
    assert n_top == 6
    top = bedford_2023.sort_values(ascending=False).head(n_top)
    assert result.n_places == 117 and result.n_events == int(bedford_2023.sum())
    assert result.top_counts[0.05] == n_top
    assert result.top_shares[0.05] == pytest.approx(top.sum() / bedford_2023.sum())
    top10 = bedford_2023.sort_values(ascending=False).head(math.ceil(0.10 * 117))
    assert result.top_shares[0.1] == pytest.approx(top10.sum() / bedford_2023.sum())
    flagged = result.top_places[result.top_places["in_top_5pct"]]
    assert set(flagged["place"]) == set(top.index)


def test_harm_table(demo_warehouse, bedfordshire_events):
    table = harm(demo_warehouse, select_area(demo_warehouse, BEDFORD), parse_period("2023"))
    rows = bedfordshire_events[(bedfordshire_events["lad_code"] == BEDFORD)
                               & bedfordshire_events["month"].str.startswith("2023-")]
    expected = rows.groupby("category").size()
    with resources.as_file(resources.files("cspkit.measures") / "harm_weights.csv") as path:
        weights = pd.read_csv(path).set_index("category")["weight"]
    assert table["category"].is_unique
    assert set(table["category"]) == set(expected.index)
    for _, row in table.iterrows():
        assert row["count"] == expected[row["category"]]
        assert row["weight"] == pytest.approx(weights[row["category"]])
        assert row["harm"] == pytest.approx(expected[row["category"]] * weights[row["category"]])
    assert list(table["harm"]) == sorted(table["harm"], reverse=True)
