"""ArcGIS feature-service queries: batches of codes, paging, errors (local server only)."""

from __future__ import annotations

import json

import pytest

from cspkit.sources import arcgis, download
from cspkit.sources.arcgis import ArcGISError, features_by_code, write_collection
from tests.fake_services import Layer, serve

CODES = [f"E0100{n:04d}" for n in range(230)]
FEATURES = [{"type": "Feature", "properties": {"LSOA21CD": code, "LSOA21NM": f"Area {code}"},
             "geometry": {"type": "Point", "coordinates": [0.1, 52.0]}} for code in CODES]


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download, "_BACKOFF_BASE", 0.0)


@pytest.mark.parametrize("top_level", [False, True], ids=["geojson", "json-style"])
def test_every_page_of_every_batch(top_level, monkeypatch):
    monkeypatch.setattr(arcgis, "BATCH", 100)
    with serve() as state:
        state.layers["l"] = Layer("LSOA21CD", FEATURES, max_page=30, top_level=top_level)
        pages: list[int] = []
        got = features_by_code(f"{state.base_url}/arcgis/l/FeatureServer/0", "LSOA21CD",
                               CODES[:-5], ["LSOA21CD", "LSOA21NM"], on_page=pages.append)
    assert [f["properties"]["LSOA21CD"] for f in got] == CODES[:-5]
    assert pages == [30, 30, 30, 10, 30, 30, 30, 10, 25]
    first = state.requests[0].query
    assert first["outSR"] == ["4326"] and first["f"] == ["geojson"]
    assert first["outFields"] == ["LSOA21CD,LSOA21NM"]


def test_an_error_answer_is_an_arcgis_error():
    with serve() as state:
        state.layers["l"] = Layer("LSOA21CD", FEATURES)
        state.arcgis_error = 1
        with pytest.raises(ArcGISError, match=r"refused the query: error 400: Cannot perform "
                                              r"query\. Invalid query parameters\. \('where'"):
            features_by_code(f"{state.base_url}/arcgis/l/FeatureServer/0", "LSOA21CD",
                             CODES[:3], ["LSOA21CD"])


def test_a_page_that_is_not_json():
    with serve() as state:
        state.layers["l"] = Layer("LSOA21CD", FEATURES, body=b"<html>maintenance</html>")
        with pytest.raises(ArcGISError, match="not JSON.*maintenance"):
            features_by_code(f"{state.base_url}/arcgis/l/FeatureServer/0", "LSOA21CD",
                             CODES[:3], ["LSOA21CD"])


def test_only_gss_codes_are_sent():
    with pytest.raises(ArcGISError, match="not GSS codes"):
        features_by_code("http://127.0.0.1:9/x", "LSOA21CD", ["E01000001", "x') OR (1=1"],
                         ["LSOA21CD"])


def test_write_collection(tmp_path):
    path = tmp_path / "b" / "x.geojson"
    write_collection(FEATURES[:2], path)
    assert json.loads(path.read_text())["features"] == FEATURES[:2]
    assert not (tmp_path / "b" / "x.geojson.part").exists()
