"""Benchmark: ingesting every shipped police.uk file, against DuckDB's bare read_csv of the same
files (the floor: parsing alone, no validation, no quarantine, no ingest log).

    .venv/bin/python benchmarks/bench_ingest.py [--repeat 3]

Prints the best of N for each and the ratio cspkit / bare read (goal: within 2x).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import zipfile
from pathlib import Path

import duckdb

from cspkit.demo import police_paths
from cspkit.store import connect, transaction
from cspkit.store.load_police import ingest_police


def extract_all(dest: Path) -> dict[str, list[str]]:
    by_kind: dict[str, list[str]] = {"street": [], "outcomes": [], "stop-and-search": []}
    for archive in police_paths():
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dest / Path(archive).stem)
    for path in sorted(dest.rglob("*.csv")):
        for kind in by_kind:
            if path.name.endswith(f"-{kind}.csv"):
                by_kind[kind].append(str(path))
    return by_kind


def bare_read(by_kind: dict[str, list[str]]) -> tuple[float, int]:
    con = duckdb.connect(":memory:")
    start = time.perf_counter()
    rows = 0
    for kind, files in by_kind.items():
        # Fixed dialect, as cspkit uses (the sniffer mis-reads one real file).
        con.execute(f"""CREATE TABLE "{kind}" AS SELECT * FROM read_csv({files!r}, header = true,
                        delim = ',', quote = '"', escape = '"', all_varchar = true,
                        union_by_name = true)""")
        rows += con.execute(f'SELECT count(*) FROM "{kind}"').fetchone()[0]  # type: ignore[index]
    return time.perf_counter() - start, rows


def cspkit_ingest(paths: list[str], db: Path) -> tuple[float, int]:
    db.unlink(missing_ok=True)
    con = connect(db)
    start = time.perf_counter()
    with transaction(con):
        report = ingest_police(con, paths, run_id="bench")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed, report.rows_in


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        by_kind = extract_all(root / "csv")
        n_files = sum(len(v) for v in by_kind.values())
        bare = min(bare_read(by_kind) for _ in range(args.repeat))
        folders = [str(root / "csv")]
        ours_csv = min(cspkit_ingest(folders, root / "a.duckdb") for _ in range(args.repeat))
        ours_zip = min(cspkit_ingest(police_paths(), root / "b.duckdb")
                       for _ in range(args.repeat))
    assert bare[1] == ours_csv[1] == ours_zip[1], (bare, ours_csv, ours_zip)
    print(f"{n_files} files, {bare[1]:,} rows (best of {args.repeat})")
    print(f"  DuckDB bare read_csv (floor)     {bare[0]:6.2f} s")
    for label, (seconds, _) in (("cspkit ingest, extracted CSVs", ours_csv),
                                ("cspkit ingest, from the zips", ours_zip)):
        print(f"  {label:<32} {seconds:6.2f} s   ratio {seconds / bare[0]:.2f}x")


if __name__ == "__main__":
    main()
