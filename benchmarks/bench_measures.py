"""Benchmark: the full measure set for one district over three years, on the shipped data and,
in the same run, on the same data replicated 10x (events copied nine more times).

    .venv/bin/python benchmarks/bench_measures.py [--area Bedford] [--repeat 3]

Prints the best-of-N time for each and the ratio (goal: near-linear growth, and well under 2 s
on the shipped data).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from cspkit.demo import build_demo
from cspkit.measures.catalogue import run_measure
from cspkit.store import connect

PERIODS = [("2022", "2021/22"), ("2023", "2022"), ("rolling:2024-04", "rolling:2023-04")]
MEASURES = ["counts", "change", "wards", "lsoas", "series", "seasonality", "siblings",
            "concentration", "deprivation", "deprivation-events", "harm"]


def full_set(con: duckdb.DuckDBPyConnection, area: str) -> int:
    rows = 0
    for period, baseline in PERIODS:
        for name in MEASURES:
            frame = run_measure(con, name, area=area, period=period, baseline=baseline,
                                allow_partial=True,
                                category="Anti-social behaviour"
                                if name in ("wards", "lsoas") else None)
            rows += len(frame)
    return rows


def clear_caches() -> None:
    from cspkit.measures import areas, change

    areas._MEMO.clear()
    change._etest.cache_clear()
    change._clopper_pearson.cache_clear()


def timed(db: Path, area: str, repeat: int) -> tuple[float, int]:
    con = duckdb.connect(str(db), read_only=True)
    best, rows = float("inf"), 0
    for _ in range(repeat):
        clear_caches()  # each repeat starts cold: only caching within one run counts
        start = time.perf_counter()
        rows = full_set(con, area)
        best = min(best, time.perf_counter() - start)
    con.close()
    return best, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--area", default="Bedford")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.duckdb"
        con = connect(base)
        build_demo(con)
        events = con.execute("SELECT count(*) FROM events").fetchone()[0]  # type: ignore[index]
        con.close()
        big = Path(tmp) / "x10.duckdb"
        shutil.copy(base, big)
        con = connect(big)
        con.execute("CREATE TEMP TABLE one AS SELECT * EXCLUDE (event_id) FROM events")
        for _ in range(9):
            con.execute("INSERT INTO events BY NAME SELECT * FROM one")
        con.close()
        small_time, small_rows = timed(base, args.area, args.repeat)
        big_time, big_rows = timed(big, args.area, args.repeat)
    print(f"full measure set for {args.area}: {len(MEASURES)} measures x {len(PERIODS)} "
          f"periods, best of {args.repeat}")
    print(f"  shipped data   ({events:>9,} events)  {small_time:6.2f} s  ({small_rows} rows)")
    print(f"  replicated 10x ({10 * events:>9,} events)  {big_time:6.2f} s  ({big_rows} rows)")
    print(f"  ratio 10x / 1x: {big_time / small_time:.2f}")


if __name__ == "__main__":
    main()
