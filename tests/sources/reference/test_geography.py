"""Boundaries (GeoJSON, gzipped GeoJSON, zipped shapefiles), centroids and the rural-urban
classification, checked against the raw files read independently (geopandas, pyproj, pandas)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import duckdb
import geopandas as gpd
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import Polygon, box

from tests.sources.reference.conftest import Loaded
from tests.sources.reference.helpers import (
    BOUNDARIES,
    CENTROIDS,
    EAST_CAMBS,
    LUTON,
    RURAL_URBAN,
    WD19,
    ingest,
    raw_csv,
    scalar,
)

LUTON_LSOA21 = BOUNDARIES / "lsoa21" / "E06000032_Luton_lsoa21.geojson.gz"


def test_lsoa21_boundaries(reference: Loaded) -> None:
    raw = gpd.read_file(f"/vsigzip/{LUTON_LSOA21}")
    con = reference.con
    stored = con.execute(
        """SELECT code, level, geometry_wkb, min_lon, min_lat, max_lon, max_lat, centroid_lon,
                  centroid_lat, area_km2 FROM area_geometry
           WHERE vintage = '2021' AND code IN (SELECT unnest(?::VARCHAR[]))""",
        [list(raw["LSOA21CD"])]).fetchall()
    assert len(stored) == len(raw) == 125
    expected_km2 = raw.set_index("LSOA21CD").to_crs("EPSG:27700").area / 1e6
    for code, level, wkb, x0, y0, x1, y1, cx, cy, km2 in stored:
        polygon = shapely.from_wkb(bytes(wkb))
        assert level == "lsoa"
        assert polygon.equals_exact(raw.set_index("LSOA21CD").geometry[code], 1e-12)
        assert (x0, y0, x1, y1) == pytest.approx(polygon.bounds)
        assert polygon.contains(shapely.Point(cx, cy))
        assert km2 == pytest.approx(expected_km2[code])
    assert sum(r[9] for r in stored) == pytest.approx(43.35, abs=0.5)  # Luton is ~43 km2
    record = reference.record(LUTON_LSOA21.name)
    assert (record.kind, record.rows_loaded, record.lsoa_vintage) == (
        "reference-boundaries", 125, "2021")


def test_ward_boundaries_take_the_finest_code(reference: Loaded) -> None:
    con = reference.con
    # The 2019 ward files also carry LAD20CD: the features are wards, not districts.
    per_vintage = dict(con.execute("SELECT vintage, count(*) FROM area_geometry "
                                   "WHERE level = 'ward' GROUP BY 1").fetchall())
    assert per_vintage == {"2019": 22 + 14 + 14 + 24 + 26 + 26, "2025": 20 + 28 + 31}
    assert scalar(con, "SELECT count(*) FROM area_geometry WHERE level = 'lad'") == 0
    raw = raw_csv(WD19)
    ec_wards = set(raw.loc[raw["LAD19CD"] == EAST_CAMBS, "WD19CD"])
    stored = {r[0] for r in con.execute(
        "SELECT code FROM area_geometry WHERE vintage = '2019' AND code IN "
        "(SELECT unnest(?::VARCHAR[]))", [sorted(ec_wards)]).fetchall()}
    assert stored == ec_wards
    assert scalar(con, "SELECT count(*) FROM area_vintages WHERE vintage = '2025'") == 79


def test_population_weighted_centroids(reference: Loaded) -> None:
    raw = raw_csv(CENTROIDS)
    con = reference.con
    assert scalar(con, "SELECT count(*) FROM area_centroids WHERE vintage = '2021' AND "
                  "kind = 'population-weighted'") == len(raw) == 35_672
    to_wgs84 = Transformer.from_crs(27700, 4326, always_xy=True)
    for _, row in raw.sample(50, random_state=1).iterrows():
        lon, lat = to_wgs84.transform(float(row["x"]), float(row["y"]))
        stored = con.execute("SELECT lon, lat, easting, northing FROM area_centroids "
                             "WHERE code = ?", [row["LSOA21CD"]]).fetchone()
        assert stored == pytest.approx((lon, lat, float(row["x"]), float(row["y"])))
    # Each Luton LSOA's weighted centroid lies in or near its own polygon.
    inside = scalar(con, """SELECT count(*) FROM area_centroids c JOIN area_geometry g
                              USING (code, vintage)
                            WHERE c.lon BETWEEN g.min_lon AND g.max_lon
                              AND c.lat BETWEEN g.min_lat AND g.max_lat
                              AND code IN (SELECT child_code FROM area_links
                                           WHERE parent_code = ? AND child_vintage = '2021')""",
                    [LUTON])
    assert inside == 125


def test_rural_urban_classification(reference: Loaded) -> None:
    raw = raw_csv(RURAL_URBAN)
    wd19 = raw_csv(WD19)
    ec = raw[raw["LSOA11CD"].isin(wd19.loc[wd19["LAD19CD"] == EAST_CAMBS, "LSOA11CD"])]
    expected = ec["RUC11"].value_counts().to_dict()
    assert expected == {"Rural town and fringe": 27, "Urban city and town": 14,
                        "Rural village and dispersed": 9}
    got = dict(reference.con.execute(
        """SELECT value, count(*) FROM area_attributes WHERE attribute = 'rural_urban_2011'
           AND code IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1""",
        [list(ec["LSOA11CD"])]).fetchall())
    assert got == expected
    assert scalar(reference.con, "SELECT count(*) FROM area_attributes WHERE attribute = "
                  "'rural_urban_2011_code'") == len(raw)


def test_zipped_shapefile_in_british_national_grid(fresh: duckdb.DuckDBPyConnection,
                                                   tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame(
        {"WD22CD": ["E05000001", "E05000002"], "WD22NM": ["North", "South"],
         "LAD22CD": ["E07000009", "E07000009"]},
        geometry=[box(550_000, 270_000, 552_000, 271_000), box(550_000, 268_000, 551_000,
                                                                270_000)],
        crs="EPSG:27700")
    folder = tmp_path / "shp"
    folder.mkdir()
    frame.to_file(folder / "wards.shp")
    archive = tmp_path / "wards.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for part in folder.iterdir():
            out.write(part, part.name)
    [record] = ingest(fresh, archive)
    assert (record.kind, record.rows_loaded) == ("reference-boundaries", 2)
    rows = fresh.execute("SELECT code, level, vintage, area_km2, min_lon, min_lat FROM "
                         "area_geometry ORDER BY code").fetchall()
    assert [r[:3] for r in rows] == [("E05000001", "ward", "2022"), ("E05000002", "ward", "2022")]
    assert [r[3] for r in rows] == pytest.approx([2.0, 2.0], rel=1e-3)
    to_wgs84 = Transformer.from_crs(27700, 4326, always_xy=True)
    corner = to_wgs84.transform(550_000, 270_000)
    assert rows[0][4] == pytest.approx(corner[0], abs=1e-3)   # reprojected to lon/lat
    assert rows[0][5] == pytest.approx(corner[1], abs=1e-3)
    assert fresh.execute("SELECT code, level, name FROM areas ORDER BY code").fetchall() == [
        ("E05000001", "ward", "North"), ("E05000002", "ward", "South")]


def test_bad_features_are_quarantined_by_index(fresh: duckdb.DuckDBPyConnection,
                                               tmp_path: Path) -> None:
    square = json.loads(shapely.to_geojson(Polygon([(0, 52), (0.01, 52), (0.01, 52.01)])))
    point = {"type": "Point", "coordinates": [0, 52]}
    features = [
        {"type": "Feature", "properties": {"LSOA21CD": "E01000001"}, "geometry": square},
        {"type": "Feature", "properties": {"LSOA21CD": "E01000002"}, "geometry": None},
        {"type": "Feature", "properties": {"LSOA21CD": "nonsense"}, "geometry": square},
        {"type": "Feature", "properties": {"LSOA21CD": "E01000004"}, "geometry": point},
        {"type": "Feature", "properties": {"LSOA21CD": "E01000001"}, "geometry": square},
    ]
    path = tmp_path / "lsoa.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    [record] = ingest(fresh, path)
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (5, 1, 4)
    rejected = fresh.execute("SELECT line_no, column_name, reason, raw FROM quarantine "
                             "ORDER BY line_no").fetchall()
    assert [(r[0], r[1]) for r in rejected] == [(1, "geometry"), (2, "LSOA21CD"),
                                                (3, "geometry"), (4, "LSOA21CD")]
    assert "no geometry" in rejected[0][2] and rejected[0][3].startswith("features[1]:")
    assert "Point" in rejected[2][2] and "twice" in rejected[3][2]
