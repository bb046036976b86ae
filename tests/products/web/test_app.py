"""The application shell: it starts, serves its own assets, carries a CSP that allows nothing
from elsewhere, and answers errors in words."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.products.report.browser import needs_chromium
from tests.products.web.browser import browse


def test_static_assets_come_from_the_package(client: TestClient) -> None:
    for asset in ("/static/app.css", "/static/app.js"):
        response = client.get(asset)
        assert response.status_code == 200, asset
    assert "default-src 'self'" in client.get("/").headers["content-security-policy"]


def test_openapi_document_is_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "cspkit dashboard"


@needs_chromium
def test_home_page_loads_in_chromium_offline(live_server: str) -> None:
    with browse(live_server) as b:
        b.go("/")
        assert b.page.title().endswith("cspkit dashboard")
        b.screenshot("home")
        assert b.outside == [] and b.problems == []
