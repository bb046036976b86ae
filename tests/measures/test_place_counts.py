"""Events counted for many places at once (`measures.place_counts`), checked against the
demo warehouse's events and hierarchy counted with pandas, and the same counts from its
Parquet export."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cspkit.measures.areas import AreaSelection
from cspkit.measures.periods import calendar_year
from cspkit.measures.place_counts import lsoa_counts, place_counts
from cspkit.measures.place_lsoas import lsoa_pairs
from cspkit.products.exports import export
from cspkit.store.tables import Warehouse

ASB = "Anti-social behaviour"
BEDFORD = AreaSelection("E06000055", "Bedford", "lad")
BRICKHILL = AreaSelection("E05014492", "Brickhill", "ward")
FORCE = AreaSelection("bedfordshire", "Bedfordshire", "force")


@pytest.fixture(scope="module")
def located(demo_warehouse: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """police.uk events with their LSOA's hierarchy row (pandas does the join)."""
    events = demo_warehouse.execute(
        "SELECT source, month, category, lsoa_code, lsoa_vintage FROM events "
        "WHERE source = 'police.uk' AND lsoa_code IS NOT NULL").df()
    g = demo_warehouse.execute("SELECT * FROM lsoa_geography").df()
    return events.merge(g, on=["lsoa_code", "lsoa_vintage"])


@pytest.fixture(scope="module")
def rest(located: pd.DataFrame) -> AreaSelection:
    """The force less Bedford, as a profile compares them: hundreds of listed LSOAs."""
    codes = sorted(set(located[located["force_code"] == "bedfordshire"]["lsoa_code"])
                   - set(located[located["lad_code"] == BEDFORD.code]["lsoa_code"]))
    return AreaSelection("custom:rest", "Bedfordshire excluding Bedford", "custom",
                         tuple(codes))


@pytest.fixture(scope="module")
def parquet(demo_warehouse: duckdb.DuckDBPyConnection,
            tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    folder = tmp_path_factory.mktemp("place_counts")
    export(demo_warehouse, Path(folder), "parquet", tables=["events", "lsoa_geography"])
    return Warehouse.parquet(folder)


def _expected(rows: pd.DataFrame, by_month: bool) -> dict[object, dict[str, int]]:
    when = rows["month"].dt.date if by_month else rows["month"].dt.year
    out: dict[object, dict[str, int]] = {}
    for (key, category), n in rows.groupby([when, "category"]).size().items():
        out.setdefault(key if by_month else int(key), {})[category] = int(n)
    return out


def test_place_counts_by_year_for_nested_and_listed_places(demo_warehouse, located, rest):
    places = [BEDFORD, BRICKHILL, FORCE, rest]
    counted = place_counts(demo_warehouse, lsoa_pairs(demo_warehouse, places), 2021, 2023)
    assert list(counted) == places
    in_years = located[located["month"].dt.year.between(2021, 2023)]
    assert counted[BEDFORD] == _expected(in_years[in_years["lad_code"] == BEDFORD.code], False)
    assert counted[BRICKHILL] == _expected(in_years[in_years["ward_code"] == BRICKHILL.code],
                                           False)
    assert counted[FORCE] == _expected(in_years[in_years["force_code"] == FORCE.code], False)
    assert counted[rest] == _expected(in_years[in_years["lsoa_code"].isin(rest.lsoas)], False)
    # Nested places each count their events: Bedford and the rest make the force.
    for year in (2021, 2022, 2023):
        for category, n in counted[FORCE][year].items():
            assert n == (counted[BEDFORD][year].get(category, 0)
                         + counted[rest][year].get(category, 0))
    assert sorted(counted[BEDFORD]) == [2021, 2022, 2023]


def test_place_counts_by_month(demo_warehouse, located):
    pairs = lsoa_pairs(demo_warehouse, [BRICKHILL])
    counted = place_counts(demo_warehouse, pairs, 2022, 2023, by_month=True)[BRICKHILL]
    rows = located[(located["ward_code"] == BRICKHILL.code)
                   & located["month"].dt.year.between(2022, 2023)]
    assert counted == _expected(rows, True)
    assert all(type(m) is date for m in counted)


def test_place_counts_of_no_lsoas_are_empty(demo_warehouse):
    empty = AreaSelection("custom:none", "None", "custom", ("E01999999",))
    assert place_counts(demo_warehouse, {empty: frozenset()}, 2021, 2023) == {empty: {}}


def test_lsoa_counts_leave_out_the_category_asked(demo_warehouse, located):
    rows = located[(located["ward_code"] == BRICKHILL.code)
                   & (located["month"].dt.year == 2023)]
    crime = rows[rows["category"] != ASB]
    assert lsoa_counts(demo_warehouse, BRICKHILL, calendar_year(2023), excluding=ASB) == {
        str(c): int(n) for c, n in crime.groupby("lsoa_code").size().items()}
    assert lsoa_counts(demo_warehouse, BRICKHILL, calendar_year(2023)) == {
        str(c): int(n) for c, n in rows.groupby("lsoa_code").size().items()}


def test_the_parquet_export_gives_the_same_counts(demo_warehouse, parquet, rest):
    places = [BEDFORD, BRICKHILL, rest]
    pairs = lsoa_pairs(demo_warehouse, places)
    assert place_counts(parquet, pairs, 2021, 2023) == place_counts(demo_warehouse, pairs,
                                                                    2021, 2023)
    assert (place_counts(parquet, pairs, 2023, 2023, by_month=True)
            == place_counts(demo_warehouse, pairs, 2023, 2023, by_month=True))
    assert lsoa_counts(parquet, BEDFORD, calendar_year(2022), excluding=ASB) == lsoa_counts(
        demo_warehouse, BEDFORD, calendar_year(2022), excluding=ASB)
