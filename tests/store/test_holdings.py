"""What the warehouse holds (`store.holdings`), checked against the demo warehouse's tables
read whole and counted with pandas, and the same counts from its Parquet export; and the
parents `cspkit area` lists (`store.areas.area_parents`); values listed as a table
(`store.listed`)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cspkit.products.exports import export
from cspkit.store.areas import area_parents
from cspkit.store.holdings import (
    ForceSpan,
    areas_by_level,
    deprivation_editions,
    holds_source,
    partner_rows,
    police_spans,
    population_editions,
    source_rows,
)
from cspkit.store.tables import Warehouse


def _table(con: duckdb.DuckDBPyConnection, name: str, columns: str = "*") -> pd.DataFrame:
    return con.execute(f"SELECT {columns} FROM {name}").df()


@pytest.fixture(scope="module")
def events(demo_warehouse: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return _table(demo_warehouse, "events", "source, force, month")


@pytest.fixture(scope="module")
def parquet(demo_warehouse: duckdb.DuckDBPyConnection,
            tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    folder = tmp_path_factory.mktemp("holdings")
    export(demo_warehouse, Path(folder), "parquet", include_restricted=True,
           tables=["events", "indicators", "areas", "population", "deprivation"])
    return Warehouse.parquet(folder)


def test_areas_by_level(demo_warehouse):
    counts = _table(demo_warehouse, "areas").groupby("level").size()
    expected = sorted(((str(k), int(n)) for k, n in counts.items()), key=lambda r: (r[1], r[0]))
    assert areas_by_level(demo_warehouse) == expected
    assert dict(expected)["lad"] > 300


def test_population_and_deprivation_editions(demo_warehouse):
    p = _table(demo_warehouse, "population")
    assert population_editions(demo_warehouse) == sorted(
        (int(y), str(v), str(m), int(n))
        for (y, v, m), n in p.groupby(["year", "vintage", "method"]).size().items())
    imd = _table(demo_warehouse, "imd")
    grouped = imd.groupby("edition").agg(lsoas=("lsoa_code", "nunique"),
                                         domains=("domain", "nunique"))
    assert deprivation_editions(demo_warehouse) == [
        (str(e), int(r.lsoas), int(r.domains)) for e, r in grouped.sort_index().iterrows()]
    assert [e for e, _, _ in deprivation_editions(demo_warehouse)] == ["2019", "2025"]


def test_police_spans(demo_warehouse, events):
    police = events[events["source"] == "police.uk"]
    expected = [ForceSpan(str(force), f"{g['month'].min():%Y-%m}", f"{g['month'].max():%Y-%m}",
                          int(g["month"].nunique()), len(g))
                for force, g in police.groupby("force")]
    assert police_spans(demo_warehouse) == expected
    assert expected[0] == ForceSpan("bedfordshire", "2021-05", "2024-04", 36, 181_929)


def test_partner_rows_and_one_sources_rows(demo_warehouse, events):
    indicators = _table(demo_warehouse, "indicators", "source")
    records = events[events["source"] != "police.uk"].groupby("source").size()
    figures = indicators.groupby("source").size()
    expected = sorted([*((str(s), int(n)) for s, n in records.items()),
                       *((str(s), int(n)) for s, n in figures.items())], key=lambda r: r[0])
    assert partner_rows(demo_warehouse) == expected
    for source in ("fire", "treatment", "police.uk", "no-such-source"):
        held = (int((events["source"] == source).sum()),
                int((indicators["source"] == source).sum()))
        assert source_rows(demo_warehouse, source) == held, source
        assert holds_source(demo_warehouse, source) is (sum(held) > 0), source
    assert source_rows(demo_warehouse, "fire")[0] > 0
    assert source_rows(demo_warehouse, "treatment") == (0, int(figures["treatment"]))


def test_the_parquet_export_gives_the_same_holdings(demo_warehouse, parquet):
    for count in (areas_by_level, population_editions, deprivation_editions, police_spans,
                  partner_rows):
        assert count(parquet) == count(demo_warehouse), count.__name__
    for source in ("fire", "treatment", "no-such-source"):
        assert source_rows(parquet, source) == source_rows(demo_warehouse, source)
        assert holds_source(parquet, source) == holds_source(demo_warehouse, source)


def test_area_parents(demo_warehouse):
    links = _table(demo_warehouse, "area_links")
    names = _table(demo_warehouse, "areas", "code, name")
    code = "E05014492"   # Brickhill, a ward of Bedford
    rows = links[links["child_code"] == code][["parent_code", "parent_level"]].drop_duplicates()
    named = rows.merge(names, left_on="parent_code", right_on="code", how="left")
    expected = {(str(c), str(lv), None if pd.isna(n) else n)
                for c, lv, n in zip(named["parent_code"], named["parent_level"], named["name"],
                                    strict=True)}
    found = area_parents(demo_warehouse, code)
    assert set(found) == expected and len(found) == len(expected) > 0
    assert [level for _, level, _ in found] == sorted(level for _, level, _ in found)
    assert area_parents(demo_warehouse, "E99999999") == []


def test_listed_values_are_a_table_each_call_replaces(demo_warehouse):
    import pyarrow as pa

    from cspkit.store.listed import listed

    cursor = demo_warehouse.cursor()
    types = {"code": pa.string(), "n": pa.int64()}
    first = listed(cursor, "test", {"code": ["a", "b"], "n": [1, 2]}, types)
    assert sorted(first.to_pyarrow().to_pylist(), key=lambda r: r["code"]) == [
        {"code": "a", "n": 1}, {"code": "b", "n": 2}]
    again = listed(cursor, "test", {"code": ["c"], "n": [3]}, types)
    assert again.to_pyarrow().to_pylist() == [{"code": "c", "n": 3}]
    # Another cursor does not see this one's list.
    other = demo_warehouse.cursor()
    assert listed(other, "test", {"code": [], "n": []}, types).to_pyarrow().num_rows == 0
    assert again.to_pyarrow().num_rows == 1
