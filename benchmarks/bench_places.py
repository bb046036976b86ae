"""Benchmark: a custom-area profile (without PDF) and a district's vulnerable-places ranking on
the shipped demo data. Goals: profile under 0.5 s, ranking under 2 s.

    .venv/bin/python benchmarks/bench_places.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from cspkit.demo import build_demo
from cspkit.measures.custom_areas import area_from_wards
from cspkit.measures.periods import calendar_year
from cspkit.measures.places import vulnerable_places
from cspkit.products.profile import profile
from cspkit.store import connect


def best(repeat: int, work) -> float:  # type: ignore[no-untyped-def]
    from cspkit.measures import areas, change

    times = []
    for _ in range(repeat):
        areas._MEMO.clear()  # each repeat starts cold
        change._etest.cache_clear()
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
        con = connect(Path(tmp) / "demo.duckdb")
        build_demo(con)
        area = area_from_wards(con, "Kempston", ["Kempston West", "Kempston North"])
        profile_time = best(args.repeat, lambda: profile(con, area, 2023))
        ward_time = best(args.repeat, lambda: vulnerable_places(con, "Bedford",
                                                                calendar_year(2023)))
        lsoa_time = best(args.repeat, lambda: vulnerable_places(con, "Bedford",
                                                                calendar_year(2023),
                                                                level="lsoa"))
    print(f"best of {args.repeat}, caches cleared between repeats")
    print(f"  profile of Kempston West + North, 2023 (no PDF)  {profile_time:6.2f} s  (goal 0.5)")
    print(f"  vulnerable places, Bedford wards 2023          {ward_time:6.2f} s  (goal 2)")
    print(f"  vulnerable places, Bedford LSOAs 2023          {lsoa_time:6.2f} s")


if __name__ == "__main__":
    main()
