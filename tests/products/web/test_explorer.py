"""The Issue explorer against the demo warehouse (Bedford, E06000055, 2023): its figures
recomputed from the events table, its ward table the document's own, small counts hidden,
parameters checked, the CSV the table, restricted partner sources kept from the public, and
the page driven in Chromium."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from cspkit.measures.periods import parse_period
from cspkit.products.report.assessment import build_assessment
from cspkit.products.report.config import LocalContent
from cspkit.products.web.blocks import table_json
from tests.products.report.browser import needs_chromium
from tests.products.web.browser import DESKTOP, PHONE, browse
from tests.products.web.users import signed_in

BEDFORD = "E06000055"
SMALL = re.compile(r"^[1-4]$")
# Count-like columns that are not counts of events: a difference may be 1-4 (as in the
# document's tables), and residents are not events.
NOT_EVENTS = ("change", "population", "family_population")


def get(client: TestClient, **params: str) -> dict[str, Any]:
    response = client.get("/api/explorer", params={"area": BEDFORD, "period": "2023", **params})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def recomputed(con: duckdb.DuckDBPyConnection, where: str, params: list[object]
               ) -> dict[str, int]:
    """Monthly counts straight from the events table, independently of the measures."""
    rows = con.execute(
        f"""SELECT strftime(e.month, '%Y-%m'), count(*) FROM events e
            JOIN lsoa_geography g ON g.lsoa_code = e.lsoa_code
                                 AND g.lsoa_vintage = e.lsoa_vintage
            WHERE g.lad_code = ? AND {where} GROUP BY 1""", [BEDFORD, *params]).fetchall()
    return {str(m): int(n) for m, n in rows}


def all_tables(view: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = [*view["trend"], *view["selected_blocks"],
              *(b for c in view["comparisons"] for b in c["blocks"])]
    tables = [b for b in blocks if b["type"] == "table"] + [view["monthly"]]
    return tables + ([view["table"]] if view["table"] else [])


@pytest.mark.parametrize(("issue", "where", "params"), [
    ("burglary", "e.source = 'police.uk' AND e.category = ?", ["Burglary"]),
    ("all-crime", "e.source = 'police.uk' AND e.category <> ?", ["Anti-social behaviour"]),
    ("acquisitive", "e.source = 'police.uk' AND e.category IN (SELECT unnest(?))",
     [["Burglary", "Vehicle crime", "Robbery", "Shoplifting", "Bicycle theft",
       "Theft from the person", "Other theft"]]),
])
def test_district_monthly_counts_equal_the_events_table(
        client: TestClient, demo_warehouse: duckdb.DuckDBPyConnection, issue: str, where: str,
        params: list[object]) -> None:
    view = get(client, issue=issue, level="ward")
    expected = recomputed(demo_warehouse, where, params)
    monthly = view["monthly"]
    fields = [c["field"] for c in monthly["columns"]]
    shown = {row[fields.index("month")]: row[fields.index("count")] for row in monthly["rows"]}
    assert {m for m in shown if m.startswith("2023")} == {f"2023-{m:02d}" for m in range(1, 13)}
    for month, cell in shown.items():
        n = expected.get(month, 0)
        if cell.replace(",", "").isdigit():
            assert int(cell.replace(",", "")) == n, month
        else:
            assert cell in ("<5", "*") and n < 5 or cell == "*", (month, cell, n)
    assert sum(int(c.replace(",", "")) for m, c in shown.items() if m.startswith("2023")) == \
        sum(n for m, n in expected.items() if m.startswith("2023"))
    # The period's months are judged against the document's expected range.
    assert "expected range" in view["trend"][0]["text"]
    assert "widened for" in view["trend"][0]["text"] or "No month is judged" in \
        view["trend"][0]["text"]


@pytest.fixture(scope="module")
def document(demo_warehouse: duckdb.DuckDBPyConnection) -> Any:
    return build_assessment(demo_warehouse, BEDFORD, parse_period("2023"),
                            local=LocalContent(sections=["issues"]))


@pytest.mark.parametrize("issue", ["acquisitive", "violence", "weapons", "drugs",
                                   "anti-social-behaviour"])
def test_ward_table_is_the_documents(client: TestClient, document: Any, issue: str) -> None:
    theirs = next(t for t in document.tables() if t.key == f"{issue}-wards")
    doc = table_json(theirs)
    ours = get(client, issue=issue, level="ward")["table"]
    fields = [c["field"] for c in doc["columns"]]
    mine = [c["field"] for c in ours["columns"]]
    assert set(fields) <= set(mine)
    picked = [[row[mine.index(f)] for f in fields] for row in ours["rows"]]
    assert picked == doc["rows"]


def test_small_counts_show_as_under_five(client: TestClient) -> None:
    view = get(client, issue="weapons", level="lsoa")
    table = view["table"]
    assert table is not None
    counts = [i for i, c in enumerate(table["columns"]) if c["kind"] == "count"
              and c["field"] not in NOT_EVENTS]
    cells = [row[i] for row in table["rows"] for i in counts]
    assert "<5" in cells
    for t in all_tables(view):
        for i, column in enumerate(t["columns"]):
            if column["kind"] == "count" and column["field"] not in NOT_EVENTS:
                assert not any(SMALL.match(row[i]) for row in t["rows"]), (t["key"], column)
    # The map says '<5' nowhere as a number: hidden areas are 'not shown'.
    assert "not shown" in view["map"]["svg"]


def test_district_level_compares_with_the_siblings(client: TestClient) -> None:
    view = get(client, issue="acquisitive", level="district")
    table = view["table"]
    names = [row[0] for row in table["rows"]]
    assert {"Bedford", "Luton", "Central Bedfordshire"} <= set(names)
    assert [c["title"] for c in view["comparisons"]] == [
        "Bedford beside Bedfordshire Police", "Bedford beside similar districts"]
    # Each district is a link to its own view.
    assert "area=E06000032" in view["map"]["svg"]


def test_selected_ward_has_its_own_trend(client: TestClient) -> None:
    view = get(client, issue="burglary", level="ward", select="E05014502")
    assert view["selected"]["name"] == "Harpur"
    assert any(b["type"] == "figure" for b in view["selected_blocks"])


@pytest.mark.parametrize(("params", "status"), [
    ({"issue": "not-an-issue"}, 422),
    ({"issue": "DROP TABLE events"}, 422),
    ({"level": "county"}, 422),
    ({"period": "last year"}, 422),
    ({"area": "E09999999"}, 404),
    ({"area": "Nowhere at all"}, 404),
    ({"select": "E05000001"}, 404),
    ({"select": "'; --"}, 422),
])
def test_parameters_are_checked(client: TestClient, params: dict[str, str], status: int
                                ) -> None:
    query = {"area": BEDFORD, "period": "2023", "level": "ward", **params}
    assert client.get("/api/explorer", params=query).status_code == status
    assert client.get("/explorer", params=query).status_code == status
    assert client.get("/api/explorer/issues", params={"area": query["area"]}).status_code in (
        200, 404, 422)


def test_csv_is_the_table(client: TestClient) -> None:
    params = {"area": BEDFORD, "period": "2023", "issue": "weapons", "level": "ward"}
    table = get(client, **params)["table"]
    response = client.get("/api/explorer/table.csv", params=params)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == [c["field"] for c in table["columns"]]
    assert len(rows) - 1 == len(table["rows"])
    for written, shown in zip(rows[1:], table["rows"], strict=True):
        for column, a, b in zip(table["columns"], written, shown, strict=True):
            if column["kind"] == "count" and b.replace(",", "").lstrip("-").isdigit():
                assert float(a) == float(b.replace(",", "")), column["field"]
            elif column["kind"] in ("text", "auto"):
                assert a == b
            elif not b.replace(",", "").replace(".", "").lstrip("-").isdigit():
                assert a == b   # '<5', '*': hidden the same way in both


def test_restricted_sources_are_not_offered_to_the_public(
        client: TestClient, web_app: Any, web_users: dict[str, str]) -> None:
    public = client.get("/api/explorer/issues", params={"area": BEDFORD}).json()
    keys = {i["key"] for i in public["issues"]}
    assert {"all-crime", "acquisitive", "anti-social-behaviour", "burglary"} <= keys
    assert "fire.secondary-fire" in keys
    assert not any(k.startswith(("istv.", "police-markers.")) for k in keys)
    assert "withheld" in public["withheld"]
    assert client.get("/api/explorer", params={
        "area": BEDFORD, "issue": "istv.assault-attendance"}).status_code == 422
    page = client.get("/explorer", params={"area": BEDFORD, "issue": "fire.secondary-fire"})
    assert page.status_code == 200 and "istv" not in page.text
    assert "restricted partner source" in page.text.lower()

    with signed_in(web_app, web_users["partner"]) as signed:
        partner = signed.get("/api/explorer/issues", params={"area": BEDFORD}).json()
        assert "istv.assault-attendance" in {i["key"] for i in partner["issues"]}
        assert partner["withheld"] == ""
        view = get(signed, issue="istv.assault-attendance", level="ward")
        page = signed.get("/explorer", params={"area": BEDFORD,
                                               "issue": "istv.assault-attendance"})
        assert page.status_code == 200 and "restricted partner source" not in page.text.lower()
    assert view["issue"]["restricted"] is True and view["comparisons"] == []


def test_api_is_in_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/explorer", "/api/explorer/issues", "/api/explorer/table.csv"):
        assert path in paths
    names = {p["name"]: p for p in paths["/api/explorer"]["get"]["parameters"]}
    assert set(names) == {"area", "issue", "period", "level", "select"}
    assert "pattern" in str(names["issue"]["schema"])


def _no_overflow(b: Any) -> bool:
    return bool(b.page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


@needs_chromium
def test_explorer_in_chromium(live_server: str, client: TestClient) -> None:
    with browse(live_server, DESKTOP, downloads=True) as b:
        b.go(f"/explorer?area={BEDFORD}")
        b.page.select_option("#ex-issue", "burglary")
        b.page.fill("#ex-period", "2023")
        b.page.select_option("#ex-level", "district")
        with b.page.expect_navigation():
            b.page.click("#explorer-form button[type=submit]")
        assert "Districts beside Bedford" in b.page.inner_text("main")
        b.page.select_option("#ex-level", "ward")
        with b.page.expect_navigation():
            b.page.click("#explorer-form button[type=submit]")
        assert "level=ward" in b.page.url and "issue=burglary" in b.page.url
        ward = b.page.locator('svg.map a[href*="select=E05014502"]')
        assert ward.count() == 1
        with b.page.expect_navigation():
            ward.locator("path").click()
        assert "select=E05014502" in b.page.url
        assert b.page.locator("#selected").inner_text().startswith("Harpur")
        with b.page.expect_download() as download:
            b.page.click("a.download")
        text = open(download.value.path(), encoding="utf-8").read()
        expected = client.get("/api/explorer/table.csv", params={
            "area": BEDFORD, "period": "2023", "issue": "burglary", "level": "ward"}).text
        assert text == expected
        b.screenshot("explorer-desktop")
        assert b.outside == [] and b.problems == []
        assert b.serious_violations() == []
        url = b.page.url
    with browse(live_server, PHONE) as b:
        b.go(url.split(live_server, 1)[1])
        assert _no_overflow(b)
        b.screenshot("explorer-phone")
        assert b.outside == [] and b.problems == []
        assert b.serious_violations() == []
