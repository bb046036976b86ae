"""An area beside its siblings and parent, checked against pandas counts, the ONS mid-2019
estimates and an independent Poisson E-test of each place against the rest of the parent."""

from __future__ import annotations

import pandas as pd
import pytest
from scipy.stats import poisson_means_test

from cspkit.measures.areas import select_area
from cspkit.measures.comparisons import siblings
from cspkit.measures.periods import parse_period

from .conftest import ASB

BEDFORDSHIRE = {"E06000055": "Bedford", "E06000032": "Luton",
                "E06000056": "Central Bedfordshire"}
CAMBRIDGESHIRE = {"E07000008": "Cambridge", "E07000009": "East Cambridgeshire",
                  "E07000010": "Fenland", "E07000011": "Huntingdonshire",
                  "E07000012": "South Cambridgeshire"}


def expected_verdict(count: int, pop: float, rest: int, rest_pop: float) -> str:
    p = poisson_means_test(count, pop, rest, rest_pop).pvalue
    if p >= 0.05:
        return "no significant difference"
    return "significantly higher" if count / pop > rest / rest_pop else "significantly lower"


def check_places(table: pd.DataFrame, counts: pd.Series, population: dict[str, int]) -> None:
    places = table[table["role"] != "parent"].set_index("code")
    assert set(places.index) == set(counts.index)
    total, total_pop = int(counts.sum()), sum(population[c] for c in counts.index)
    for code, row in places.iterrows():
        count, pop = int(counts[code]), population[code]
        assert row["count"] == count, code
        assert row["population"] == pop, code
        assert row["rate_per_1000"] == pytest.approx(count * 1000 / pop, abs=5e-4)
        rest, rest_pop = total - count, total_pop - pop
        significant = poisson_means_test(count, pop, rest, rest_pop).pvalue < 0.05
        assert (row["p_value"] < 0.05) == significant, code
        assert row["verdict"] == expected_verdict(count, pop, rest, rest_pop), code
    parent = table[table["role"] == "parent"]
    assert len(parent) == 1
    assert int(parent["count"].iloc[0]) == total
    assert parent["population"].iloc[0] == total_pop
    assert parent["rate_per_1000"].iloc[0] == pytest.approx(total * 1000 / total_pop, abs=5e-4)


def test_bedford_beside_luton_and_central_bedfordshire(demo_warehouse, bedfordshire_events,
                                                       mid2022_population):
    table = siblings(demo_warehouse, select_area(demo_warehouse, "Bedford"),
                     parse_period("2023"))
    assert table["role"].tolist()[0] == "area" and table["code"].iloc[0] == "E06000055"
    roles = dict(zip(table["code"], table["role"], strict=True))
    assert {c for c, r in roles.items() if r == "sibling"} == {"E06000032", "E06000056"}
    names = dict(zip(table["code"], table["name"], strict=True))
    assert all(names[c] == n for c, n in BEDFORDSHIRE.items())
    parent = table[table["role"] == "parent"].iloc[0]
    assert parent["name"] == "Bedfordshire Police" and parent["level"] == "force"

    rows = bedfordshire_events[bedfordshire_events["lad_code"].isin(list(BEDFORDSHIRE))
                               & bedfordshire_events["month"].str.startswith("2023-")]
    counts = rows.groupby("lad_code").size()
    check_places(table, counts, mid2022_population)
    assert set(table["population_year"]) == {2022}
    # The force's count is the sum of its three districts'.
    assert parent["count"] == table.loc[table["role"] != "parent", "count"].sum()


def test_east_cambridgeshire_asb_beside_the_county_districts(demo_warehouse,
                                                             cambridgeshire_events,
                                                             mid2019_population):
    table = siblings(demo_warehouse, select_area(demo_warehouse, "East Cambridgeshire"),
                     parse_period("2019"), category=ASB)
    parent = table[table["role"] == "parent"].iloc[0]
    assert (parent["code"], parent["level"]) == ("E10000003", "county")
    assert "E06000031" not in set(table["code"])      # Peterborough is not in the county
    places = table[table["role"] != "parent"]
    assert set(places["code"]) == set(CAMBRIDGESHIRE)
    assert places["partial"].all() and parent["partial"]

    rows = cambridgeshire_events[cambridgeshire_events["lad_code"].isin(list(CAMBRIDGESHIRE))
                                 & cambridgeshire_events["month"].str.startswith("2019-")
                                 & (cambridgeshire_events["category"] == ASB)]
    counts = rows.groupby("lad_code").size()
    check_places(table, counts, mid2019_population)
    # The five districts' estimates add up to the county's own published figure.
    assert parent["population"] == mid2019_population["E10000003"]
