"""Benchmark: cspkit at national police.uk scale, on SYNTHETIC data (simulate_national.py:
every LSOA of England and Wales, the 43 territorial forces, 36 months, about 25 million rows).

    .venv/bin/python benchmarks/bench_national.py --data /tmp/national --work /tmp/national-work
    .venv/bin/python benchmarks/bench_national.py --data /tmp/slice --work /tmp/slice-work \\
        --forces bedfordshire,hertfordshire --months 3 --year 2024 --json slice.json

Steps, each in its own process with its wall-clock time and peak resident memory (that
process's, or its largest child's; read with wait4), and each optional (--no-STEP):

  build      make the dataset in --data if it is not there (never inside the repository)
  bare       the floor: DuckDB's bare read_csv of every file (fixed dialect, all text, as cspkit
             reads them) into a table of a fresh DuckDB file, and a count(*) over the same glob
  ingest     `cspkit ingest police DATA` into a fresh warehouse holding only the national
             reference tables (built once from the shipped files, timed apart): rows/s,
             warehouse size, ratio to the bare read (goal: within 2x; under 2 minutes)
  assess     one district's `cspkit assess` (--no-pdf unless --pdf) on the national warehouse,
             beside the same command on a warehouse holding only that district's force, built
             in the same run: memory should not grow with the national total
  places     the vulnerable-places ranking (and its stability, as `cspkit places` does) for
             every district, in one process; also one whole `cspkit places` command
  spark      `cspkit export parquet` of the national warehouse, then five measures of the
             district (counts, change, wards, series, concentration) on the warehouse and on
             local Spark over the export
  all        `cspkit assess --all --jobs N` (with PDFs) over a sample of districts, extrapolated
             to every district (goal: all of them in under an hour); its CPU and peak memory
             are the parent process's only (the workers are not counted)

Figures from a sample are labelled "extrapolated". Timings are wall-clock on a machine that
may be shared: the load average is printed at the start and the end; compare lines of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
HOUR = 3600.0


@dataclass
class Step:
    name: str
    seconds: float
    peak_mib: float
    detail: dict[str, Any] = field(default_factory=dict)
    cpu_seconds: float | None = None


@dataclass
class Measured:
    seconds: float
    peak_mib: float
    stdout: str
    cpu_seconds: float


def measure(cmd: list[str], log: Path, *, check: bool = True) -> Measured:
    """Run `cmd` in a child process; its wall-clock seconds and peak resident memory (the
    largest of the child and its own children, as wait4 reports it)."""
    env = {**os.environ, "COLUMNS": "120", "PYTHONPATH": str(REPO / "src")}
    with open(log, "w") as out:
        start = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text(errors="replace")
    if check and child.returncode != 0:
        sys.exit(f"failed ({child.returncode}): {' '.join(cmd)}\n{text[-3000:]}")
    return Measured(seconds, usage.ru_maxrss / 1024, text, usage.ru_utime + usage.ru_stime)


def step(name: str, got: Measured, detail: dict[str, Any] | None = None) -> Step:
    return Step(name, got.seconds, got.peak_mib, detail or {}, got.cpu_seconds)


def cspkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "cspkit.cli", *args]


def say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def inside_repo(path: Path) -> bool:
    return path.resolve().is_relative_to(REPO)


def csv_files(data: Path) -> list[Path]:
    return sorted(data.glob("*/*-street.csv"))


# --------------------------------------------------------------------------- steps


def build(args: argparse.Namespace, log: Path) -> Step | None:
    if csv_files(args.data):
        say(f"dataset present in {args.data}: not rebuilt")
        return None
    say(f"building the dataset in {args.data} (SYNTHETIC) ...")
    cmd = [sys.executable, str(HERE / "simulate_national.py"), "--out", str(args.data),
           "--months", str(args.months), "--last", args.last, "--seed", str(args.seed)]
    if args.forces:
        cmd += ["--forces", args.forces]
    got = measure(cmd, log)
    return step("build dataset (simulate_national.py)", got,
                {"summary": got.stdout.strip().splitlines()[-1]})


BARE = """
import sys, time, duckdb
glob, db, mode = sys.argv[1:4]
con = duckdb.connect(db)
con.execute("SET preserve_insertion_order = false")
con.execute("SET enable_progress_bar = false")
read = (f"read_csv('{glob}', header = true, delim = ',', quote = '\\"', escape = '\\"', "
        "all_varchar = true)")
start = time.perf_counter()
if mode == "table":
    con.execute(f"CREATE TABLE street AS SELECT * FROM {read}")
    con.execute("CHECKPOINT")
    rows = con.execute("SELECT count(*) FROM street").fetchone()[0]
else:
    rows = con.execute(f"SELECT count(*) FROM {read}").fetchone()[0]
print(rows, time.perf_counter() - start)
"""


def bare(args: argparse.Namespace, work: Path) -> list[Step]:
    glob = str(args.data / "*" / "*-street.csv")
    size = sum(p.stat().st_size for p in csv_files(args.data))
    steps = []
    for mode, label in (("count", "DuckDB bare read: count(*) over the glob"),
                        ("table", "DuckDB bare read into a table (the floor)")):
        db = work / "bare.duckdb"
        db.unlink(missing_ok=True)
        say(f"{label} ...")
        got = measure([sys.executable, "-c", BARE, glob, str(db) if mode == "table"
                       else ":memory:", mode], work / f"bare-{mode}.log")
        rows, _ = got.stdout.split("\n")[-2].split()
        detail: dict[str, Any] = {"rows": int(rows), "csv_gib": size / 2**30,
                                  "rows_per_s": int(rows) / got.seconds}
        if mode == "table":
            detail["duckdb_file_gib"] = db.stat().st_size / 2**30
            db.unlink()
        steps.append(step(label, got, detail))
        say(f"  {int(rows):,} rows in {got.seconds:.1f} s, peak {got.peak_mib:,.0f} MiB")
    return steps


def reference_warehouse(work: Path) -> tuple[Path, Step | None]:
    """A warehouse holding only the shipped national reference tables, built once."""
    template = work / "reference.duckdb"
    if template.exists():
        return template, None
    from cspkit.demo import national_reference_paths

    say("loading the national reference tables into a template warehouse ...")
    partial = work / "reference-partial.duckdb"
    partial.unlink(missing_ok=True)
    got = measure(cspkit("ingest", "reference", *national_reference_paths(), "--db",
                         str(partial)), work / "reference.log")
    partial.rename(template)
    return template, step("cspkit ingest reference (national tables, once)", got)


def fresh_copy(template: Path, db: Path) -> None:
    for leftover in (db, db.with_name(db.name + ".wal"), db.with_name(db.name + ".lock")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(template, db)


def ingest(template: Path, paths: list[str], db: Path, log: Path, label: str) -> Step:
    fresh_copy(template, db)
    say(f"{label} ...")
    got = measure(cspkit("ingest", "police", *paths, "--db", str(db)), log)
    rows = events_of(db)
    detail = {"rows": rows, "rows_per_s": rows / got.seconds,
              "warehouse_gib": db.stat().st_size / 2**30}
    say(f"  {rows:,} rows in {got.seconds:.1f} s ({rows / got.seconds:,.0f} rows/s), peak "
        f"{got.peak_mib:,.0f} MiB, warehouse {detail['warehouse_gib']:.2f} GiB")
    return step(label, got, detail)


def events_of(db: Path) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return int(con.execute("SELECT count(*) FROM events").fetchone()[0])  # type: ignore[index]
    finally:
        con.close()


def districts(forces: list[str] | None) -> dict[str, tuple[str, str]]:
    """Every district (LAD 2023) of England and Wales with its name and force (as the
    simulator places them), in code order; only those of `forces` if given."""
    import pandas as pd

    sys.path.insert(0, str(HERE))
    import simulate_national as nat

    from cspkit.demo import demo_data_dir

    nation = nat.read_nation()
    lookup = pd.read_csv(demo_data_dir() / "geography" / "lookups" / nat.LOOKUP, dtype=str,
                         encoding="utf-8-sig", usecols=["LSOA21CD", "LAD23CD", "LAD23NM"])
    force_of = dict(zip(nation.lsoa_codes, nation.force, strict=True))
    lookup["force"] = lookup["LSOA21CD"].map(force_of)
    lookup = lookup.dropna().drop_duplicates("LAD23CD").sort_values("LAD23CD")
    return {code: (name, force) for code, name, force in
            zip(lookup["LAD23CD"], lookup["LAD23NM"], lookup["force"], strict=True)
            if not forces or force in forces}


def sample(codes: list[str], n: int) -> list[str]:
    """`n` codes spread evenly through the list (all of them if n is 0 or more than there
    are)."""
    if n <= 0 or n >= len(codes):
        return list(codes)
    return [codes[round(i * (len(codes) - 1) / (n - 1))] if n > 1 else codes[0]
            for i in range(n)]


def whole_forces(every: dict[str, tuple[str, str]], n: int) -> list[str]:
    """At least `n` districts (all of them if n is 0), as whole forces spread evenly through
    the forces' list: `assess --all` builds a force's districts one after another on the rows
    it holds for that force, so a sample of whole forces costs what the full run costs a
    district, where a district from each force would pay each force's start alone."""
    forces: dict[str, list[str]] = {}
    for code, (_, force) in every.items():
        forces.setdefault(force, []).append(code)
    names = sorted(forces)
    if n <= 0 or n >= len(every):
        return list(every)
    chosen: list[str] = []
    for step_ in range(len(names)):   # evenly spaced forces, more of them until n districts
        picked = sample(names, step_ + 1)
        chosen = [code for name in picked for code in forces[name]]
        if len(chosen) >= n:
            break
    return chosen


MEASURES = """
import json, sys, time
from cspkit.measures.catalogue import run_measure
from cspkit.measures.areas import forget
from cspkit.store import open_reader
from cspkit.store.tables import Warehouse, local_spark
engine, source, code, year = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
start = time.perf_counter()
if engine == "spark":
    wh = Warehouse.spark(source, local_spark("cspkit-bench", memory="4g"))
else:
    wh = Warehouse.duckdb(open_reader(source))
print(json.dumps({"measure": "start", "s": time.perf_counter() - start}), flush=True)
for name in ("counts", "change", "wards", "series", "concentration"):
    forget()   # each engine computes every fact itself
    start = time.perf_counter()
    frame = run_measure(wh, name, area=code, period=year)
    print(json.dumps({"measure": name, "rows": len(frame), "s": time.perf_counter() - start}),
          flush=True)
"""


def spark_step(args: argparse.Namespace, work: Path, national: Path) -> list[Step]:
    """`cspkit export parquet` of the national warehouse, then the same five measures of one
    district on the DuckDB warehouse and on local Spark over the export (each in its own
    process; Spark's start-up is timed apart)."""
    folder = work / "export"
    shutil.rmtree(folder, ignore_errors=True)
    say("cspkit export parquet of the national warehouse ...")
    got = measure(cspkit("export", "parquet", "--out", str(folder), "--db", str(national)),
                  work / "export.log")
    steps = [step("cspkit export parquet, national warehouse", got,
                  {"export_gib": sum(f.stat().st_size for f in folder.rglob("*")
                                     if f.is_file()) / 2**30})]
    for engine, source in (("duckdb", national), ("spark", folder)):
        say(f"five measures of {args.district} on {engine} ...")
        got = measure([sys.executable, "-c", MEASURES, engine, str(source), args.district,
                       str(args.year)], work / f"measures-{engine}.log")
        timings = [json.loads(line) for line in got.stdout.splitlines()
                   if line.startswith("{")]
        each = {t["measure"]: round(t["s"], 1) for t in timings}
        say(f"  {got.seconds:.1f} s in all: {each}")
        steps.append(step(f"counts, change, wards, series, concentration of {args.district} "
                          f"on {engine}" + (" (local, over the export)" if engine == "spark"
                                            else " (the warehouse)"), got, {"each_s": each}))
    return steps


PLACES = """
import json, sys, time
from cspkit.measures.periods import calendar_year
from cspkit.measures.areas import focus_on, select_area
from cspkit.measures.places import ranking_stability, vulnerable_places
from cspkit.store import open_reader
db, year, codes = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
con = open_reader(db)
for code in codes:
    start = time.perf_counter()
    focus_on(con, select_area(con, code), force=False)   # as `cspkit places` does
    frame = vulnerable_places(con, code, calendar_year(year))
    ranking_stability(con, code, [calendar_year(year - 1), calendar_year(year)])
    print(json.dumps({"code": code, "wards": len(frame), "s": time.perf_counter() - start}),
          flush=True)
"""


# --------------------------------------------------------------------------- the run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True,
                        help="folder of the dataset (built there if absent; not in the repo)")
    parser.add_argument("--work", type=Path, default=None,
                        help="folder for warehouses and logs (default: a temporary folder); "
                             "a reference template kept there is reused")
    parser.add_argument("--forces", default=None,
                        help="comma-separated force ids (default: all 43)")
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--last", default="2024-03", help="last month built, YYYY-MM")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--year", type=int, default=2023, help="year assessed and ranked")
    parser.add_argument("--district", default="E06000055",
                        help="the district assessed alone (default Bedford)")
    parser.add_argument("--pdf", action="store_true", help="the one assess also writes the PDF")
    parser.add_argument("--places-sample", type=int, default=0,
                        help="rank this many districts and extrapolate (default 0: all)")
    parser.add_argument("--all-sample", type=int, default=8,
                        help="at least this many districts (whole forces) in the assess --all "
                             "run, extrapolated to all "
                             "(0: every district)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    for step in ("bare", "ingest", "assess", "places", "all", "spark"):
        parser.add_argument(f"--{step}", action=argparse.BooleanOptionalAction, default=True,
                            help=f"run the {step} step (default yes)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if inside_repo(args.data) or (args.work and inside_repo(args.work)):
        sys.exit("--data and --work must be outside the repository")
    with tempfile.TemporaryDirectory(prefix="bench-national-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        run(args, work)


def run(args: argparse.Namespace, work: Path) -> None:
    forces = args.forces.split(",") if args.forces else None
    steps: list[Step] = []
    started = time.perf_counter()
    load_start = os.getloadavg()
    say(f"load average {load_start[0]:.2f} on {os.cpu_count()} CPUs")
    built = build(args, work / "build.log")
    if built:
        steps.append(built)
    files = csv_files(args.data)
    size = sum(p.stat().st_size for p in files)
    say(f"{len(files)} street files, {size / 2**30:.2f} GiB of CSV")
    if args.bare:
        steps += bare(args, work)
    template, reference = reference_warehouse(work)
    if reference:
        steps.append(reference)
    national = work / "national.duckdb"
    if args.ingest:
        steps.append(ingest(template, [str(args.data)], national, work / "ingest.log",
                            "cspkit ingest police, every file (the national warehouse)"))
    elif not national.exists():
        sys.exit(f"no warehouse {national}: run with --ingest")
    every = districts(forces)
    codes = list(every)
    if args.assess:
        name, force = every[args.district]
        own = work / f"{force}.duckdb"
        steps.append(ingest(template, [str(p) for p in files if f"-{force}-" in p.name], own,
                            work / "ingest-force.log", f"cspkit ingest police, {force} only"))
        pdf = [] if args.pdf else ["--no-pdf"]
        for label, db in ((f"national warehouse ({len(files)} files)", national),
                          (f"{force} only", own)):
            say(f"assess {name} on the {label} ...")
            out = work / "assess-one"
            shutil.rmtree(out, ignore_errors=True)
            got = measure(cspkit("assess", "--area", args.district, "--year", str(args.year),
                                 "--db", str(db), "--out", str(out), *pdf),
                          work / "assess-one.log")
            say(f"  {got.seconds:.1f} s, peak {got.peak_mib:,.0f} MiB")
            steps.append(step(f"cspkit assess {name} {'(PDF)' if args.pdf else '(no PDF)'}, "
                              f"{label}", got,
                              {"warehouse_gib": db.stat().st_size / 2**30}))
    if args.places:
        chosen = sample(codes, args.places_sample)
        say(f"places for {len(chosen)} of {len(codes)} districts, one process ...")
        got = measure([sys.executable, "-c", PLACES, str(national), str(args.year),
                       ",".join(chosen)], work / "places.log")
        each = [json.loads(line) for line in got.stdout.splitlines() if line.startswith("{")]
        times = sorted(e["s"] for e in each)
        total = sum(times)
        detail = {"districts": len(chosen), "of": len(codes), "work_s": total,
                  "median_s": times[len(times) // 2], "max_s": times[-1],
                  "slowest": max(each, key=lambda e: e["s"])["code"]}
        label = f"places (ward ranking + stability), {len(chosen)} districts in one process"
        steps.append(step(label, got, detail))
        if len(chosen) < len(codes):
            steps.append(Step(f"places, all {len(codes)} districts (EXTRAPOLATED from "
                              f"{len(chosen)})", got.seconds * len(codes) / len(chosen),
                              got.peak_mib))
        say(f"  {got.seconds:.1f} s, median {detail['median_s']:.2f} s a district, peak "
            f"{got.peak_mib:,.0f} MiB")
        one = measure(cspkit("places", "--area", args.district, "--year", str(args.year),
                             "--db", str(national), "--format", "csv"), work / "places-one.log")
        steps.append(step(f"cspkit places --area {every[args.district][0]} (whole command)",
                          one))
    if args.all:
        chosen = whole_forces(every, args.all_sample)
        areas = work / "areas.txt"
        areas.write_text("\n".join(chosen) + "\n")
        out = work / "assess-all"
        shutil.rmtree(out, ignore_errors=True)
        say(f"assess --all over {len(chosen)} of {len(codes)} districts, {args.jobs} jobs ...")
        got = measure(cspkit("assess", "--all", "--areas", str(areas), "--year",
                             str(args.year), "--jobs", str(args.jobs), "--db", str(national),
                             "--out", str(out)), work / "assess-all.log", check=False)
        pdfs = len(list(out.rglob("*.pdf")))
        failed = [line for line in got.stdout.splitlines() if line.startswith("failed:")]
        steps.append(step(f"cspkit assess --all --jobs {args.jobs}, {len(chosen)} districts "
                          "(HTML, PDF, CSV, XLSX)", got,
                          {"districts": len(chosen), "pdfs": pdfs, "failed": failed,
                           "per_district_s": got.seconds / len(chosen)}))
        say(f"  {got.seconds:.1f} s ({got.seconds / len(chosen):.1f} s a district), "
            f"{pdfs} PDFs, peak {got.peak_mib:,.0f} MiB")
        for line in failed:
            say(f"  {line[:200]}")
        if len(chosen) < len(codes):
            steps.append(Step(f"assess --all, all {len(codes)} districts (EXTRAPOLATED from "
                              f"{len(chosen)})", got.seconds * len(codes) / len(chosen),
                              got.peak_mib))
    if args.spark:
        steps += spark_step(args, work, national)
    report(args, steps, files, size, load_start, time.perf_counter() - started)


def report(args: argparse.Namespace, steps: list[Step], files: list[Path], size: int,
           load_start: tuple[float, float, float], elapsed: float) -> None:
    floor = next((s for s in steps if s.name.endswith("(the floor)")), None)
    national = next((s for s in steps if "(the national warehouse)" in s.name), None)
    print(f"\nSYNTHETIC data (simulate_national.py): {len(files)} street files, "
          f"{size / 2**30:.2f} GiB of CSV; {os.cpu_count()} CPUs; load average "
          f"{load_start[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; "
          f"{elapsed / 60:.1f} min in all")
    print(f"  {'step':<78} {'seconds':>9} {'CPU s':>7} {'peak MiB':>9}")
    for s in steps:
        extra = ""
        if "rows_per_s" in s.detail:
            extra = f"  {s.detail['rows']:,} rows, {s.detail['rows_per_s']:,.0f} rows/s"
        if "warehouse_gib" in s.detail and "rows" in s.detail:
            extra += f", warehouse {s.detail['warehouse_gib']:.2f} GiB"
        if "each_s" in s.detail:
            extra += "  " + ", ".join(f"{k} {v} s" for k, v in s.detail["each_s"].items())
        if "export_gib" in s.detail:
            extra += f"  {s.detail['export_gib']:.2f} GiB of Parquet"
        if s.detail.get("failed"):
            extra += f"  {len(s.detail['failed'])} district(s) failed (see the log)"
        if s is national and floor:
            extra += f", {s.seconds / floor.seconds:.2f}x the floor (goal 2x; < 120 s)"
            if s.cpu_seconds and floor.cpu_seconds:
                extra += f"; CPU {s.cpu_seconds / floor.cpu_seconds:.2f}x"
        cpu = f"{s.cpu_seconds:7.1f}" if s.cpu_seconds is not None else f"{'':7}"
        print(f"  {s.name:<78} {s.seconds:9.1f} {cpu} {s.peak_mib:9,.0f}{extra}")
    if args.json:
        args.json.write_text(json.dumps({
            "synthetic": True, "files": len(files), "csv_gib": size / 2**30,
            "cpus": os.cpu_count(), "load_average_start": load_start[0],
            "ratio_to_floor": (national.seconds / floor.seconds if national and floor
                               else None),
            "cpu_ratio_to_floor": (national.cpu_seconds / floor.cpu_seconds
                                   if national and floor and national.cpu_seconds
                                   and floor.cpu_seconds else None),
            "steps": [asdict(s) for s in steps]}, indent=2))


if __name__ == "__main__":
    main()
