"""The dashboard beside an ingest: while `cspkit ingest` writes a new snapshot of the same
warehouse in another process, every request is answered (none waits on the writer, and the
writer does not wait on the readers), and once the ingest has committed the app serves the new
snapshot."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from cspkit.demo import demo_data_dir
from cspkit.products.web.app import Warehouse, create_app
from tests.products.web.conftest import LiveServer

MEMBER = "2018-03/2018-03-cambridgeshire-street.csv"


def _shortened_month(dest: Path) -> tuple[Path, int]:
    """A new version of a month the demo holds (its last row left out), and its row count."""
    with zipfile.ZipFile(demo_data_dir() / "police" / "cambridgeshire.zip") as archive:
        lines = archive.read(MEMBER).decode("utf-8-sig").splitlines(keepends=True)
    path = dest / MEMBER.rsplit("/", 1)[-1]
    path.write_text("".join(lines[:-1]), encoding="utf-8")
    rows = sum(1 for _ in csv.DictReader(io.StringIO("".join(lines[:-1]))))
    return path, rows


def _app(db: Path, data_dir: Path) -> FastAPI:
    web = create_app(db, data_dir=data_dir)

    @web.get("/test-only/month")
    def month(pair: Any = Warehouse) -> dict[str, Any]:
        con, token = pair
        (rows,) = con.execute(
            "SELECT count(*) FROM events WHERE force = 'cambridgeshire' "
            "AND month = DATE '2018-03-01'").fetchone()
        return {"rows": rows, "token": list(token) if token else None}

    return web


def _public_gets(client: httpx.Client) -> list[str]:
    """Every GET operation of the OpenAPI document that needs no parameter, and the pages."""
    spec = client.get("/openapi.json").json()
    paths = ["/", "/login", "/test-only/month"]
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if get and "{" not in path and not any(p.get("required")
                                               for p in get.get("parameters", [])):
            paths.append(path)
    return sorted(set(paths))


def test_requests_are_answered_while_an_ingest_writes(demo_warehouse_path: Path,
                                                      tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo_warehouse_path, db)
    month, rows = _shortened_month(tmp_path)

    with LiveServer(_app(db, tmp_path / "web")) as base, \
            httpx.Client(base_url=base, timeout=30) as client:
        before = client.get("/test-only/month").json()
        paths = _public_gets(client)
        for path in paths:                                   # warm: each answers at all
            assert client.get(path).status_code < 500, path

        answers: list[tuple[str, int, float]] = []
        stop = threading.Event()

        def ask(offset: int) -> None:
            with httpx.Client(base_url=base, timeout=30) as own:
                i = offset
                while not stop.is_set():
                    path = paths[i % len(paths)]
                    start = time.perf_counter()
                    status = own.get(path).status_code
                    answers.append((path, status, time.perf_counter() - start))
                    i += 1
                    time.sleep(0.01)      # steady traffic, not a flood that starves the writer

        askers = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
        for thread in askers:
            thread.start()
        started = time.perf_counter()
        try:
            ingest = subprocess.run(
                [sys.executable, "-m", "cspkit.cli", "ingest", "police", str(month),
                 "--replace", "--db", str(db)],
                capture_output=True, text=True, timeout=300, env={**os.environ})
        finally:
            during = len(answers)
            stop.set()
            for thread in askers:
                thread.join(timeout=60)
        ingest_seconds = time.perf_counter() - started
        assert ingest.returncode == 0, ingest.stderr

        assert during >= 10, f"only {during} requests answered during a {ingest_seconds:.1f} s ingest"
        failed = [(p, s) for p, s, _ in answers if s >= 500]
        assert failed == []
        slowest = max(seconds for _, _, seconds in answers)
        assert slowest < max(10.0, ingest_seconds / 2), f"a request waited {slowest:.1f} s"

        after = client.get("/test-only/month").json()
        assert after["token"] != before["token"]
        assert after["rows"] == rows == before["rows"] - 1
