"""Which LSOAs a place selects (`measures.place_lsoas`), checked against the hierarchy read
with plain SQL and pandas on the demo warehouse, and the same answers from its Parquet
export."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from cspkit.measures.areas import AreaSelection, area_forces
from cspkit.measures.place_lsoas import (
    lsoa_codes,
    lsoa_pairs,
    lsoa_wards,
    lsoas_of_areas,
    main_district,
)

BEDFORD = AreaSelection("E06000055", "Bedford", "lad")
BRICKHILL = AreaSelection("E05014492", "Brickhill", "ward")
FORCE = AreaSelection("bedfordshire", "Bedfordshire", "force")


@pytest.fixture(scope="module")
def hierarchy(demo_warehouse: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return demo_warehouse.execute("SELECT * FROM lsoa_geography").df()


@pytest.fixture(scope="module")
def straddling(hierarchy: pd.DataFrame) -> AreaSelection:
    """A custom area of 2021 LSOAs: three of Central Bedfordshire and two of Bedford."""
    g = hierarchy[hierarchy["lsoa_vintage"] == "2021"].sort_values("lsoa_code")
    codes = [*g[g["lad_code"] == "E06000056"]["lsoa_code"][:3],
             *g[g["lad_code"] == "E06000055"]["lsoa_code"][:2]]
    return AreaSelection("custom:straddling", "Straddling", "custom", tuple(sorted(codes)))


def test_lsoa_codes_are_the_areas_lsoas_of_the_edition(demo_warehouse, hierarchy, straddling):
    for vintage in ("2011", "2021"):
        expected = sorted(set(hierarchy[(hierarchy["lad_code"] == BEDFORD.code)
                                        & (hierarchy["lsoa_vintage"] == vintage)]["lsoa_code"]))
        assert lsoa_codes(demo_warehouse, BEDFORD, vintage) == expected
        assert len(expected) > 100
    # A custom area: its listed codes, whatever the edition asked.
    assert lsoa_codes(demo_warehouse, straddling, "2011") == list(straddling.lsoas)


def test_lsoas_of_areas_gathers_the_wards_lsoas(demo_warehouse, hierarchy):
    g = hierarchy[hierarchy["lsoa_vintage"] == "2021"]
    wards = sorted(set(g[g["lad_code"] == BEDFORD.code]["ward_code"]))[:4]
    expected = set(g[g["ward_code"].isin(wards)]["lsoa_code"])
    assert lsoas_of_areas(demo_warehouse, "ward", wards, "2021") == expected
    assert lsoas_of_areas(demo_warehouse, "ward", [], "2021") == set()


def test_lsoa_pairs_are_the_hierarchy_rows_each_place_selects(demo_warehouse, hierarchy,
                                                              straddling):
    lsoa = AreaSelection(straddling.lsoas[0], "An LSOA", "lsoa")
    places = [BEDFORD, BRICKHILL, FORCE, straddling, lsoa]
    found = lsoa_pairs(demo_warehouse, places)
    assert list(found) == places
    for place, column in ((BEDFORD, "lad_code"), (BRICKHILL, "ward_code"),
                          (FORCE, "force_code"), (lsoa, "lsoa_code")):
        rows = hierarchy[hierarchy[column] == place.code]
        assert found[place] == frozenset(zip(rows["lsoa_code"], rows["lsoa_vintage"],
                                             strict=True)), place
    rows = hierarchy[hierarchy["lsoa_code"].isin(straddling.lsoas)]
    assert found[straddling] == frozenset(zip(rows["lsoa_code"], rows["lsoa_vintage"],
                                              strict=True))
    assert len(found[FORCE]) > len(found[BEDFORD]) > len(found[BRICKHILL]) > 0


def test_main_district_holds_most_of_the_areas_lsoas(demo_warehouse, straddling):
    assert main_district(demo_warehouse, straddling, "2021") == AreaSelection(
        "E06000056", "Central Bedfordshire", "lad")
    assert main_district(demo_warehouse, BRICKHILL, "2021") == BEDFORD
    # None of its LSOAs in that edition: no district.
    assert main_district(demo_warehouse, AreaSelection("custom:none", "None", "custom",
                                                       ("E01999999",)), "2021") is None


def test_main_district_breaks_a_tie_on_the_lower_code(demo_warehouse, hierarchy):
    g = hierarchy[hierarchy["lsoa_vintage"] == "2021"].sort_values("lsoa_code")
    codes = (*g[g["lad_code"] == "E06000056"]["lsoa_code"][:2],
             *g[g["lad_code"] == "E06000055"]["lsoa_code"][:2])
    tied = AreaSelection("custom:tied", "Tied", "custom", tuple(sorted(codes)))
    assert main_district(demo_warehouse, tied, "2021") == BEDFORD


def test_lsoa_wards_and_area_forces(demo_warehouse, hierarchy):
    rows = hierarchy[(hierarchy["lad_code"] == BEDFORD.code)
                     & (hierarchy["lsoa_vintage"] == "2021")]
    assert lsoa_wards(demo_warehouse, BEDFORD, "2021") == dict(
        zip(rows["lsoa_code"], rows["ward_name"], strict=True))
    expected = set(hierarchy[hierarchy["lad_code"].isin(["E06000055", "E07000009"])]
                   ["force_code"].dropna())
    both = AreaSelection("custom:both", "Both", "custom", tuple(sorted(
        [*rows["lsoa_code"][:2], *hierarchy[hierarchy["lad_code"] == "E07000009"]
         ["lsoa_code"][:2]])))
    assert area_forces(demo_warehouse, both) == expected == {"bedfordshire", "cambridgeshire"}
    assert area_forces(demo_warehouse, BEDFORD) == {"bedfordshire"}


def test_the_parquet_export_gives_the_same_answers(demo_warehouse, parquet, straddling):
    for con in (demo_warehouse, parquet):
        assert lsoa_codes(con, BEDFORD, "2021") == lsoa_codes(demo_warehouse, BEDFORD, "2021")
    places = [BEDFORD, BRICKHILL, FORCE, straddling]
    assert lsoa_pairs(parquet, places) == lsoa_pairs(demo_warehouse, places)
    assert main_district(parquet, straddling, "2021") == main_district(
        demo_warehouse, straddling, "2021")
    assert lsoa_wards(parquet, BEDFORD, "2011") == lsoa_wards(demo_warehouse, BEDFORD, "2011")
    assert area_forces(parquet, straddling) == area_forces(demo_warehouse, straddling)
    assert lsoas_of_areas(parquet, "lad", [BEDFORD.code], "2011") == lsoas_of_areas(
        demo_warehouse, "lad", [BEDFORD.code], "2011")
