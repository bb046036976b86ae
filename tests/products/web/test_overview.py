"""The Overview page and its API: the figures are the strategic assessment's own (same cells,
same verdicts, same key findings), a headline count agrees with the events table, parameters
are validated, restricted partner sources are withheld from the public, and the page works in
Chromium at desktop and phone widths, offline and accessible."""

from __future__ import annotations

import json
import time
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient

from cspkit.measures.periods import parse_period
from cspkit.products.report.assessment import build_assessment
from cspkit.products.report.document import Document, Section, Table
from cspkit.products.web.blocks import section_json, table_json
from cspkit.store.ingest_log import restricted_sources
from tests.products.report.browser import needs_chromium
from tests.products.web.browser import PHONE, browse
from tests.products.web.users import signed_in

BEDFORD = "E06000055"
LUTON = "E06000032"
RESTRICTED_WORDS = ("istv", "police-markers", "hate crime", "cyber crime",
                    "emergency department")
TIMINGS: dict[str, float] = {}


def _get(client: TestClient, **params: str) -> tuple[dict[str, Any], float]:
    started = time.perf_counter()
    response = client.get("/api/overview", params=params)
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.text
    return response.json(), elapsed


@pytest.fixture(scope="module")
def bedford(client: TestClient) -> dict[str, Any]:
    data, cold = _get(client, area=BEDFORD, period="2023")
    _, cached = _get(client, area=BEDFORD, period="2023")
    TIMINGS.update(cold=cold, cached=cached)
    return data


@pytest.fixture(scope="module")
def public_doc(demo_warehouse: duckdb.DuckDBPyConnection) -> Document:
    """The document itself, for a reader who may not see the restricted sources."""
    return build_assessment(demo_warehouse, BEDFORD, parse_period("2023"),
                            withheld=restricted_sources(demo_warehouse))


def _tables(section: Section) -> dict[str, Table]:
    found = {b.key: b for b in section.blocks if isinstance(b, Table)}
    for sub in section.subsections:
        found.update(_tables(sub))
    return found


def _doc_section(doc: Document, key: str) -> Section:
    return next(s for s in doc.sections if s.key == key)


def _api_tables(section: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {b["key"]: b for b in section["blocks"] if b["type"] == "table"}
    for sub in section["subsections"]:
        found.update(_api_tables(sub))
    return found


def _paragraphs(section: dict[str, Any]) -> list[str]:
    return [b["text"] for b in section["blocks"] if b["type"] == "paragraph"]


def test_api_tables_are_the_documents_own(bedford: dict[str, Any],
                                          public_doc: Document) -> None:
    assert bedford["area_name"] == "Bedford" and bedford["period"] == "2023"
    assert bedford["compared_with"] == "2022"
    doc_tables = _tables(_doc_section(public_doc, "overall-crime"))
    api_tables = _api_tables(bedford["overall_crime"])
    assert set(api_tables) == set(doc_tables) >= {"overall-change", "overall-rates-table"}
    for key, table in doc_tables.items():
        expected = table_json(table, public_doc.rate_per)
        assert api_tables[key]["rows"] == expected["rows"], key
        assert api_tables[key]["columns"] == expected["columns"], key
    # The key findings are the document's, sentence for sentence.
    findings = _doc_section(public_doc, "key-findings")
    assert _paragraphs(bedford["key_findings"]) == _paragraphs(section_json(findings))
    assert bedford["key_findings"]["title"] == "Key findings"


def test_headline_cells_come_from_the_document_tables(bedford: dict[str, Any],
                                                      public_doc: Document) -> None:
    tables = {k: table_json(t) for k, t in
              _tables(_doc_section(public_doc, "overall-crime")).items()}
    assert len(bedford["headline"]) == 3
    for card in bedford["headline"]:
        table = tables[card["table"]]
        printed = {cell for row in table["rows"] for cell in row}
        labels = {c["label"] for c in table["columns"]}
        for cell in card["cells"]:
            assert cell["value"] in printed and cell["label"] in labels
        assert card["verdict"] in printed
    crime, asb, _ = bedford["headline"]
    rates = tables["overall-rates-table"]
    bedford_row = next(r for r in rates["rows"] if r[0] == "Bedford")
    assert [c["value"] for c in crime["cells"]] == [bedford_row[2], bedford_row[4]]
    assert crime["verdict"] == bedford_row[5] and crime["verdict_label"].endswith(
        "Bedfordshire Police")
    change = tables["overall-change"]
    asb_row = next(r for r in change["rows"] if r[0] == "Anti-social behaviour")
    assert [c["value"] for c in asb["cells"]] == asb_row[1:5]
    assert asb["verdict"] == asb_row[5]


def _count(con: duckdb.DuckDBPyConnection, asb: bool) -> int:
    """Bedford's police.uk events of 2023, counted straight from the events table."""
    row = con.execute(
        """SELECT count(*) FROM events e
           JOIN lsoa_geography g ON g.lsoa_code = e.lsoa_code AND g.lsoa_vintage = e.lsoa_vintage
           WHERE e.source = 'police.uk' AND g.lad_code = ?
             AND e.month BETWEEN DATE '2023-01-01' AND DATE '2023-12-01'
             AND (e.category = 'Anti-social behaviour') = ?""", [BEDFORD, asb]).fetchone()
    assert row is not None
    return int(row[0])


def test_headline_counts_agree_with_the_events_table(
        bedford: dict[str, Any], demo_warehouse: duckdb.DuckDBPyConnection) -> None:
    crime, asb, _ = bedford["headline"]
    crimes, incidents = _count(demo_warehouse, asb=False), _count(demo_warehouse, asb=True)
    assert crimes > 1000 and incidents > 1000
    assert crime["cells"][0] == {"label": "Count", "value": f"{crimes:,}"}
    assert asb["cells"][0] == {"label": "2023", "value": f"{incidents:,}"}


def test_coverage_and_freshness(bedford: dict[str, Any],
                                demo_warehouse: duckdb.DuckDBPyConnection) -> None:
    police = bedford["coverage"]["police"]
    first, last, months = demo_warehouse.execute(
        """SELECT strftime(min(month), '%b %Y'), strftime(max(month), '%b %Y'),
                  count(DISTINCT month) FROM ingests
           WHERE kind = 'police-street' AND status = 'loaded' AND force = 'bedfordshire'"""
    ).fetchone()
    assert (police["first_month"], police["newest_month"], police["months_held"]) == \
        (first, last, months)
    assert police["force"] == "Bedfordshire Police"
    assert police["period_months"] == "12 of 12 months of 2023"
    assert police["last_loaded"]
    partners = {p["source"]: p for p in bedford["coverage"]["partners"]}
    assert {"fire", "ambulance", "treatment"} <= set(partners)
    fire = demo_warehouse.execute(
        "SELECT count(DISTINCT month) FROM events WHERE source = 'fire'").fetchone()
    assert fire is not None and partners["fire"]["spans"] == fire[0]
    assert partners["fire"]["unit"] == "months" and partners["fire"]["synthetic"]


def test_restricted_sources_are_withheld_from_the_public(client: TestClient,
                                                         bedford: dict[str, Any]) -> None:
    text = json.dumps(bedford).lower()
    for word in RESTRICTED_WORDS:
        assert word not in text, word
    assert bedford["withheld"] and "withheld" in bedford["withheld"]
    assert any("withheld" in p for p in _paragraphs(bedford["key_findings"]))
    html = client.get("/", params={"area": BEDFORD, "period": "2023"}).text.lower()
    for word in RESTRICTED_WORDS:
        assert word not in html, word
    assert "restricted partner sources are withheld from this view" in html


def test_a_partner_sees_the_restricted_sources(web_app: Any,
                                               web_users: dict[str, str]) -> None:
    with signed_in(web_app, web_users["partner"]) as partner:
        data, _ = _get(partner, area=BEDFORD, period="2023")
    assert data["withheld"] is None
    assert {"istv", "police-markers"} <= {p["source"] for p in data["coverage"]["partners"]}
    assert not any("withheld" in p for p in _paragraphs(data["key_findings"]))


def test_districts_for_the_picker(client: TestClient) -> None:
    districts = {d["code"]: d for d in client.get("/api/districts").json()}
    assert {BEDFORD, LUTON} <= set(districts)
    assert districts[BEDFORD] == {
        "code": BEDFORD, "name": "Bedford", "force": "Bedfordshire Police",
        "first_month": "2021-05", "last_month": "2024-04", "months_held": 36,
        "latest_full_year": 2023}


@pytest.mark.parametrize(("params", "status"), [
    ({"area": "<script>"}, 422), ({"area": "x" * 81}, 422), ({"period": "2023-13"}, 422),
    ({"period": "next year"}, 422), ({"area": "Atlantis"}, 404),
    ({"area": "E99999999"}, 404),
])
def test_parameters_are_validated(client: TestClient, params: dict[str, str],
                                  status: int) -> None:
    response = client.get("/api/overview", params=params)
    assert response.status_code == status, response.text
    assert "detail" in response.json()
    page = client.get("/", params=params)
    assert page.status_code == status and "<h1>" in page.text


def test_the_api_is_in_the_openapi_document(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    parameters = {p["name"]: p for p in spec["paths"]["/api/overview"]["get"]["parameters"]}
    assert {"area", "period"} <= set(parameters)
    assert all("pattern" in json.dumps(parameters[n]) for n in ("area", "period"))
    assert "/api/districts" in spec["paths"]


def test_a_repeat_is_the_same_answer(client: TestClient, bedford: dict[str, Any]) -> None:
    # Served from the cache (speed is measured in benchmarks/bench_web.py, never asserted).
    again, _ = _get(client, area=BEDFORD, period="2023")
    assert again == bedford


@needs_chromium
def test_overview_in_chromium(live_server: str) -> None:
    with browse(live_server) as b:
        b.go(f"/?area={BEDFORD}&period=2023")
        assert b.page.locator("h1").inner_text() == "Overview: Bedford, 2023"
        # Pick another district: the picker sets its latest full year from /api/districts.
        b.page.wait_for_load_state("networkidle")
        b.page.select_option("#scope-area", LUTON)
        assert b.page.input_value("#scope-period") == "2023"
        assert "Luton" in b.page.locator("#ov-held").inner_text()
        with b.page.expect_navigation(timeout=180_000):
            b.page.click("form.scope button[type=submit]")
        assert b.page.locator("h1").inner_text() == "Overview: Luton, 2023"
        card = b.page.locator(".ov-card").first
        assert "Police recorded crime" in card.inner_text()
        assert b.page.locator("#s-key-findings").is_visible()
        assert b.page.locator("section[aria-labelledby=s-overall-crime] svg").count() >= 1
        b.screenshot("overview-desktop")
        assert b.serious_violations() == []
        assert b.outside == [] and b.problems == []
    with browse(live_server, viewport=PHONE) as b:
        b.go(f"/?area={LUTON}&period=2023")
        overflow = b.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
        b.screenshot("overview-phone")
        assert b.serious_violations() == []
        assert b.outside == [] and b.problems == []
