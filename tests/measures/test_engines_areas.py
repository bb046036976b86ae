"""Areas, comparisons and partner measures on every engine: the DuckDB warehouse, DuckDB over
a Parquet export and local Spark over the same export give identical results.

The export is the demo warehouse's Bedfordshire Police area (Bedford, Luton and Central
Bedfordshire: events, LSOAs, population), with every ingest, area and indicator, and with
the restricted partner sources (ED attendances, crime markers) that `--include-restricted`
adds, plus the partner records placed by district only. So Bedford's siblings, its similar
districts and its partner tables are those of the whole warehouse. One local Spark session
serves the module (the fixture of test_engines).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
import shapely

from cspkit.measures import areas as areas_module
from cspkit.measures.areas import (
    AreaSelection,
    children,
    custom_area,
    geography_editions,
    select_area,
)
from cspkit.measures.comparisons import family_rates, siblings
from cspkit.measures.counts import ALL_CRIME
from cspkit.measures.custom_areas import (
    area_from_geometry,
    area_from_wards,
    area_lsoas,
    size_class_peers,
)
from cspkit.measures.partner import (
    attribute_by_year,
    attribute_counts,
    flagged_by_year,
    indicator_breakdown,
    indicator_table,
)
from cspkit.measures.periods import calendar_year
from cspkit.measures.settings import Settings
from cspkit.products.exports import export
from cspkit.store.tables import EngineError, Warehouse

from .test_engines import TIMINGS, same_everywhere, spark  # noqa: F401  (spark: a fixture)

FORCE = "bedfordshire"
BEDFORD, LUTON, CENTRAL = "E06000055", "E06000032", "E06000056"
YEAR = 2023


@pytest.fixture(scope="module")
def force_export(demo_warehouse: duckdb.DuckDBPyConnection,
                 tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`cspkit export parquet --include-restricted` of the demo warehouse, cut down to one
    police force area (and the partner records with no LSOA, which give a district)."""
    full = tmp_path_factory.mktemp("export")
    export(demo_warehouse, full, "parquet", include_restricted=True,
           tables=["events", "lsoa_geography", "population", "ingests", "areas",
                   "indicators"])
    out = tmp_path_factory.mktemp("force")
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT * FROM '{full}/events.parquet' WHERE force_code = ?
                          OR (lsoa_code IS NULL AND source <> 'police.uk'))
                    TO '{out}/events.parquet'""", [FORCE])
    con.execute(f"COPY (SELECT * FROM '{full}/lsoa_geography.parquet' WHERE force_code = ?) "
                f"TO '{out}/lsoa_geography.parquet'", [FORCE])
    con.execute(f"""COPY (SELECT * FROM '{full}/population.parquet' WHERE code IN
                          (SELECT lad_code FROM '{out}/lsoa_geography.parquet'
                           UNION SELECT lsoa_code FROM '{out}/lsoa_geography.parquet'))
                    TO '{out}/population.parquet'""")
    for name in ("ingests", "areas", "indicators"):
        (out / f"{name}.parquet").write_bytes((full / f"{name}.parquet").read_bytes())
    con.close()
    return out


@pytest.fixture(scope="module")
def engines(demo_warehouse: duckdb.DuckDBPyConnection, force_export: Path,
            spark: object) -> dict[str, Warehouse]:  # noqa: F811
    return {"warehouse": Warehouse.duckdb(demo_warehouse),
            "parquet": Warehouse.parquet(force_export),
            "spark": Warehouse.spark(force_export, spark)}


@pytest.fixture(scope="module")
def bedford(demo_warehouse: duckdb.DuckDBPyConnection) -> AreaSelection:
    return select_area(demo_warehouse, BEDFORD)


def same_values(engines: dict[str, Warehouse], measure: Callable[[Warehouse], Any]) -> Any:
    """Run `measure` on each engine (from a cold memo); assert the results equal."""
    results = {}
    for engine, wh in engines.items():
        areas_module._MEMO.clear()
        results[engine] = measure(wh)
    assert results["parquet"] == results["warehouse"], "parquet"
    assert results["spark"] == results["warehouse"], "spark"
    return results["warehouse"]


def test_siblings(engines, bedford):
    frame = same_everywhere("siblings", engines, lambda wh: siblings(
        wh, bedford, calendar_year(YEAR), category=["Burglary", "Robbery"]))
    assert set(frame.loc[frame["role"] != "parent", "code"]) == {BEDFORD, LUTON, CENTRAL}


def test_similar_district_rates(engines, bedford, demo_warehouse):
    family = [select_area(demo_warehouse, code) for code in (LUTON, CENTRAL, BEDFORD)]
    issues = [("Burglary", ["Burglary"]), ("All crime", [ALL_CRIME])]
    frame = same_everywhere("family rates", engines, lambda wh: family_rates(
        wh, bedford, calendar_year(YEAR), family, issues,
        settings=Settings(similar_min_with_data=2)))
    assert frame.attrs["with_data"] == ["Luton", "Central Bedfordshire"]
    assert frame["family_count"].notna().all()


def test_partner_tables(engines, bedford):
    period = calendar_year(YEAR)
    crosstab = same_everywhere("ED attendances", engines, lambda wh: attribute_counts(
        wh, bedford, period, "istv", rows="age_band", columns="gender"))
    assert crosstab["count"].sum() > 0
    same_everywhere("ED by weapon", engines, lambda wh: attribute_by_year(
        wh, bedford, "istv", "subcategory"))
    flagged = same_everywhere("hate crime", engines, lambda wh: flagged_by_year(
        wh, bedford, "police-markers", "hate"))
    assert flagged["count"].sum() > 0
    same_everywhere("fire causes", engines, lambda wh: attribute_counts(
        wh, bedford, period, "fire", rows="subcategory"))
    same_everywhere("treatment", engines, lambda wh: indicator_table(
        wh, "treatment", ["in_treatment", "successful_completions"], [BEDFORD, LUTON]))
    same_everywhere("by substance", engines, lambda wh: indicator_breakdown(
        wh, "treatment", BEDFORD, "substance_group"))


def test_area_facts(engines, bedford, demo_warehouse):
    wards = children(demo_warehouse, bedford, "ward")
    ward = wards[0]
    same_values(engines, lambda wh: geography_editions(
        wh, ward, calendar_year(YEAR).start, calendar_year(YEAR).end))
    kempston = same_values(engines, lambda wh: area_from_wards(
        wh, "Kempston", ["Kempston West", "kempston north"], district=bedford))
    same_values(engines, lambda wh: custom_area(wh, "Kempston", list(kempston.lsoas)))
    same_values(engines, lambda wh: sorted(area_lsoas(wh, ward)))
    peers = same_values(engines, lambda wh: size_class_peers(wh, kempston, bedford,
                                                             year=YEAR))
    assert peers


def test_a_drawn_area_needs_the_duckdb_warehouse(engines):
    square = shapely.box(-0.5, 52.1, -0.45, 52.15)
    with pytest.raises(EngineError, match="DuckDB warehouse"):
        area_from_geometry(engines["spark"], "drawn", square, "WGS84 lon/lat")
    area, _ = area_from_geometry(engines["warehouse"], "drawn", square, "WGS84 lon/lat")
    assert area.lsoas


def test_report_timings():
    """Not a check: prints seconds per measure and engine (pytest -s shows them)."""
    for name, seconds in TIMINGS.items():
        print(f"{name:16} " + "  ".join(f"{k} {v:6.2f}s" for k, v in seconds.items()))
