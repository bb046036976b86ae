"""Benchmark: a custom-area profile (without PDF) and a district's vulnerable-places ranking on
the shipped demo data. Goals: profile under 0.5 s, ranking under 2 s.

    .venv/bin/python benchmarks/bench_places.py [--repeat 3]

Each figure is also given as a ratio to a baseline measured in the same run: one bare DuckDB
query counting the district's located events by ward and category for the year (the least any
place measure must do), so a slower or faster machine moves both alike.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from cspkit.demo import build_demo
from cspkit.measures.custom_areas import area_from_wards
from cspkit.measures.periods import calendar_year
from cspkit.measures.places import vulnerable_places
from cspkit.products.profile import profile
from cspkit.store import connect

BASELINE_SQL = """
    SELECT g.ward_code, e.category, count(*) FROM events e
    JOIN lsoa_geography g ON g.lsoa_code = e.lsoa_code AND g.lsoa_vintage = e.lsoa_vintage
    WHERE g.lad_name = 'Bedford' AND e.source = 'police.uk'
      AND e.month BETWEEN DATE '2023-01-01' AND DATE '2023-12-31'
    GROUP BY ALL"""


def best(repeat: int, work: Callable[[], object]) -> float:
    from cspkit.measures import areas, change

    times = []
    for _ in range(repeat):
        areas._MEMO.clear()  # each repeat starts cold
        change._etest.cache_clear()
        change._clopper_pearson.cache_clear()
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        con: duckdb.DuckDBPyConnection = connect(Path(tmp) / "demo.duckdb")
        build_demo(con)
        area = area_from_wards(con, "Kempston", ["Kempston West", "Kempston North"])
        year = calendar_year(2023)
        baseline = best(args.repeat * 3, lambda: con.execute(BASELINE_SQL).fetchall())
        profile_time = best(args.repeat, lambda: profile(con, area, 2023))
        ward_time = best(args.repeat, lambda: vulnerable_places(con, "Bedford", year))
        lsoa_time = best(args.repeat, lambda: vulnerable_places(con, "Bedford", year,
                                                                level="lsoa"))
    print(f"best of {args.repeat}, caches cleared between repeats")
    print(f"  baseline: one GROUP BY of Bedford's 2023 events by ward and category "
          f"{baseline:6.3f} s")
    for label, value, goal in [
            ("profile of Kempston West + North, 2023 (no PDF)", profile_time, "goal 0.5 s"),
            ("vulnerable places, Bedford wards 2023", ward_time, "goal 2 s"),
            ("vulnerable places, Bedford LSOAs 2023", lsoa_time, "")]:
        print(f"  {label:<48} {value:6.2f} s  {value / baseline:6.0f}x baseline  {goal}")


if __name__ == "__main__":
    main()
