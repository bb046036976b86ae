"""`cspkit export`: every format holds the same rows as the warehouse, counted independently
(the raw police.uk CSVs read with the csv module), restricted sources are withheld unless
asked for, text a spreadsheet would run is defused in CSVs, and the data dictionary describes
every column written."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections import Counter
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely

from cspkit.errors import CspkitError
from cspkit.ingest import ingest_police
from cspkit.products.exports import export
from cspkit.sources.partner.load import RESTRICTED_NOTE
from cspkit.store import transaction


@pytest.fixture
def loaded(warehouse: duckdb.DuckDBPyConnection, cambridgeshire_zip: Path
           ) -> duckdb.DuckDBPyConnection:
    with transaction(warehouse):
        ingest_police(warehouse, [str(cambridgeshire_zip)], run_id="test")
    return warehouse


def raw_rows_kept(zip_path: Path) -> int:
    """Rows of every street file, less repeated Crime IDs (quarantined), by the csv module."""
    kept = 0
    with zipfile.ZipFile(zip_path) as archive:
        for name in archive.namelist():
            if not name.endswith("-street.csv"):
                continue
            rows = list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"),
                                                   newline="")))
            ids = Counter(r["Crime ID"] for r in rows if r["Crime ID"])
            kept += len(rows) - sum(n - 1 for n in ids.values() if n > 1)
    return kept


def add_restricted_source(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""INSERT INTO ingests (ingest_id, run_id, kind, file, sha256, status, note,
                                        rows_in, rows_loaded, rows_quarantined)
                   VALUES (900, 'test', 'partner-istv', 'istv.csv', 'x', 'loaded', ?, 1, 1, 0)""",
                [RESTRICTED_NOTE])
    con.execute("""INSERT INTO events (ingest_id, source, month, category, located, context)
                   VALUES (900, 'istv', DATE '2019-01-01', 'Assault', false, 'ward 3')""")


def test_parquet_and_csv_hold_every_event_counted_independently(
        loaded: duckdb.DuckDBPyConnection, cambridgeshire_zip: Path, tmp_path: Path) -> None:
    expected = raw_rows_kept(cambridgeshire_zip)
    parquet = export(loaded, tmp_path / "p", "parquet", tables=["events", "ingests"])
    table = pq.read_table(tmp_path / "p" / "events.parquet").to_pandas()
    assert parquet.rows["events"] == len(table) == expected

    export(loaded, tmp_path / "c", "csv", tables=["events"])
    text = pd.read_csv(tmp_path / "c" / "events.csv", dtype=str, keep_default_na=False)
    assert len(text) == expected
    assert Counter(text["category"]) == Counter(table["category"])


def test_events_carry_the_ward_and_district_of_the_ons_lookup(
        demo_warehouse: duckdb.DuckDBPyConnection, demo_dir: Path, tmp_path: Path) -> None:
    export(demo_warehouse, tmp_path, "parquet", tables=["events"])
    events = pq.read_table(tmp_path / "events.parquet",
                           columns=["lsoa_code", "lsoa_vintage", "ward_code", "lad_code",
                                    "source"]).to_pandas()
    lookup = pd.read_csv(demo_dir / "geography" / "lookups" /
                         "LSOA_(2021)_to_Electoral_Ward_(2023)_to_LAD_(2023)_Best_Fit_Lookup_in_EW.csv.gz",
                         usecols=["LSOA21CD", "WD23CD", "LAD23CD"], dtype=str, encoding="utf-8-sig")
    bedford = events[(events["lsoa_vintage"] == "2021") & (events["source"] == "police.uk")]
    joined = bedford.merge(lookup, left_on="lsoa_code", right_on="LSOA21CD", how="left")
    assert len(joined) == len(bedford) > 100_000
    assert (joined["ward_code"] == joined["WD23CD"]).all()
    assert (joined["lad_code"] == joined["LAD23CD"]).all()


def test_geopackage_points_and_attribute_tables(loaded: duckdb.DuckDBPyConnection,
                                                tmp_path: Path) -> None:
    result = export(loaded, tmp_path, "geopackage", tables=["events", "ingests"])
    path = tmp_path / "cspkit.gpkg"
    assert result.files[0] == path
    layers = {name for name, _ in pyogrio.list_layers(path)}
    assert layers == {"events", "ingests"}
    events = pyogrio.read_dataframe(path, layer="events")
    assert len(events) == result.rows["events"]
    with_point = events[events.geometry.notna() & ~events.geometry.is_empty]
    assert len(with_point) == int(loaded.execute(
        "SELECT count(*) FROM events WHERE lon IS NOT NULL AND lat IS NOT NULL").fetchone()[0])
    first = loaded.execute("SELECT lon, lat FROM events WHERE event_id = ?",
                           [int(with_point.iloc[0]["event_id"])]).fetchone()
    assert with_point.iloc[0].geometry.equals_exact(shapely.Point(first), 1e-9)


def test_area_boundaries_survive_the_geopackage(demo_warehouse: duckdb.DuckDBPyConnection,
                                                 tmp_path: Path) -> None:
    export(demo_warehouse, tmp_path, "geopackage", tables=["areas"])
    areas = pyogrio.read_dataframe(tmp_path / "cspkit.gpkg", layer="areas")
    drawn = areas[areas.geometry.notna()]
    held = demo_warehouse.execute(
        "SELECT count(DISTINCT (code, lower(level))) FROM area_geometry").fetchone()[0]
    assert len(drawn) == held
    # An LSOA held in both editions is drawn with its 2021 boundary.
    code, wkb = demo_warehouse.execute(
        """SELECT code, geometry_wkb FROM area_geometry WHERE level = 'lsoa'
           AND code IN (SELECT code FROM area_geometry WHERE vintage = '2011')
           AND vintage = '2021' ORDER BY code LIMIT 1""").fetchone()
    mine = drawn[(drawn["code"] == code) & (drawn["level"] == "lsoa")]
    assert len(mine) == 1
    assert mine.geometry.iloc[0].area == pytest.approx(shapely.from_wkb(bytes(wkb)).area,
                                                       rel=1e-9)


def test_restricted_sources_are_withheld_unless_asked_for(loaded: duckdb.DuckDBPyConnection,
                                                          tmp_path: Path) -> None:
    add_restricted_source(loaded)
    withheld = export(loaded, tmp_path / "w", "parquet", tables=["events"])
    assert withheld.withheld == ["istv"]
    sources = set(pq.read_table(tmp_path / "w" / "events.parquet")["source"].to_pylist())
    assert sources == {"police.uk"}
    assert json.loads((tmp_path / "w" / "export.json").read_text())["withheld_sources"] == [
        "istv"]

    everything = export(loaded, tmp_path / "a", "parquet", tables=["events"],
                        include_restricted=True)
    assert everything.rows["events"] == withheld.rows["events"] + 1


def test_csv_defuses_formula_text_but_keeps_signed_numbers(loaded: duckdb.DuckDBPyConnection,
                                                           tmp_path: Path) -> None:
    loaded.execute("""UPDATE events SET context = CASE WHEN event_id % 2 = 0
                          THEN '=HYPERLINK("http://x")' ELSE '-12' END""")
    export(loaded, tmp_path, "csv", tables=["events"])
    contexts = set(pd.read_csv(tmp_path / "events.csv", dtype=str)["context"])
    assert contexts == {"'=HYPERLINK(\"http://x\")", "-12"}


def test_dictionary_describes_every_column_written(loaded: duckdb.DuckDBPyConnection,
                                                   tmp_path: Path) -> None:
    export(loaded, tmp_path, "parquet")
    dictionary = pd.read_csv(tmp_path / "data-dictionary.csv", keep_default_na=False)
    for path in tmp_path.glob("*.parquet"):
        written = set(pq.read_schema(path).names)
        described = dictionary[dictionary["file"] == path.name]
        assert set(described["column"]) == written, path.name
        assert (described["description"] != "").all(), path.name


def test_unknown_table_is_refused(loaded: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    with pytest.raises(CspkitError, match="no table called crimes: tables are events"):
        export(loaded, tmp_path, "parquet", tables=["crimes"])
