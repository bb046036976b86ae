"""`cspkit assess --all`: every district of a list in worker processes, an index whose figures
are each document's own, and failures summarised while the others complete."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cspkit.cli import app
from cspkit.measures.change import DECREASE, INCREASE
from cspkit.products.report import batch
from tests.products.report.browser import needs_chromium, offline_page


@pytest.fixture(scope="module")
def run(demo_warehouse_path: Path, tmp_path_factory: pytest.TempPathFactory
        ) -> tuple[Path, object]:
    """One district written (Bedford, with its PDF), one name that resolves to nothing and
    one district with no data for the year, two worker processes."""
    out = tmp_path_factory.mktemp("all")
    areas = out.parent / "areas.csv"
    areas.write_text("name\nBedford\n# a comment\nNowhere\nEast Cambridgeshire\n")
    result = CliRunner().invoke(app, ["assess", "--all", "--areas", str(areas), "--year",
                                      "2023", "--jobs", "2", "--out", str(out), "--db",
                                      str(demo_warehouse_path)], env={"COLUMNS": "200"})
    return out, result


def index(out: Path) -> list[dict[str, str]]:
    with (out / "index.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_failures_are_summarised_and_the_others_complete(run):
    out, result = run
    assert result.exit_code == 1, result.output
    assert "1 of 3 districts written" in result.stderr
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == 2
    assert "Nowhere: no area called 'Nowhere'" in failed[0]
    assert failed[1].startswith("failed: East Cambridgeshire (E07000009): no police.uk data "
                                "for East Cambridgeshire in 2023")
    assert "3/3" in result.stderr                      # one bar counting every district
    assert "Traceback" not in result.output
    rows = index(out)
    assert [(r["district"], r["status"]) for r in rows] == [
        ("Bedford", "written"), ("Nowhere", "failed"), ("East Cambridgeshire", "failed")]
    assert rows[1]["reason"].startswith("no area called 'Nowhere'")
    assert not (out / "E07000009").exists()


def test_the_index_figures_are_the_documents_own(run):
    out, _ = run
    bedford = index(out)[0]
    folder = out / "E06000055"
    assert (folder / Path(bedford["html"]).name).exists()
    rates = pd.read_csv(next(folder.glob("table-*-overall-rates-table.csv")), dtype=str)
    area = rates[rates["role"] == "area"].iloc[0]
    assert bedford["crime_count"] == area["count"]
    assert float(bedford["crime_rate_per_1000"]) == float(area["rate_per_1000"])
    change = pd.read_csv(next(folder.glob("table-*-overall-change.csv")), dtype=str)
    asb = change[change["category"] == "Anti-social behaviour"].iloc[0]
    assert bedford["asb_count"] == asb["2023"]
    expected_rate = round(1000 * int(asb["2023"]) / float(area["population"]), 3)
    assert float(bedford["asb_rate_per_1000"]) == expected_rate
    significant = change["verdict"].isin([INCREASE, DECREASE]).sum()
    assert int(bedford["significant_changes"]) == significant


def test_the_index_page_formats_as_the_documents_and_its_links_resolve(run):
    out, _ = run
    html = (out / "index.html").read_text(encoding="utf-8")
    bedford = index(out)[0]
    document = (out / bedford["html"]).read_text(encoding="utf-8")
    shown = f"{int(bedford['crime_count']):,}"
    assert shown in html and shown in document           # thousands separated, as there
    assert f"{float(bedford['crime_rate_per_1000']):,.1f}" in html
    for name in ("Bedford", "Nowhere", "East Cambridgeshire"):
        assert name in html
    assert "Failed: no police.uk data for East Cambridgeshire in 2023" in html
    links = re.findall(r'<a class="file" href="([^"]+)"', html)
    assert sorted(links) == sorted([bedford["html"], bedford["pdf"], bedford["xlsx"]])
    assert all((out / link).is_file() for link in links)
    assert (out / bedford["pdf"]).read_bytes().startswith(b"%PDF")


@needs_chromium
def test_the_index_page_opens_offline(run):
    out, _ = run
    with offline_page(out / "index.html") as visit:
        page = visit.page
        assert page.locator("table tbody tr").count() == 3
        assert page.get_by_role("link", name="PDF").count() == 1
        page.screenshot(path=str(out / "index.png"), full_page=True)
    assert visit.requests == [visit.url], f"requests left the file: {visit.requests[1:]}"
    assert visit.problems == []


def test_the_districts_of_a_force_county_or_region(demo_warehouse):
    assert batch.districts(demo_warehouse, force="bedfordshire") == [
        "E06000032", "E06000055", "E06000056"]
    assert len(batch.districts(demo_warehouse, county="Cambridgeshire")) == 5
    with pytest.raises(Exception, match="no area called"):
        batch.districts(demo_warehouse, force="Atlantis")


def test_the_areas_file(tmp_path: Path):
    path = tmp_path / "areas.txt"
    path.write_text("Bedford\n\nE06000032\n# not this\nBedford\n")
    assert batch.read_areas_file(path) == ["Bedford", "E06000032"]
    path.write_text("code,note\nE06000055,x\n")
    assert batch.read_areas_file(path) == ["E06000055"]
    path.write_text("# nothing\n")
    with pytest.raises(Exception, match="no district names or codes"):
        batch.read_areas_file(path)


def test_the_districts_of_each_force_are_built_together(demo_warehouse):
    """`by_force` orders the jobs so that a worker holding one force's rows goes on to that
    force's next district; the index keeps the order the districts were listed in (above)."""
    queries = ["Cambridge", "Bedford", "Nowhere", "Huntingdonshire", "Luton"]
    assert batch.by_force(demo_warehouse, queries) == [1, 4, 0, 3, 2]
    with pytest.raises(ValueError, match="every job's position once"):
        batch.assess_all([batch.Job("Bedford", "out")], db=None, order=[0, 0])
