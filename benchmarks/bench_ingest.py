"""Benchmark: ingesting every shipped police.uk file, against DuckDB's bare read_csv of the same
files (the floor: parsing alone, no validation, no quarantine, no ingest log).

    .venv/bin/python benchmarks/bench_ingest.py [--repeat 3] [--small-files 2000] [--big-mb 1024]

Prints the best of N for each and the ratio cspkit / bare read (goal: within 2x). With
--small-files N it also ingests N small street files (20 real rows each, one per force and
month) and prints the cost per file (goal: under 5 ms). With --big-mb M it writes one street
file of about M MB (real rows repeated with fresh Crime IDs), ingests it with `cspkit ingest
police` in a child process and prints that process's peak memory (goal: under 1 GB for 1 GB).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import duckdb

from cspkit.demo import police_paths
from cspkit.ingest import ingest_police
from cspkit.police_forces import FORCES
from cspkit.store import connect, transaction


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
        if not files:
            continue
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


def real_rows(limit: int | None = None) -> tuple[str, list[list[str]]]:
    """The header and rows of one shipped Bedfordshire street file."""
    with zipfile.ZipFile(police_paths()[0]) as zf:
        name = next(n for n in sorted(zf.namelist()) if n.endswith("-street.csv"))
        text = zf.read(name).decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    rows = list(reader)
    return ",".join(header), rows[:limit] if limit else rows


def small_files(root: Path, n: int) -> list[str]:
    """`n` street files of 20 rows, each its own force and month (no duplicate coverage)."""
    header, rows = real_rows(20)
    forces = sorted(f for f in FORCES if f != "northern-ireland")
    paths = []
    for i in range(n):
        force = forces[i % len(forces)]
        year, month = divmod(i // len(forces), 12)
        stamp = f"{2011 + year}-{month + 1:02d}"
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for r in rows:
            writer.writerow([r[0], stamp, FORCES[force], FORCES[force], *r[4:]])
        path = root / f"{stamp}-{force}-street.csv"
        path.write_text(header + "\n" + buffer.getvalue())
        paths.append(str(path))
    return paths


def big_file(path: Path, megabytes: int) -> tuple[Path, int]:
    """About `megabytes` of one real month's rows, repeated with fresh Crime IDs; the file is
    named for that month."""
    header, rows = real_rows()
    stamp = rows[0][1]
    path = path.with_name(f"{stamp}-bedfordshire-street.csv")
    written, count = 0, 0
    with open(path, "w", newline="") as handle:
        handle.write(header + "\n")
        writer = csv.writer(handle, lineterminator="\n")
        while written < megabytes << 20:
            for r in rows:
                count += 1
                writer.writerow([f"{count:064x}" if r[0] else "", stamp, *r[2:]])
            written = handle.tell()
    return path, count


def peak_memory_of_cli_ingest(path: Path, db: Path) -> tuple[float, int]:
    """Seconds and peak resident memory (bytes) of `cspkit ingest police` in a child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cspkit.cli", "ingest", "police", str(path),
                    "--db", str(db)], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "COLUMNS": "100"})
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before) * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--small-files", type=int, default=0)
    parser.add_argument("--big-mb", type=int, default=0)
    args = parser.parse_args()
    if args.small_files:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            (root / "files").mkdir()
            paths = small_files(root / "files", args.small_files)
            bare_files = {"street": paths, "outcomes": [], "stop-and-search": []}
            bare = min(bare_read(bare_files) for _ in range(args.repeat))
            ours = min(cspkit_ingest([str(root / "files")], root / "s.duckdb")
                       for _ in range(args.repeat))
        print(f"{args.small_files} small files: cspkit {ours[0]:.2f} s "
              f"({ours[0] / args.small_files * 1000:.1f} ms a file), bare read {bare[0]:.2f} s "
              f"({bare[0] / args.small_files * 1000:.1f} ms a file), ratio "
              f"{ours[0] / bare[0]:.2f}x")
    if args.big_mb:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            path, rows = big_file(root / "street.csv", args.big_mb)
            size = path.stat().st_size
            seconds, peak = peak_memory_of_cli_ingest(path, root / "big.duckdb")
        print(f"one street file of {size / 2**20:,.0f} MB ({rows:,} rows): ingest "
              f"{seconds:.1f} s, peak memory {peak / 2**20:,.0f} MB "
              f"({peak / size:.2f}x the file)")
    if args.small_files or args.big_mb:
        return
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
