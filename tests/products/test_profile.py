"""Place profiles: the JSON analyst view carries the exact counts of `counts()`; the briefing
publishes no count from 1 to 4."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from cspkit.measures.counts import counts
from cspkit.measures.custom_areas import area_from_wards
from cspkit.measures.periods import calendar_year
from cspkit.products.profile import profile, write_profile

YEAR = 2023


@pytest.fixture(scope="module")
def kempston(demo_warehouse):
    return area_from_wards(demo_warehouse, "Kempston West and North",
                           ["Kempston West", "Kempston North"])


@pytest.fixture(scope="module")
def kempston_profile(demo_warehouse, kempston) -> dict[str, Any]:
    return profile(demo_warehouse, kempston, YEAR)


def test_profile_json_matches_counts(demo_warehouse, kempston, kempston_profile):
    data = json.loads(json.dumps(kempston_profile))   # JSON-ready
    assert data["lsoas"] == list(kempston.lsoas)
    assert data["years"] == [YEAR - 2, YEAR - 1, YEAR]
    assert data["parents"]["district"]["name"] == "Bedford"
    expected = counts(demo_warehouse, kempston, calendar_year(YEAR), total=True)
    issues = {i["category"]: i for i in data["issues"]}
    for row in expected.itertuples():
        issue = issues[row.category]
        assert issue["count"] == row.count
        assert issue["rate_per_1000"] == pytest.approx(row.rate_per_1000)
        assert issue["counts_by_year"][str(YEAR)] == row.count
        assert issue["change"]["count"] == row.count
    before = counts(demo_warehouse, kempston, calendar_year(YEAR - 1), total=True)
    for row in before.itertuples():
        assert issues[row.category]["change"]["baseline_count"] == row.count
    verdicts = {"significantly higher", "significantly lower", "no significant difference",
                "too few to tell"}
    assert all(i["vs_district"] in verdicts for i in data["issues"])
    assert set(data["stands_out_on"]) == {i["category"] for i in data["issues"]
                                          if i["vs_district"] == "significantly higher"
                                          and not i["is_total"]}
    assert {r["code"] for r in data["deprivation"]["lsoas"]} == set(kempston.lsoas)
    assert len(data["asb"]["seasonality"]) == 12


class _Tables(HTMLParser):
    """Cell texts of each <table>, keyed by its caption."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[str]] = {}
        self._caption: str | None = None
        self._cells: list[str] | None = None
        self._text: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._cells, self._caption = [], ""
        elif tag in ("caption", "td") and self._cells is not None:
            self._in, self._text = tag, []

    def handle_data(self, data: str) -> None:
        if self._in:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == self._in and self._cells is not None:
            text = "".join(self._text).strip()
            if tag == "caption":
                self._caption = text
            else:
                self._cells.append(text)
            self._in = None
        elif tag == "table" and self._cells is not None:
            self.tables[self._caption or ""] = self._cells
            self._cells = None


def test_write_profile_html_and_json(demo_warehouse, kempston, tmp_path):
    paths = write_profile(demo_warehouse, kempston, YEAR, tmp_path, fmt={"html", "json"})
    assert "pdf" not in paths
    assert paths["html"].exists() and paths["json"].exists()
    data = json.loads(paths["json"].read_text())
    assert data["name"] == "Kempston West and North"
    small = [i for i in data["issues"] if 1 <= i["count"] <= 4]
    assert small, "the demo area should have small counts to suppress"
    parser = _Tables()
    parser.feed(paths["html"].read_text(encoding="utf-8"))
    issue_tables = [cells for caption, cells in parser.tables.items()
                    if "Crime and ASB in" in caption]
    assert len(issue_tables) == 1
    cells = issue_tables[0]
    assert cells
    assert not [c for c in cells if re.fullmatch(r"[1-4]", c)]
    assert "<5" in cells
    html = paths["html"].read_text(encoding="utf-8")
    assert "Figure 2" in html   # ASB chart and map


def test_write_profile_pdf(demo_warehouse, tmp_path):
    area = area_from_wards(demo_warehouse, "Kempston West", ["Kempston West"])
    paths = write_profile(demo_warehouse, area, YEAR, tmp_path)
    assert {"html", "pdf", "json", "xlsx"} <= set(paths)
    assert paths["pdf"].read_bytes().startswith(b"%PDF")
    assert paths["json"].name == "kempston-west.json"


def test_profile_command_json_contract(demo_warehouse_path):
    import json

    from typer.testing import CliRunner

    from cspkit.cli import app

    result = CliRunner().invoke(app, ["profile", "--db", str(demo_warehouse_path), "--name",
                                      "Kempston", "--wards", "Kempston West,Kempston North",
                                      "--year", "2023", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["lsoas"]) == 6 and all(c.startswith("E01") for c in data["lsoas"])
    assert {"category", "count", "rate_per_1000"} <= set(data["issues"][0])
