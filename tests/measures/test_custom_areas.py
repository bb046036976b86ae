"""Custom areas from wards and polygons: a custom area made of a place's LSOAs counts exactly
what the place itself counts, and a polygon drawn around wards selects those wards' LSOAs."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import geopandas as gpd
import pandas as pd
import pytest
import shapely

from cspkit.errors import AreaNotFound
from cspkit.measures.areas import AreaSelection, custom_area, population, select_area
from cspkit.measures.counts import counts
from cspkit.measures.custom_areas import area_from_polygon, area_from_wards, size_class_peers
from cspkit.measures.periods import calendar_year

BEDFORD = "E06000055"
KEMPSTON_WEST = "E05014507"     # 2023 ward, on 2021 LSOAs
KEMPSTON_NORTH = "E05014505"
Y2023 = calendar_year(2023)


def ward_lsoas(con: duckdb.DuckDBPyConnection, *codes: str) -> list[str]:
    marks = ", ".join("?" for _ in codes)
    return [r[0] for r in con.execute(
        f"""SELECT DISTINCT lsoa_code FROM lsoa_geography WHERE ward_code IN ({marks})
            AND lsoa_vintage = '2021' ORDER BY 1""", list(codes)).fetchall()]


def by_category(frame: pd.DataFrame) -> dict[str, int]:
    return dict(zip(frame["category"], frame["count"].astype(int), strict=True))


def test_custom_area_of_a_wards_lsoas_counts_exactly_as_the_ward(demo_warehouse):
    lsoas = ward_lsoas(demo_warehouse, KEMPSTON_WEST)
    assert lsoas
    ward = select_area(demo_warehouse, KEMPSTON_WEST)
    custom = custom_area(demo_warehouse, "Kempston West (LSOAs)", lsoas)
    expected = by_category(counts(demo_warehouse, ward, Y2023, total=True))
    assert sum(expected.values()) > 100
    assert by_category(counts(demo_warehouse, custom, Y2023, total=True)) == expected


def test_custom_area_of_all_bedford_lsoas_counts_exactly_as_bedford(demo_warehouse):
    lsoas = [r[0] for r in demo_warehouse.execute(
        "SELECT DISTINCT lsoa_code FROM lsoa_geography WHERE lad_code = ? "
        "AND lsoa_vintage = '2021'", [BEDFORD]).fetchall()]
    custom = custom_area(demo_warehouse, "All of Bedford", lsoas)
    bedford = select_area(demo_warehouse, BEDFORD)
    expected = by_category(counts(demo_warehouse, bedford, Y2023, total=True))
    assert expected["All crime (excluding ASB)"] > 10_000
    assert by_category(counts(demo_warehouse, custom, Y2023, total=True)) == expected


def test_area_from_wards_by_name_and_code(demo_warehouse):
    area = area_from_wards(demo_warehouse, "Kempston W+N", ["kempston west", "KEMPSTON NORTH"])
    assert area.level == "custom"
    assert list(area.lsoas) == sorted(ward_lsoas(demo_warehouse, KEMPSTON_WEST, KEMPSTON_NORTH))
    by_code = area_from_wards(demo_warehouse, "Kempston W", [KEMPSTON_WEST.lower()])
    assert list(by_code.lsoas) == ward_lsoas(demo_warehouse, KEMPSTON_WEST)
    # '&' and 'and' are the same ward name
    both = area_from_wards(demo_warehouse, "KCE", ["Kempston Central and East"])
    assert both.lsoas == area_from_wards(demo_warehouse, "KCE", ["Kempston Central & East"]).lsoas


def test_area_from_wards_unknown_name_lists_close_matches(demo_warehouse):
    with pytest.raises(AreaNotFound, match="Kempston West"):
        area_from_wards(demo_warehouse, "typo", ["Kempston Wst"])


def ward_polygon(con: duckdb.DuckDBPyConnection, *codes: str) -> shapely.Geometry:
    rows = con.execute(
        f"""SELECT geometry_wkb FROM area_geometry WHERE level = 'ward'
            AND code IN ({", ".join("?" for _ in codes)})""", list(codes)).fetchall()
    assert len(rows) == len(codes)
    return shapely.unary_union([shapely.from_wkb(bytes(r[0])) for r in rows]).buffer(1e-6)


def write_geojson(path: Path, geometry: shapely.Geometry, crs: str | None = None) -> Path:
    data: dict[str, object] = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": json.loads(shapely.to_geojson(geometry))}]}
    if crs:
        data["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_polygon_of_two_wards_selects_their_lsoas_by_centroid(demo_warehouse, tmp_path):
    path = write_geojson(tmp_path / "kempston.geojson",
                         ward_polygon(demo_warehouse, KEMPSTON_WEST, KEMPSTON_NORTH))
    area, info = area_from_polygon(demo_warehouse, "Kempston", path)
    expected = ward_lsoas(demo_warehouse, KEMPSTON_WEST, KEMPSTON_NORTH)
    assert list(area.lsoas) == sorted(expected)
    assert info["lsoas"] == sorted(expected)
    assert "population-weighted centroid" in info["rule"]
    assert info["vintage"] == "2021"
    # neighbours cut by the boundary are reported, never silently dropped or included
    assert not set(info["excluded_partial"]) & set(expected)
    assert all(0.01 <= info["shares"][c] for c in info["excluded_partial"])


def test_polygon_of_all_bedford_wards_selects_bedford(demo_warehouse, tmp_path):
    wards = [r[0] for r in demo_warehouse.execute(
        """SELECT DISTINCT ward_code FROM lsoa_geography WHERE lad_code = ?
           AND lsoa_vintage = '2021'""", [BEDFORD]).fetchall()]
    path = write_geojson(tmp_path / "bedford.geojson", ward_polygon(demo_warehouse, *wards))
    area, _ = area_from_polygon(demo_warehouse, "Bedford drawn", path)
    expected = set(ward_lsoas(demo_warehouse, *wards))
    overlap = len(set(area.lsoas) & expected) / len(expected | set(area.lsoas))
    assert overlap >= 0.95


def test_polygon_in_british_national_grid_is_reprojected(demo_warehouse, tmp_path):
    shape = ward_polygon(demo_warehouse, KEMPSTON_WEST)
    bng = gpd.GeoSeries([shape], crs="EPSG:4326").to_crs("EPSG:27700").iloc[0]
    path = write_geojson(tmp_path / "bng.geojson", bng, crs="urn:ogc:def:crs:EPSG::27700")
    area, info = area_from_polygon(demo_warehouse, "KW", path)
    assert list(area.lsoas) == ward_lsoas(demo_warehouse, KEMPSTON_WEST)
    assert "reprojected" in info["crs"]


def test_area_share_rule(demo_warehouse, tmp_path):
    path = write_geojson(tmp_path / "kempston.geojson",
                         ward_polygon(demo_warehouse, KEMPSTON_WEST, KEMPSTON_NORTH))
    area, info = area_from_polygon(demo_warehouse, "Kempston", path, rule="area-share")
    assert all(info["shares"][c] >= 0.5 for c in area.lsoas)
    assert all(info["shares"][c] < 0.5 for c in info["excluded_partial"])
    assert "50%" in info["rule"]
    with pytest.raises(ValueError, match="rule"):
        area_from_polygon(demo_warehouse, "Kempston", path, rule="nearest")


def test_size_class_peers(demo_warehouse):
    area = area_from_wards(demo_warehouse, "Kempston West", ["Kempston West"])
    bedford = select_area(demo_warehouse, "Bedford")
    peers = size_class_peers(demo_warehouse, area, bedford, year=2023)
    assert peers
    size = population(demo_warehouse, area, 2023).persons
    assert size
    for peer in peers:
        assert isinstance(peer, AreaSelection) and peer.level == "ward"
        persons = population(demo_warehouse, peer, 2023).persons
        assert persons is not None and abs(persons - size) <= 0.5 * size
    assert KEMPSTON_WEST not in {p.code for p in peers}   # wholly inside the area
