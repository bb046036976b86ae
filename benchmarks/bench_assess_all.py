"""Benchmark: `cspkit assess --all` over every district of the shipped forces that holds data
for the year, in seconds per district, beside one `cspkit assess` of the first of them in the
same run (both whole commands: HTML, PDF, CSV and XLSX).

    .venv/bin/python benchmarks/bench_assess_all.py [--year 2023] [--jobs N] [--db demo.duckdb]

Without --db a demo warehouse is built first (about a minute). The shipped data holds 2021-2023
for Bedfordshire's 3 districts and 8 scattered months of 2018-19 for Cambridgeshire's, so
--year 2019 (or 2018) exercises Cambridgeshire. Goal: under 10 s per district including the
PDF on 2 cores. Timings are wall-clock: on a shared machine compare the two lines of one run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cspkit.demo import build_demo
from cspkit.measures.counts import area_period
from cspkit.measures.periods import parse_period
from cspkit.products.report.batch import districts
from cspkit.store import connect, open_reader

FORCES = ["bedfordshire", "cambridgeshire"]


def with_data(db: Path, year: str) -> tuple[list[str], list[str]]:
    """Codes of the shipped forces' districts holding police data in `year`, and the rest."""
    from cspkit.measures.areas import select_area

    con = open_reader(db)
    held, empty = [], []
    for force in FORCES:
        for code in districts(con, force=force):
            months = area_period(con, select_area(con, code), parse_period(year)).coverage
            (held if months.months_present else empty).append(code)
    con.close()
    return held, empty


def cspkit(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cspkit.cli", *args], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--year", default="2023")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--db", type=Path, help="an existing warehouse (default: build one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            db = Path(tmp) / "demo.duckdb"
            con = connect(db)
            build_demo(con)
            con.close()
        held, empty = with_data(db, args.year)
        if not held:
            sys.exit(f"no shipped district holds data for {args.year}")
        areas = Path(tmp) / "areas.txt"
        areas.write_text("\n".join(held) + "\n")
        load = os.getloadavg()[0]
        one = cspkit("assess", "--area", held[0], "--year", args.year, "--db", str(db),
                     "--out", str(Path(tmp) / "one"))
        every = cspkit("assess", "--all", "--areas", str(areas), "--year", args.year,
                       "--jobs", str(args.jobs), "--db", str(db), "--out",
                       str(Path(tmp) / "all"))
    print(f"cspkit assess --all, {args.year}: {len(held)} districts with data "
          f"({', '.join(held)}), {args.jobs} jobs; without data: {', '.join(empty) or 'none'}")
    print(f"  one `assess --area {held[0]}`        {one:7.1f} s")
    print(f"  `assess --all`, whole run            {every:7.1f} s")
    print(f"  `assess --all`, per district         {every / len(held):7.1f} s   "
          f"({every / len(held) / one:.2f} x one assess; goal < 10 s)")
    print(f"  load average at the start: {load:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
