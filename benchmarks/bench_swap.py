"""Benchmark: what snapshot and swap costs a writer, on a warehouse you already have (e.g. one
built by `cspkit demo --db demo.duckdb`), against the ingest it protects.

    .venv/bin/python benchmarks/bench_swap.py demo.duckdb

Works on copies beside the warehouse; the warehouse itself is not changed. Prints the file size,
an empty writer's time split into copy, fsync and rename, and one month of police street data
ingested through the writer and in place (`connect`, the way before snapshot and swap).
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cspkit.demo import demo_data_dir
from cspkit.ingest import ingest_police
from cspkit.store import connect, transaction, warehouse

PHASES: dict[str, float] = {}


def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            PHASES[name] = PHASES.get(name, 0.0) + time.perf_counter() - start
    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    args = parser.parse_args()
    warehouse._copy_from_fd = timed("copy", warehouse._copy_from_fd)  # type: ignore[assignment]
    warehouse._fsync_path = timed("fsync", warehouse._fsync_path)  # type: ignore[assignment]
    warehouse.os.replace = timed("rename", os.replace)  # type: ignore[attr-defined]
    try:
        with tempfile.TemporaryDirectory(dir=args.db.parent) as tmp:
            # One month, minus its last row: a new version of a file the demo holds.
            member = "2018-03/2018-03-cambridgeshire-street.csv"
            with zipfile.ZipFile(demo_data_dir() / "police" / "cambridgeshire.zip") as archive:
                lines = archive.read(member).decode("utf-8-sig").splitlines(keepends=True)
            month = Path(tmp) / "2018-03-cambridgeshire-street.csv"
            month.write_text("".join(lines[:-1]))
            print(f"warehouse: {args.db.stat().st_size / 1e6:.1f} MB")

            db = Path(tmp) / "swap.duckdb"
            shutil.copyfile(args.db, db)
            PHASES.clear()
            start = time.perf_counter()
            with warehouse.writer(db):
                pass
            print(f"empty writer: {time.perf_counter() - start:.2f} s  " + ", ".join(
                f"{k} {v:.2f} s" for k, v in PHASES.items()))

            PHASES.clear()
            start = time.perf_counter()
            with warehouse.writer(db) as con:
                ingest_police(con, [str(month)], run_id="bench", replace=True)
            print(f"one month through the writer: {time.perf_counter() - start:.2f} s  " +
                  ", ".join(f"{k} {v:.2f} s" for k, v in PHASES.items()))

            db = Path(tmp) / "in-place.duckdb"
            shutil.copyfile(args.db, db)
            start = time.perf_counter()
            con = connect(db)
            with transaction(con):
                ingest_police(con, [str(month)], run_id="bench", replace=True)
            con.execute("CHECKPOINT")
            con.close()
            print(f"one month in place: {time.perf_counter() - start:.2f} s")
    finally:
        warehouse.os.replace = os.replace  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
