"""The Reports page: a build in the background whose document is the one `cspkit assess`
writes, its progress, its files (and nothing else) for download, and restricted partner
sources left out for the public. Builds are costly (about 15-30 s each on the demo): one for
a partner user (compared with the CLI's own document) and one for the public, in Chromium."""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from cspkit.cli import app as cli
from cspkit.products.web.app import create_app
from cspkit.store import open_reader
from cspkit.store.ingest_log import restricted_sources
from tests.products.report.browser import needs_chromium
from tests.products.web.browser import PHONE, browse
from tests.products.web.users import csrf, ensure_user, login

BEDFORD = "E06000055"


def wait_for(client: TestClient, job_id: str, headers: dict[str, str] | None = None,
             timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    seen: list[int] = []
    while True:
        status = client.get(f"/api/reports/jobs/{job_id}", headers=headers)
        assert status.status_code == 200, status.text
        body: dict[str, Any] = status.json()
        seen.append(body["done"])
        if body["state"] in ("done", "failed"):
            assert seen == sorted(seen), "progress went backwards"
            return body
        assert time.monotonic() < deadline, f"job still {body['state']}: {body['messages']}"
        time.sleep(0.5)


@pytest.fixture(scope="module")
def own_app(demo_warehouse_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A dashboard with its own data folder (its own report jobs) and a partner account."""
    app = create_app(demo_warehouse_path, data_dir=tmp_path_factory.mktemp("web-reports"))
    ensure_user(app, "test-partner", "partner")
    return app


@pytest.fixture(scope="module")
def partner(own_app: Any) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """A client signed in as a partner (who may see restricted sources), and the header its
    unsafe requests carry."""
    with TestClient(own_app) as client:
        yield client, {"X-CSRF-Token": login(client, "test-partner")}


@pytest.fixture(scope="module")
def public(own_app: Any) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with TestClient(own_app) as client:
        yield client, {"X-CSRF-Token": csrf(client)}


@pytest.fixture(scope="module")
def partner_build(partner: tuple[TestClient, dict[str, str]]) -> dict[str, Any]:
    """Bedford 2023 with its PDF, built for a partner."""
    client, token = partner
    started = client.post("/api/reports", json={"area": BEDFORD, "period": "2023"},
                          headers=token)
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["state"] in ("queued", "running") and body["total"] == 2
    again = client.post("/api/reports", json={"area": BEDFORD, "period": "2023"},
                        headers=token)
    assert again.status_code == 200 and again.json()["id"] == body["id"], \
        "the same report asked for twice is one job"
    return wait_for(client, body["id"])


@pytest.fixture(scope="module")
def cli_document(demo_warehouse_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli-assess")
    result = CliRunner().invoke(cli, ["assess", "--area", BEDFORD, "--year", "2023", "--out",
                                      str(out), "--db", str(demo_warehouse_path), "--no-pdf"])
    assert result.exit_code == 0, result.output
    return out


def tables_of(html: str) -> list[str]:
    found = re.findall(r"<table\b.*?</table>", html, flags=re.S)
    assert found
    return found


def without_svg(html: str) -> str:
    return re.sub(r"<svg\b.*?</svg>", "<svg/>", html, flags=re.S)


def test_report_job_writes_what_cspkit_assess_writes(
        partner: tuple[TestClient, dict[str, str]], partner_build: dict[str, Any],
        cli_document: Path) -> None:
    client = partner[0]
    job = partner_build
    assert job["state"] == "done", job
    assert job["done"] == job["total"] == 2
    assert job["withheld"] == 0
    names = {f["name"]: f for f in job["files"]}
    stem = f"strategic-assessment-{BEDFORD}-2023"
    assert set(names) == {f"{stem}.html", f"{stem}.pdf", f"{stem}-tables.zip",
                          f"{stem}-tables.xlsx"}
    base = f"/api/reports/jobs/{job['id']}/files/"
    html = client.get(base + f"{stem}.html")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    cli_html = (cli_document / f"{stem}.html").read_text(encoding="utf-8")
    assert tables_of(html.text) == tables_of(cli_html)
    # And the words around them (charts aside: their SVG ids are numbered per run).
    assert without_svg(html.text) == without_svg(cli_html)

    pdf = client.get(base + f"{stem}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]
    xlsx = client.get(base + f"{stem}-tables.xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    import openpyxl

    sheets = openpyxl.load_workbook(io.BytesIO(xlsx.content), read_only=True).sheetnames
    assert sheets == openpyxl.load_workbook(cli_document / "tables.xlsx",
                                            read_only=True).sheetnames
    tables = client.get(base + f"{stem}-tables.zip")
    with zipfile.ZipFile(io.BytesIO(tables.content)) as archive:
        members = set(archive.namelist())
        cli_csvs = {p.name for p in cli_document.glob("*.csv")}
        assert members == cli_csvs
        for name in cli_csvs:
            assert archive.read(name) == (cli_document / name).read_bytes(), name


def test_only_the_jobs_own_files_are_served(partner: tuple[TestClient, dict[str, str]],
                                            partner_build: dict[str, Any]) -> None:
    client = partner[0]
    base = f"/api/reports/jobs/{partner_build['id']}/files/"
    for name in ("unknown.html", "tables.xlsx", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd",
                 "../reports.py", "data-dictionary.csv"):
        assert client.get(base + name).status_code == 404, name
    assert client.get("/api/reports/jobs/nosuchjob0000").status_code == 404
    assert client.get("/api/reports/jobs/bad!id").status_code in (404, 422)


def test_a_job_with_restricted_sources_is_not_shown_to_the_public(
        partner: tuple[TestClient, dict[str, str]], public: tuple[TestClient, dict[str, str]],
        partner_build: dict[str, Any]) -> None:
    job_id = partner_build["id"]
    client = public[0]
    assert client.get(f"/api/reports/jobs/{job_id}").status_code == 404
    name = partner_build["files"][0]["name"]
    assert client.get(f"/api/reports/jobs/{job_id}/files/{name}").status_code == 404
    assert all(j["id"] != job_id for j in client.get("/api/reports/jobs").json())
    assert any(j["id"] == job_id for j in partner[0].get("/api/reports/jobs").json())


def test_bad_requests_are_refused(public: tuple[TestClient, dict[str, str]]) -> None:
    client, token = public
    assert client.post("/api/reports", json={"area": BEDFORD, "period": "2023"}
                       ).status_code == 403          # no CSRF token
    assert client.post("/api/reports", json={"area": "Nowhere Town", "period": "2023"},
                       headers=token).status_code == 404
    for body in ({"area": BEDFORD, "period": "20x3"}, {"area": BEDFORD, "extra": 1},
                 {"area": "<script>", "period": "2023"}, {"period": "2023"},
                 {"area": BEDFORD, "scope": "country"}, {"area": "E12000006"}):
        answer = client.post("/api/reports", json=body, headers=token)
        assert answer.status_code == 422, (body, answer.text)


def test_force_scope_takes_the_districts_assess_all_takes(demo_warehouse_path: Path) -> None:
    from cspkit.products.report import batch
    from cspkit.products.web.reports import _districts_of

    con = open_reader(demo_warehouse_path)
    try:
        code, name, members = _districts_of(con, BEDFORD, "force")
        assert "Bedfordshire" in name
        assert [m[0] for m in members] == batch.districts(con, force=code)
    finally:
        con.close()


@needs_chromium
def test_build_a_report_in_chromium(live_server: str, demo_warehouse_path: Path) -> None:
    con = open_reader(demo_warehouse_path)
    try:
        withheld = sorted(restricted_sources(con))
    finally:
        con.close()
    with browse(live_server, downloads=True) as b:
        b.go(f"/reports?area={BEDFORD}&period=2023")
        b.page.uncheck("#report-pdf")
        b.page.click("#report-build")
        state = b.page.locator("#report-state")
        b.page.wait_for_function(
            "() => document.querySelector('#report-progress').value > 0 || "
            "document.querySelector('#report-job').dataset.state === 'done'", timeout=120_000)
        b.page.wait_for_selector("#report-job[data-state='done']", timeout=240_000)
        assert "Built" in state.inner_text()
        assert b.page.locator("#report-progress").get_attribute("value") == \
            b.page.locator("#report-progress").get_attribute("max")
        assert state.get_attribute("aria-live") == "polite"
        if withheld:   # the public's report leaves the restricted sources out, in words
            assert "withheld" in b.page.locator("#report-withheld").inner_text()
        link = b.page.get_by_role("link", name="Bedford: document (HTML)", exact=True)
        with b.page.expect_download() as caught:
            link.click()
        html = Path(caught.value.path()).read_text(encoding="utf-8")
        assert "Bedford Community Safety Strategic Assessment 2023" in html
        assert "ED assault attendances by age band" not in html      # restricted: istv
        assert "Hate crime by district and financial year" not in html   # police-markers
        job_url = b.page.url
        b.screenshot("reports-1280")
        assert b.serious_violations() == []
        assert b.outside == [] and b.problems == []
    with browse(live_server, PHONE) as b:
        b.go(job_url.removeprefix(live_server))
        assert b.page.locator("#report-job").get_attribute("data-state") == "done"
        assert b.page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth"), "overflows at 390 px"
        b.screenshot("reports-390")
        assert b.serious_violations() == []
        assert b.outside == [] and b.problems == []


def test_the_form_works_without_script(partner: tuple[TestClient, dict[str, str]],
                                       partner_build: dict[str, Any]) -> None:
    client, token = partner
    answer = client.post("/reports", data={
        "csrf_token": token["X-CSRF-Token"], "area": BEDFORD, "period": "2023",
        "scope": "district", "pdf": "true"}, follow_redirects=False)
    assert answer.status_code == 303
    assert f"job={partner_build['id']}" in answer.headers["location"]   # the same build
    page = client.get(answer.headers["location"])
    assert page.status_code == 200
    assert 'data-state="done"' in page.text
    for f in partner_build["files"]:
        assert f"/api/reports/jobs/{partner_build['id']}/files/{f['name']}" in page.text


def test_one_build_at_a_time_one_job_per_key_and_a_cap(tmp_path: Path) -> None:
    import threading

    from cspkit.measures.periods import parse_period
    from cspkit.products.web.reports import MAX_PENDING, Busy, ReportJob, ReportJobs

    jobs = ReportJobs(tmp_path / "db.duckdb", tmp_path / "reports")
    gate, running = threading.Event(), []

    def make(key: tuple[Any, ...]) -> Any:
        return lambda job_id, folder: ReportJob(
            id=job_id, key=key, title=str(key), scope="district", area_code="E06000055",
            area_name="Bedford", period=parse_period("2023"), pdf=False,
            withheld=frozenset(), folder=folder)

    def run(job: ReportJob) -> None:
        running.append(job.id)
        assert gate.wait(10)
        if job.key == ("k", 1):
            raise ValueError("no police.uk data for Bedford in 2023")

    try:
        first = [jobs.submit(("k", i), make(("k", i)), run) for i in range(MAX_PENDING)]
        assert all(new for _, new in first)
        again, new = jobs.submit(("k", 0), make(("k", 0)), run)
        assert again is first[0][0] and not new
        with pytest.raises(Busy):
            jobs.submit(("k", "more"), make(("k", "more")), run)
        time.sleep(0.3)
        assert len(running) == 1            # one builder: the others wait their turn
        gate.set()
        deadline = time.monotonic() + 10
        while any(j.state in ("queued", "running") for j, _ in first):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert [j.state for j, _ in first] == ["done", "failed", *["done"] * (MAX_PENDING - 2)]
        assert first[1][0].error == "no police.uk data for Bedford in 2023"
        retry, new = jobs.submit(("k", 1), make(("k", 1)), run)   # a failed build is retried
        assert new and retry is not first[1][0]
    finally:
        gate.set()
        jobs.close()
