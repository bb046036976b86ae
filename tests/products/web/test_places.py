"""The Places page: its ranking is the document's (places_report) for the same district,
period and reader; a place's profile counts what the events table holds; unknown places are
404s; in Chromium a ward on the map opens its profile."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from cspkit.measures.periods import calendar_year
from cspkit.measures.places import vulnerable_places
from cspkit.products.places_report import ranking_blocks
from cspkit.products.report.document import Table
from cspkit.products.web.blocks import table_json
from cspkit.store.ingest_log import restricted_sources
from tests.products.report.browser import needs_chromium
from tests.products.web.browser import PHONE, browse

BEDFORD = "E06000055"
YEAR = 2023


def tables(sections: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every table of a JSON document's sections, by key."""
    found: dict[str, dict[str, Any]] = {}
    for section in sections:
        for block in section["blocks"]:
            if block["type"] == "table":
                found[block["key"]] = block
        found.update(tables(section["subsections"]))
    return found


def published(cell: str) -> int | None:
    """A published count as a number: None for a hidden one ('<5', '*')."""
    text = cell.replace(",", "").strip()
    return int(text) if text.isdigit() else None


def events_by_category(con: duckdb.DuckDBPyConnection, column: str, codes: list[str],
                       year: int) -> dict[str, int]:
    """police.uk events of `year` by category in the places whose `column` (of the LSOA
    hierarchy, at each event's own LSOA edition) is one of `codes`: counted here, not by
    the measures."""
    rows = con.execute(
        f"""SELECT e.category, count(*) FROM events e
            JOIN lsoa_geography g ON g.lsoa_code = e.lsoa_code
                                 AND g.lsoa_vintage = e.lsoa_vintage
            WHERE e.source = 'police.uk' AND year(e.month) = ?
              AND g.{column} IN (SELECT unnest(?))
            GROUP BY 1""", [year, codes]).fetchall()
    return {str(c): int(n) for c, n in rows}


def check_issue_counts(issues: dict[str, Any], expected: dict[str, int], year: int) -> None:
    labels = [c["label"] for c in issues["columns"]]
    column = labels.index(str(year))
    rows = {row[0]: row for row in issues["rows"]}
    checked = 0
    for category, count in expected.items():
        if category not in rows:
            continue
        shown = published(rows[category][column])
        if count < 5:
            assert shown is None, (category, rows[category][column])
        else:
            assert shown == count, (category, rows[category][column], count)
        checked += 1
    assert checked >= 5, "most categories are in the issues table"
    # The total row: every category together (ASB included or not, it is one of these).
    total = next(r for r in issues["rows"] if r[0].lower().startswith("all crime"))
    crime = sum(n for c, n in expected.items() if c != "Anti-social behaviour")
    assert published(total[column]) in (crime, crime + expected.get("Anti-social behaviour", 0))


def test_the_ranking_is_the_documents_for_the_same_inputs(client: TestClient,
                                                          demo_warehouse) -> None:
    response = client.get("/api/places", params={"area": BEDFORD, "period": str(YEAR)})
    assert response.status_code == 200
    view = response.json()
    # The public does not see restricted partner sources: they are left out, and said so.
    withheld = restricted_sources(demo_warehouse)
    assert view["withheld"] == len(withheld)
    assert withheld and "withheld" in view["withheld_note"]
    ranking = vulnerable_places(demo_warehouse, BEDFORD, calendar_year(YEAR),
                                withheld=withheld)
    assert "domestic_abuse" not in ranking.attrs["issues"]
    assert [p["code"] for p in view["places"]] == ranking["code"].tolist()
    blocks, finding = ranking_blocks(demo_warehouse, BEDFORD, calendar_year(YEAR),
                                     top=None, ranking=ranking, withheld=withheld)
    assert view["finding"] == finding
    document = table_json(next(b for b in blocks if isinstance(b, Table)))
    shown = tables(view["sections"])["places-ranking"]
    assert shown["rows"] == document["rows"]
    assert [c["label"] for c in shown["columns"]] == [c["label"] for c in document["columns"]]
    # Every place on the map links to its profile.
    for place in view["places"]:
        assert f'href="/places/{place["code"]}?year={YEAR}"' in view["map_svg"]
    page = client.get("/places", params={"area": BEDFORD, "period": str(YEAR)})
    assert page.status_code == 200
    assert view["places"][0]["name"] in page.text and "withheld" in page.text


def test_the_lsoa_ranking_and_bad_parameters(client: TestClient, demo_warehouse) -> None:
    view = client.get("/api/places", params={"area": BEDFORD, "period": str(YEAR),
                                             "level": "lsoa"}).json()
    ranking = vulnerable_places(demo_warehouse, BEDFORD, calendar_year(YEAR), level="lsoa",
                                withheld=restricted_sources(demo_warehouse))
    assert [p["code"] for p in view["places"]] == ranking["code"].tolist()
    assert client.get("/api/places", params={"level": "county"}).status_code == 422
    assert client.get("/api/places", params={"period": "20x3"}).status_code == 422
    assert client.get("/api/places", params={"area": "Nowhere"}).status_code == 404


def test_a_ward_profile_counts_what_the_events_table_holds(client: TestClient,
                                                           demo_warehouse) -> None:
    ward = client.get("/api/places", params={"area": BEDFORD, "period": str(YEAR)}
                      ).json()["places"][0]["code"]
    response = client.get(f"/api/places/{ward}", params={"year": YEAR})
    assert response.status_code == 200
    view = response.json()
    assert view["level"] == "ward" and view["district"]["code"] == BEDFORD
    expected = events_by_category(demo_warehouse, "ward_code", [ward], YEAR)
    check_issue_counts(tables(view["sections"])["issues"], expected, YEAR)
    page = client.get(f"/places/{ward}", params={"year": YEAR})
    assert page.status_code == 200 and view["name"] in page.text


def test_an_lsoa_profile_counts_what_the_events_table_holds(client: TestClient,
                                                            demo_warehouse) -> None:
    lsoa = client.get("/api/places", params={"area": BEDFORD, "period": str(YEAR),
                                             "level": "lsoa"}).json()["places"][0]["code"]
    response = client.get(f"/api/places/{lsoa}", params={"year": YEAR})
    if response.status_code == 422:   # refused by the disclosure audit: said in words
        assert "cannot be shown" in response.json()["detail"]
        return
    assert response.status_code == 200
    expected = events_by_category(demo_warehouse, "lsoa_code", [lsoa], YEAR)
    check_issue_counts(tables(response.json()["sections"])["issues"], expected, YEAR)


def test_unknown_and_bad_places(client: TestClient) -> None:
    assert client.get("/api/places/E05999999").status_code == 404
    assert client.get("/api/places/E06000055").status_code == 404      # a district
    assert client.get("/places/E05999999").status_code == 404
    assert "no ward or LSOA E05999999" in client.get("/places/E05999999").text
    assert client.get("/api/places/nonsense").status_code == 422
    assert client.get("/api/places/E05014501", params={"year": 1800}).status_code == 422
    assert client.get("/api/places/E05014501", params={"year": 2031}).status_code == 404


def test_a_profile_refused_by_the_disclosure_audit_answers_in_words(
        client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from cspkit.measures.disclosure_audit import DisclosureLeak, Leak
    from cspkit.products.web import places

    def leaking(doc: object) -> None:
        raise DisclosureLeak([Leak("table issues", None, "Burglary", "2022", 3,
                                   "a count below the threshold")])

    monkeypatch.setattr(places, "check_document", leaking)
    response = client.get("/api/places/E05014505", params={"year": YEAR - 1})
    assert response.status_code == 422
    assert "cannot be shown" in response.json()["detail"]
    page = client.get("/places/E05014505", params={"year": YEAR - 1})
    assert page.status_code == 422 and "cannot be shown" in page.text


def _click_inside(page: Any, selector: str) -> None:
    """Click a point inside the shape (not its box's centre, which may be a neighbour)."""
    point = page.evaluate(
        """(selector) => {
            const path = document.querySelector(selector);
            const box = path.getBBox();
            const matrix = path.getScreenCTM();
            for (let i = 1; i < 20; i++) for (let j = 1; j < 20; j++) {
                const p = new DOMPoint(box.x + box.width * i / 20, box.y + box.height * j / 20);
                if (path.isPointInFill(p)) {
                    const s = p.matrixTransform(matrix);
                    const hit = document.elementFromPoint(s.x, s.y);
                    if (hit === path) return {x: s.x, y: s.y};
                }
            }
            return null;
        }""", selector)
    assert point is not None, f"no visible point inside {selector}"
    page.mouse.click(point["x"], point["y"])


@needs_chromium
def test_clicking_a_ward_on_the_map_opens_its_profile(live_server: str) -> None:
    with browse(live_server) as b:
        b.go(f"/places?area={BEDFORD}&period={YEAR}")
        assert b.serious_violations() == []
        b.screenshot("places-1280")
        first = b.page.locator("svg.map a path").first
        code = first.get_attribute("data-code")
        first.scroll_into_view_if_needed()
        _click_inside(b.page, f'svg.map path[data-code="{code}"]')
        b.page.wait_for_url(f"**/places/{code}?year={YEAR}")
        assert b.page.locator("h1").inner_text().startswith("Place profile:")
        assert b.page.locator("table#t-issues").count() == 1
        assert b.serious_violations() == []
        b.screenshot("place-profile-1280")
        assert b.outside == [] and b.problems == []
    with browse(live_server, PHONE) as b:
        b.go(f"/places?area={BEDFORD}&period={YEAR}")
        assert b.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        b.screenshot("places-390")
        b.go(f"/places/{code}?year={YEAR}")
        assert b.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        assert b.serious_violations() == []
        b.screenshot("place-profile-390")
        assert b.outside == [] and b.problems == []
