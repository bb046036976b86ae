"""The Data page: its counts are the ingest log's, the quarantine is shown with its reasons,
and only an admin may load a file, which goes through the CLI's ingest: bad rows are
quarantined and shown, a bad file changes nothing."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from cspkit.products.web import data as data_module
from cspkit.products.web.app import create_app
from cspkit.store import open_reader, snapshot_token
from cspkit.store.ingest_log import RESTRICTED_MARK
from tests.products.report.browser import needs_chromium
from tests.products.web.browser import PHONE, browse
from tests.products.web.conftest import LiveServer
from tests.products.web.users import csrf, ensure_user, login, signed_in

DEMO_POLICE = Path(__file__).parents[3] / "src/cspkit/demo_data/police/bedfordshire.zip"


def log_totals(con: duckdb.DuckDBPyConnection, restricted: bool) -> dict[str, int]:
    """The ingest log's own sums, recomputed here."""
    row = con.execute(
        """SELECT count(*), coalesce(sum(rows_in), 0), coalesce(sum(rows_loaded), 0),
                  coalesce(sum(rows_quarantined), 0) FROM ingests
           WHERE ? OR NOT coalesce(starts_with(note, ?), false)""",
        [restricted, RESTRICTED_MARK]).fetchone()
    assert row is not None
    return dict(zip(["files", "rows_in", "rows_loaded", "rows_quarantined"],
                    map(int, row), strict=True))


def table(blocks: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(b for b in blocks if b.get("key") == key)


def column(t: dict[str, Any], field: str) -> list[str]:
    at = [c["field"] for c in t["columns"]].index(field)
    return [row[at] for row in t["rows"]]


@pytest.fixture(scope="module")
def admin(web_app: Any, web_users: dict[str, str]) -> Iterator[TestClient]:
    with signed_in(web_app, web_users["admin"]) as client:
        yield client


@pytest.fixture(scope="module")
def partner(web_app: Any, web_users: dict[str, str]) -> Iterator[TestClient]:
    with signed_in(web_app, web_users["partner"]) as client:
        yield client


def test_counts_are_the_ingest_logs(client: TestClient, admin: TestClient, partner: TestClient,
                                    demo_warehouse: duckdb.DuckDBPyConnection) -> None:
    for who, restricted in ((client, False), (admin, True), (partner, True)):
        body = who.get("/api/data").json()
        expected = log_totals(demo_warehouse, restricted)
        assert body["totals"] == expected
        shown = table(body["blocks"], "data-totals")
        assert shown["rows"] == [[f"{expected[k]:,}" for k in
                                  ("files", "rows_in", "rows_loaded", "rows_quarantined")]]
        every = log_totals(demo_warehouse, True)
        assert body["withheld_files"] == every["files"] - expected["files"]
        assert len(table(body["blocks"], "data-files")["rows"]) == expected["files"]
        assert body["may_upload"] == (who is admin)
    public = client.get("/api/data").json()
    kinds = dict(zip(column(table(public["blocks"], "data-kinds"), "kind"),
                     column(table(public["blocks"], "data-kinds"), "rows_loaded"), strict=True))
    rows = demo_warehouse.execute(
        "SELECT count(*) FROM events WHERE source = 'police.uk'").fetchone()
    assert rows is not None
    street = demo_warehouse.execute(
        "SELECT sum(rows_loaded) FROM ingests WHERE kind = 'police-street'").fetchone()
    assert street is not None and street[0] == rows[0]   # the log agrees with the events
    assert kinds["police-street"] == f"{rows[0]:,}"
    coverage = table(public["blocks"], "data-coverage")
    assert len(coverage["rows"]) == demo_warehouse.execute(
        "SELECT count(*) FROM ingests WHERE kind = 'police-street' AND status = 'loaded'"
    ).fetchone()[0]  # type: ignore[index]


def test_quarantine_is_shown_with_reasons(client: TestClient, admin: TestClient,
                                          demo_warehouse: duckdb.DuckDBPyConnection) -> None:
    body = client.get("/api/data").json()
    reasons = table(body["quarantine"], "quarantine-reasons")
    held = demo_warehouse.execute(
        "SELECT count(*) FROM quarantine").fetchone()[0]  # type: ignore[index]
    assert sum(int(n.replace(",", "")) for n in column(reasons, "rows")) == held > 0
    assert "duplicate Crime ID" in column(reasons, "reason")
    first = table(body["quarantine"], "quarantine-rows")
    expected = demo_warehouse.execute(
        """SELECT reason, line_no FROM quarantine
           ORDER BY ingest_id DESC, line_no NULLS LAST, reason LIMIT 100""").fetchall()
    assert list(zip(column(first, "reason"), column(first, "line"), strict=True)) == \
        [(r, f"{n:,}") for r, n in expected]
    assert "raw" not in [c["field"] for c in first["columns"]]      # rows' text: admins only
    shown = admin.get("/api/data").json()
    assert "raw" in [c["field"] for c in table(shown["quarantine"], "quarantine-rows")["columns"]]
    page = client.get("/data")
    assert page.status_code == 200
    assert "duplicate Crime ID: first seen at line" in page.text
    assert "/data/upload" not in page.text       # no upload form for the public
    assert 'action="/data/upload"' in admin.get("/data").text
    assert client.get("/api/data?limit=0").status_code == 422
    assert client.get("/api/data?offset=-1").status_code == 422


# --------------------------------------------------------------------------- uploads


def street_file(month: str, folder: Path) -> tuple[Path, int]:
    """A police.uk street file for `month` (not held by the demo) made of 40 real rows of a
    demo month, three of them bad: a month that is not one, an LSOA code that is not one, and
    a repeated Crime ID. Returns the file and the rows it holds."""
    with zipfile.ZipFile(DEMO_POLICE) as archive:
        text = archive.read("2021-08/2021-08-bedfordshire-street.csv").decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    rows = [r for _, r in zip(range(40), reader, strict=False)]
    at = {name: i for i, name in enumerate(header)}
    for r in rows:
        r[at["Month"]] = month
    rows[3][at["Month"]] = "2024-13"
    rows[5][at["LSOA code"]] = "X0100000"
    rows[7][at["Crime ID"]] = rows[6][at["Crime ID"]] = rows[6][at["Crime ID"]] or "abc123"
    path = folder / f"{month}-bedfordshire-street.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path, len(rows)


@pytest.fixture(scope="module")
def own_warehouse(demo_warehouse_path: Path, tmp_path_factory: pytest.TempPathFactory
                  ) -> tuple[Any, Path]:
    """A dashboard over its own copy of the demo warehouse (uploads write to it), with an
    account of each role."""
    folder = tmp_path_factory.mktemp("web-data")
    db = folder / "demo.duckdb"
    shutil.copyfile(demo_warehouse_path, db)
    app = create_app(db, data_dir=folder / "web")
    for name in ("viewer", "partner", "admin"):
        ensure_user(app, f"up-{name}", name)
    return app, db


@pytest.fixture(scope="module")
def uploads(own_warehouse: tuple[Any, Path]) -> Iterator[TestClient]:
    """Signed in as the admin."""
    with TestClient(own_warehouse[0]) as client:
        login(client, "up-admin")
        yield client


def upload(client: TestClient, name: str, content: bytes, kind: str = "police") -> Any:
    # The CSRF token first: the middleware reads an upload only as far as it.
    return client.post("/data/upload", data={"csrf_token": csrf(client), "kind": kind},
                       files={"file": (name, content, "text/csv")})


def counts(db: Path) -> tuple[int, ...]:
    con = open_reader(db)
    try:
        row = con.execute("""SELECT (SELECT count(*) FROM ingests), (SELECT count(*) FROM events),
                                    (SELECT count(*) FROM quarantine)""").fetchone()
        assert row is not None
        return tuple(row)
    finally:
        con.close()


def test_only_an_admin_may_upload(uploads: TestClient, own_warehouse: tuple[Any, Path],
                                  tmp_path: Path) -> None:
    db = own_warehouse[1]
    path, _ = street_file("2024-05", tmp_path)
    before = snapshot_token(db), counts(db)
    for name in (None, "up-partner", "up-viewer"):
        with TestClient(own_warehouse[0]) as client:
            if name:
                login(client, name)
            answer = upload(client, path.name, path.read_bytes())
            assert answer.status_code == 403, name
            assert "Only an administrator may load data" in answer.text
    assert upload(uploads, "x.csv", b"a,b\n").status_code != 403      # the admin may
    assert (snapshot_token(db), counts(db)) == before


def test_a_bad_file_changes_nothing(uploads: TestClient, own_warehouse: tuple[Any, Path]
                                    ) -> None:
    db = own_warehouse[1]
    before = snapshot_token(db), counts(db), db.read_bytes()
    answer = upload(uploads, "notes.csv", b"hello,world\n1,2\n")
    assert answer.status_code == 422
    assert "Nothing was loaded, and the warehouse is as it was" in answer.text
    assert "notes.csv" in answer.text
    assert (snapshot_token(db), counts(db), db.read_bytes()) == before
    # Nor does a form without a kind the CLI knows, or a file over the limit.
    assert upload(uploads, "a.csv", b"a\n", kind="partner:../../x").status_code == 422
    no_token = uploads.post("/data/upload", data={"kind": "police"},
                            files={"file": ("a.csv", b"a\n", "text/csv")})
    assert no_token.status_code == 403
    original = data_module.MAX_UPLOAD
    data_module.MAX_UPLOAD = 10
    try:
        assert upload(uploads, "big.csv", b"x" * 70_000).status_code == 413
        assert upload(uploads, "big.csv", b"x" * 100).status_code == 413
    finally:
        data_module.MAX_UPLOAD = original
    assert (snapshot_token(db), counts(db)) == before[:2]


def test_an_upload_loads_through_the_ingest_and_quarantines_bad_rows(
        uploads: TestClient, own_warehouse: tuple[Any, Path], tmp_path: Path) -> None:
    db = own_warehouse[1]
    before = counts(db)
    path, rows = street_file("2024-05", tmp_path)
    answer = upload(uploads, path.name, path.read_bytes())
    assert answer.status_code == 200, answer.text[-2000:]
    assert "What the upload loaded" in answer.text
    assert "Rows quarantined by this upload" in answer.text
    assert "Month: expected YYYY-MM" in answer.text and "LSOA code" in answer.text
    assert "duplicate Crime ID" in answer.text
    con = open_reader(db)
    try:
        logged = con.execute(
            """SELECT ingest_id, rows_in, rows_loaded, rows_quarantined, status FROM ingests
               WHERE file LIKE '%2024-05-bedfordshire-street.csv'""").fetchall()
        assert len(logged) == 1
        ingest_id, rows_in, loaded, quarantined, status = logged[0]
        assert (rows_in, status) == (rows, "loaded") and quarantined == 3
        assert con.execute("SELECT count(*) FROM events WHERE ingest_id = ?",
                           [ingest_id]).fetchone()[0] == loaded  # type: ignore[index]
        reasons = [r[0] for r in con.execute(
            "SELECT reason FROM quarantine WHERE ingest_id = ? ORDER BY line_no",
            [ingest_id]).fetchall()]
    finally:
        con.close()
    after = counts(db)
    assert after == (before[0] + 1, before[1] + loaded, before[2] + 3)
    for reason in reasons:
        assert str(escape(reason)) in answer.text
    # The page, and the API, read the new snapshot at once.
    body = uploads.get("/api/data").json()
    assert body["totals"]["rows_quarantined"] == \
        sum(int(n.replace(",", "")) for n in
            column(table(body["quarantine"], "quarantine-reasons"), "rows"))
    assert f"{ingest_id:,}" in column(table(body["blocks"], "data-files"), "id")


@needs_chromium
def test_data_page_in_chromium(live_server: str, own_warehouse: tuple[Any, Path],
                               tmp_path: Path) -> None:
    with browse(live_server) as b:
        b.go("/data")
        assert b.page.locator("h2#data-quarantine").is_visible()
        assert "duplicate Crime ID" in b.page.locator("#t-quarantine-reasons").inner_text()
        assert b.page.locator("#upload-file").count() == 0
        b.screenshot("data-1280")
        assert b.serious_violations() == []
        assert b.outside == [] and b.problems == []
    with browse(live_server, PHONE) as b:
        b.go("/data")
        b.page.click("details.data-coverage > summary")
        assert b.page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth"), "overflows at 390 px"
        b.screenshot("data-390")
        assert b.serious_violations() == []
        assert b.outside == [] and b.problems == []
    # An admin loads a file through the form and sees what was quarantined.
    path, _ = street_file("2024-06", tmp_path)
    with LiveServer(own_warehouse[0]) as url, browse(url) as b:
        login(b, "up-admin")
        b.go("/data")
        b.page.select_option("#upload-kind", "police")
        b.page.set_input_files("#upload-file", str(path))
        with b.page.expect_navigation():
            b.page.click("button:has-text('Load the file')")
        assert "Rows quarantined by this upload" in b.page.content()
        assert "2024-06-bedfordshire-street.csv" in b.page.locator(
            "#upload-result-section").inner_text()
        b.screenshot("data-upload-1280")
        assert b.serious_violations() == []
        assert b.outside == [] and b.problems == []
