"""The same measures on every engine: the DuckDB warehouse itself, DuckDB over a Parquet
export (`Warehouse.parquet`) and local Spark over the same export (`Warehouse.spark`) give
identical frames, dtypes and attributes included.

The export is a slice of the demo warehouse: East Cambridgeshire's events (restricted partner
sources included), LSOAs and population (with every ingest and the whole deprivation table),
so the district's and its wards' figures are those of the whole warehouse. Boundaries are not
exported: the Gi* hot-spot test refuses other engines in words. One local Spark session (one core) serves the module. Without PySpark these
tests skip, except where CSPKIT_REQUIRE_SYSTEM_DEPS is set (CI installs the `spark` extra).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cspkit.measures import areas as areas_module
from cspkit.measures.areas import AreaSelection, children, latest_full_year, select_area
from cspkit.measures.counts import ALL_CRIME, counts, share_within
from cspkit.measures.deprivation import events_by_decile
from cspkit.measures.getis_ord import lsoa_hotspots
from cspkit.measures.hotspots import lsoa_concentration
from cspkit.measures.period_change import change, place_change
from cspkit.measures.periods import calendar_year
from cspkit.measures.places import vulnerable_places
from cspkit.measures.series import monthly_series
from cspkit.products.exports import export
from cspkit.store.tables import EngineError, Warehouse, local_spark

DISTRICT = "E07000009"   # East Cambridgeshire: about 4,000 events, 2011 LSOAs
TIMINGS: dict[str, dict[str, float]] = {}

if importlib.util.find_spec("pyspark") is None:
    if os.environ.get("CSPKIT_REQUIRE_SYSTEM_DEPS"):
        pytest.fail("PySpark is not installed: pip install -e '.[test,spark]' "
                    "(CSPKIT_REQUIRE_SYSTEM_DEPS is set, so the Spark tests may not skip)",
                    pytrace=False)
    pytest.skip("PySpark is not installed (pip install -e '.[spark]'); the engine tests need "
                "it", allow_module_level=True)


@pytest.fixture(scope="module")
def sliced_export(demo_warehouse: duckdb.DuckDBPyConnection,
                  tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`cspkit export parquet` of the demo warehouse, cut down to one district."""
    full = tmp_path_factory.mktemp("export")
    export(demo_warehouse, full, "parquet", include_restricted=True,
           tables=["events", "lsoa_geography", "population", "deprivation", "lsoa_changes",
                   "ingests"])
    out = tmp_path_factory.mktemp("slice")
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM '{full}/events.parquet' WHERE lad_code = ?) "
                f"TO '{out}/events.parquet'", [DISTRICT])
    con.execute(f"COPY (SELECT * FROM '{full}/lsoa_geography.parquet' WHERE lad_code = ?) "
                f"TO '{out}/lsoa_geography.parquet'", [DISTRICT])
    con.execute(f"""COPY (SELECT * FROM '{full}/population.parquet' WHERE code = ? OR code IN
                          (SELECT lsoa_code FROM '{out}/lsoa_geography.parquet'
                           UNION SELECT ward_code FROM '{out}/lsoa_geography.parquet'))
                    TO '{out}/population.parquet'""", [DISTRICT])
    for whole in ("ingests", "deprivation", "lsoa_changes"):   # national ranks, the lookup
        shutil.copyfile(full / f"{whole}.parquet", out / f"{whole}.parquet")
    con.close()
    return out


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    session = local_spark("cspkit-tests", cores=1, memory="512m")
    yield session
    session.stop()   # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def engines(demo_warehouse: duckdb.DuckDBPyConnection, sliced_export: Path,
            spark: object) -> dict[str, Warehouse]:
    return {"warehouse": Warehouse.duckdb(demo_warehouse),
            "parquet": Warehouse.parquet(sliced_export),
            "spark": Warehouse.spark(sliced_export, spark)}


@pytest.fixture(scope="module")
def district(demo_warehouse: duckdb.DuckDBPyConnection) -> AreaSelection:
    return select_area(demo_warehouse, DISTRICT)


@pytest.fixture(scope="module")
def year(demo_warehouse: duckdb.DuckDBPyConnection, district: AreaSelection) -> int:
    return latest_full_year(demo_warehouse, district)


def same_everywhere(name: str, engines: dict[str, Warehouse],
                    measure: Callable[[Warehouse], pd.DataFrame]) -> pd.DataFrame:
    """Run `measure` on each engine (from a cold memo) and assert the frames identical."""
    results: dict[str, pd.DataFrame] = {}
    for engine, wh in engines.items():
        areas_module._MEMO.clear()
        start = time.perf_counter()
        results[engine] = measure(wh)
        TIMINGS.setdefault(name, {})[engine] = round(time.perf_counter() - start, 2)
    reference = results["warehouse"]
    assert len(reference) > 0, name
    for engine, frame in results.items():
        pd.testing.assert_frame_equal(frame, reference, check_exact=True, obj=f"{name} {engine}")
        assert repr(frame.attrs) == repr(reference.attrs), (name, engine)
    return reference


def test_counts(engines, district, year):
    frame = same_everywhere("counts", engines, lambda wh: counts(
        wh, district, calendar_year(year), by="subcategory", total=True))
    assert frame["is_total"].sum() == 1


def test_change_by_category(engines, district, year):
    frame = same_everywhere("change", engines, lambda wh: change(
        wh, district, calendar_year(year), calendar_year(year - 1), total=True, allow_partial=True))
    assert ALL_CRIME in set(frame["category"])


def test_ward_table(engines, district, year, demo_warehouse):
    frame = same_everywhere("ward table", engines, lambda wh: place_change(
        wh, district, calendar_year(year), calendar_year(year - 1), category=ALL_CRIME, allow_partial=True))
    wards = children(demo_warehouse, district, "ward")
    assert sorted(frame["ward_code"]) == sorted(w.code for w in wards)


def test_monthly_series(engines, district, year):
    frame = same_everywhere("monthly series", engines, lambda wh: monthly_series(
        wh, district, category=["Burglary", "Robbery"], inspect=calendar_year(year)))
    assert frame["inspected"].sum() > 0


def test_share_within(engines, district, year):
    shares = {}
    for engine, wh in engines.items():
        areas_module._MEMO.clear()
        shares[engine] = share_within(wh, district, calendar_year(year), "Burglary",
                                      ["Burglary", "Robbery", "Vehicle crime"])
    assert shares["parquet"] == shares["warehouse"] == shares["spark"]
    assert shares["warehouse"]["group_count"] > 0


def test_concentration(engines, district, year):
    found = {}
    for engine, wh in engines.items():
        areas_module._MEMO.clear()
        start = time.perf_counter()
        found[engine] = lsoa_concentration(wh, district, calendar_year(year))
        TIMINGS.setdefault("concentration", {})[engine] = round(time.perf_counter() - start, 2)
    reference = found["warehouse"]
    assert len(reference.top_places) > 0 and reference.n_events > 0
    for engine, result in found.items():
        pd.testing.assert_frame_equal(result.top_places, reference.top_places,
                                      check_exact=True, obj=f"concentration {engine}")
        assert repr(result) == repr(reference), engine


def test_vulnerable_places(engines, district, year, demo_warehouse):
    frame = same_everywhere("places", engines, lambda wh: vulnerable_places(
        wh, district, calendar_year(year)))
    assert "domestic_abuse" in frame.attrs["issues"] and "deprivation" in frame.attrs["issues"]
    assert sorted(frame["code"]) == sorted(w.code for w in children(demo_warehouse, district,
                                                                    "ward"))


def test_events_by_deprivation_decile(engines, district, year):
    frame = same_everywhere("deprivation", engines, lambda wh: events_by_decile(
        wh, district, calendar_year(year), local=True))
    assert frame["count"].sum() > 0 and not frame["mapped"].any()
    # IoD2025 is on 2021 LSOAs: the district's 2011 events carried through the ONS lookup.
    mapped = same_everywhere("deprivation mapped", engines, lambda wh: events_by_decile(
        wh, district, calendar_year(year), edition="2025"))
    assert mapped["mapped"].all() and mapped["count"].sum() > 0


def test_hotspots_need_the_duckdb_warehouse(engines, district, year):
    for engine in ("parquet", "spark"):
        with pytest.raises(EngineError, match="boundaries.*only the DuckDB warehouse"):
            lsoa_hotspots(engines[engine], district, calendar_year(year))


def test_places_without_the_markers_column_say_so(sliced_export, district, year, tmp_path):
    """An export written before events carried their attributes cannot count domestic abuse:
    the ranking refuses in words rather than scoring it 0."""
    older = tmp_path / "older"
    shutil.copytree(sliced_export, older)
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * EXCLUDE (attributes) FROM '{sliced_export}/events.parquet') "
                f"TO '{older}/events.parquet'")
    con.close()
    with pytest.raises(EngineError, match="domestic abuse is counted from the 'attributes'"):
        vulnerable_places(Warehouse.parquet(older), district, calendar_year(year))


def test_report_timings():
    """Not a check: prints seconds per measure and engine (pytest -s shows them)."""
    for name, seconds in TIMINGS.items():
        print(f"{name:16} " + "  ".join(f"{k} {v:6.2f}s" for k, v in seconds.items()))
