"""Benchmark: the whole `cspkit assess` for one district (build, HTML, PDF, CSV and XLSX) on a
demo warehouse, split by stage. Goal: under 30 s on a 2-core machine.

    .venv/bin/python benchmarks/bench_assess.py [--area Bedford] [--year 2023]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from cspkit.demo import build_demo
from cspkit.measures.periods import parse_period
from cspkit.products.report.assessment import build_assessment
from cspkit.products.report.render import render_html, write_pdf, write_tables
from cspkit.store import connect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--area", default="Bedford")
    parser.add_argument("--year", default="2023")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        con = connect(Path(tmp) / "demo.duckdb")
        build_demo(con)
        stages: dict[str, float] = {}
        start = time.perf_counter()
        doc = build_assessment(con, args.area, parse_period(args.year))
        stages["measures, text, charts and maps"] = time.perf_counter() - start
        mark = time.perf_counter()
        html = render_html(doc)
        out.mkdir()
        (out / "assessment.html").write_text(html, encoding="utf-8")
        stages["HTML"] = time.perf_counter() - mark
        mark = time.perf_counter()
        write_pdf(html, out / "assessment.pdf")
        stages["PDF"] = time.perf_counter() - mark
        mark = time.perf_counter()
        write_tables(doc, out)
        stages["CSV and XLSX"] = time.perf_counter() - mark
        total = time.perf_counter() - start
    print(f"cspkit assess {args.area} {args.year}: {len(doc.tables())} tables, "
          f"{len(doc.figures())} figures")
    for name, seconds in stages.items():
        print(f"  {name:<34} {seconds:6.2f} s")
    print(f"  {'total':<34} {total:6.2f} s   (goal < 30 s)")


if __name__ == "__main__":
    main()
