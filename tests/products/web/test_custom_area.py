"""The Custom area page: an area of two wards is the sum of its LSOAs and has the profile of
those LSOAs chosen by list; bad or oversized GeoJSON is a 422 in words; a repeat is served
from the cache; in Chromium two wards picked on the map give the profile and its briefing."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi.testclient import TestClient

from tests.products.report.browser import needs_chromium
from tests.products.web.browser import ARTIFACTS, PHONE, browse
from tests.products.web.test_places import (
    YEAR,
    _click_inside,
    check_issue_counts,
    events_by_category,
    tables,
)
from tests.products.web.users import csrf

BEDFORD = "E06000055"
WARDS = ["E05014501", "E05014502"]      # Greyfriars, Harpur


def _lsoas_of(con: Any, wards: list[str]) -> list[str]:
    """The wards' LSOAs of the 2021 edition (the one Bedford's events use), read here."""
    return [r[0] for r in con.execute(
        """SELECT DISTINCT lsoa_code FROM lsoa_geography WHERE ward_code IN (SELECT unnest(?))
           AND lsoa_vintage = '2021' ORDER BY 1""", [wards]).fetchall()]


def _post(client: TestClient, body: dict[str, Any]) -> Any:
    return client.post("/api/custom-area", json=body, headers={"X-CSRF-Token": csrf(client)})


def test_two_wards_are_the_sum_of_their_lsoas_and_equal_the_list(client: TestClient,
                                                                 demo_warehouse) -> None:
    by_wards = _post(client, {"wards": WARDS, "year": YEAR, "area": BEDFORD})
    assert by_wards.status_code == 200, by_wards.text
    view = by_wards.json()
    lsoas = _lsoas_of(demo_warehouse, WARDS)
    assert view["lsoas"] == lsoas
    # Its counts are those of its LSOAs, each counted from the events table and summed.
    summed: dict[str, int] = {}
    for lsoa in lsoas:
        for category, n in events_by_category(demo_warehouse, "lsoa_code", [lsoa],
                                              YEAR).items():
            summed[category] = summed.get(category, 0) + n
    assert summed == events_by_category(demo_warehouse, "ward_code", WARDS, YEAR)
    check_issue_counts(tables(view["sections"])["issues"], summed, YEAR)
    # The same LSOAs chosen by list: the same profile, table for table (only the name differs).
    by_list = _post(client, {"lsoas": list(reversed(lsoas)), "year": YEAR, "area": BEDFORD})
    assert by_list.status_code == 200, by_list.text
    listed = by_list.json()
    assert listed["lsoas"] == lsoas
    ours, theirs = tables(view["sections"]), tables(listed["sections"])
    assert set(ours) == set(theirs)
    for key in ("issues", "comparisons", "lsoas", "deprivation"):
        if key in ours:
            assert ours[key]["rows"] == theirs[key]["rows"], key
    # The page shows the same profile without script, and the briefing downloads.
    assert view["selection"]["page"].startswith("/custom-area?ward=")
    page = client.get(view["selection"]["page"])
    assert page.status_code == 200 and "Download the briefing" in page.text
    briefing = client.get(view["selection"]["briefing_html"])
    assert briefing.status_code == 200
    assert "attachment" in briefing.headers["content-disposition"]
    assert "Place profile: Greyfriars and Harpur" in briefing.text
    pdf = client.get(view["selection"]["briefing_pdf"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_a_polygon_selects_the_lsoas_inside_it(client: TestClient, demo_warehouse) -> None:
    import shapely

    rows = demo_warehouse.execute(
        """SELECT c.code, c.lon, c.lat FROM area_centroids c
           WHERE c.vintage = '2021' AND c.kind = 'population-weighted'
             AND c.code IN (SELECT unnest(?))""", [_lsoas_of(demo_warehouse, WARDS[:1])]
    ).fetchall()
    assert rows
    hull = shapely.MultiPoint([(lon, lat) for _, lon, lat in rows]).buffer(0.0005)
    geometry = {"type": "Feature", "properties": {},
                "geometry": json.loads(shapely.to_geojson(hull))}
    response = _post(client, {"geometry": geometry, "year": YEAR})
    assert response.status_code == 200, response.text
    view = response.json()
    assert set(view["lsoas"]) >= {code for code, _, _ in rows}
    assert view["name"] == "Drawn area" and "centroid" in view["rule"]


def test_bad_requests_are_422s_in_words(client: TestClient) -> None:
    cases: list[tuple[Any, str]] = [
        ({"geometry": {"type": "Polygon"}}, "coordinates"),
        ({"geometry": {"type": "Point", "coordinates": [0, 0]}}, "no Polygon"),
        ({"geometry": {"type": "Polygon", "coordinates": "x"}}, "not valid GeoJSON"),
        ({"geometry": {"type": "FeatureCollection", "features": 3}}, "must be a list"),
        ({"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1e7, 0], [1, 1], [0, 0]]]}},
         "not lon/lat"),
        ({"geometry": {"type": "Polygon", "coordinates": [[[-30, 0], [-29, 0], [-29, 1],
                                                          [-30, 0]]]}}, "no LSOA"),
        ({"lsoas": ["E01017466"], "wards": WARDS}, "exactly one"),
        ({}, "exactly one"),
        ({"lsoas": ["nonsense"]}, "lsoas"),
        ({"wards": WARDS, "year": 1066}, "year"),
        ({"wards": WARDS, "colour": "red"}, "colour"),
    ]
    for body, words in cases:
        response = _post(client, body)
        assert response.status_code == 422, (body, response.text)
        assert words in response.json()["detail"], (body, response.json())
    for raw, words in [(b"{not json", "not valid JSON"), (b"", "empty"),
                       (b"[1, 2]", "not usable")]:
        response = client.post("/api/custom-area", content=raw,
                               headers={"content-type": "application/json",
                                        "X-CSRF-Token": csrf(client)})
        assert response.status_code == 422 and words in response.json()["detail"], raw
    huge = {"geometry": {"type": "Polygon", "coordinates": [[[0.1, 52.1]] * 200_000]}}
    response = client.post("/api/custom-area", content=json.dumps(huge).encode(),
                           headers={"content-type": "application/json",
                                        "X-CSRF-Token": csrf(client)})
    assert response.status_code == 422 and "larger than 2 MB" in response.json()["detail"]


def test_unknown_areas_are_404s(client: TestClient) -> None:
    assert _post(client, {"lsoas": ["E01999999"]}).status_code == 404
    assert _post(client, {"wards": ["E05999999"]}).status_code == 404
    assert client.get("/custom-area/briefing", params={"lsoa": "E01999999"}).status_code == 404
    assert client.get("/custom-area/briefing").status_code == 422
    assert client.get("/custom-area", params={"ward": "nonsense"}).status_code == 422


def test_a_repeat_is_served_from_the_cache(client: TestClient, web_app: Any) -> None:
    body = {"wards": ["E05014495", "E05014497"], "area": BEDFORD, "year": YEAR}
    started = time.perf_counter()
    cold = _post(client, body)
    cold_seconds = time.perf_counter() - started
    hits = web_app.state.web.cache.hits
    started = time.perf_counter()
    warm = _post(client, body)
    warm_seconds = time.perf_counter() - started
    assert cold.status_code == warm.status_code == 200
    assert warm.json() == cold.json()
    assert web_app.state.web.cache.hits > hits
    # The same LSOAs by list, in another order: the profile of the same set, also cached.
    lsoas = list(reversed(cold.json()["lsoas"]))
    _post(client, {"lsoas": lsoas, "area": BEDFORD, "year": YEAR})
    hits = web_app.state.web.cache.hits
    started = time.perf_counter()
    again = _post(client, {"lsoas": sorted(lsoas), "area": BEDFORD, "year": YEAR})
    listed_seconds = time.perf_counter() - started
    assert again.status_code == 200 and web_app.state.web.cache.hits > hits
    # The times are kept for reading, not asserted (speed: benchmarks/bench_web.py).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "custom-area-timings.json").write_text(json.dumps(
        {"cold_s": round(cold_seconds, 3), "cached_s": round(warm_seconds, 3),
         "cached_same_lsoas_other_order_s": round(listed_seconds, 3)}, indent=2))


@needs_chromium
def test_two_wards_picked_on_the_map_give_the_profile_and_its_briefing(
        live_server: str) -> None:
    with browse(live_server, downloads=True) as b:
        b.go(f"/custom-area?area={BEDFORD}")
        assert b.serious_violations() == []
        for code in WARDS:
            path = f'.select-map path[data-code="{code}"]'
            b.page.locator(path).scroll_into_view_if_needed()
            _click_inside(b.page, path)
            assert b.page.locator(path).get_attribute("aria-pressed") == "true"
            assert b.page.locator(f"#ca-{code}").is_checked()
        assert b.page.locator("#ca-count").inner_text() == "2 selected"
        b.page.fill("#ca-year", str(YEAR))
        b.page.click("#ca-form button[type=submit]")
        b.page.wait_for_selector("#ca-result .profile table#t-issues", timeout=60_000)
        assert "Greyfriars and Harpur" in b.page.locator("#ca-result").inner_text()
        assert b.serious_violations() == []
        b.screenshot("custom-area-1280")
        with b.page.expect_download() as info:
            b.page.click("text=Download the briefing (HTML)")
        download = info.value
        saved = ARTIFACTS / "custom-area-briefing.html"
        download.save_as(saved)
        assert "Place profile: Greyfriars and Harpur" in saved.read_text(encoding="utf-8")
        # The keyboard way: the checkbox list does the same.
        b.page.click("#ca-clear")
        b.page.check(f"#ca-{WARDS[0]}")
        assert b.page.locator(f'.select-map path[data-code="{WARDS[0]}"]'
                              ).get_attribute("aria-pressed") == "true"
        assert b.outside == [] and b.problems == []
    with browse(live_server, PHONE) as b:
        b.go(f"/custom-area?area={BEDFORD}&ward={WARDS[0]}&ward={WARDS[1]}&year={YEAR}")
        assert b.page.locator("#ca-result .profile").count() == 1
        assert b.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert b.serious_violations() == []
        b.screenshot("custom-area-390")
        assert b.outside == [] and b.problems == []
