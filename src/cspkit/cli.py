"""The `cspkit` command: thin wrappers that parse arguments, show progress and call the library.

Every command's --help ends with a worked example.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from cspkit.errors import CspkitError

console = Console(stderr=True)
out = Console()

app = typer.Typer(
    help="cspkit: from raw partner data to a Community Safety Partnership strategic assessment.\n\n"
         "Example:\n\n    cspkit demo --db demo.duckdb\n\n    cspkit status --db demo.duckdb",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
ingest_app = typer.Typer(
    help="Load data into the warehouse: police.uk files, reference data (geography, "
         "population, deprivation) and partner files.\n\nExample:\n\n"
         "    cspkit ingest police 2023-01/ archive.zip --db cspkit.duckdb",
    no_args_is_help=True, rich_markup_mode="markdown")
fetch_app = typer.Typer(
    help="Download public data.\n\nExample:\n\n"
         "    cspkit fetch police --force bedfordshire --from 2022-01 --to 2023-12 --dest data/",
    no_args_is_help=True, rich_markup_mode="markdown")
users_app = typer.Typer(
    help="Accounts of the web dashboard (`cspkit serve`): roles viewer, partner (also sees "
         "restricted partner sources) and admin (also loads data). Passwords are asked for, or "
         "read from stdin with --password-stdin; never given on the command line.\n\nExample:"
         "\n\n    cspkit users add alice --role partner --db cspkit.duckdb\n\n"
         "    cspkit users list --db cspkit.duckdb",
    no_args_is_help=True, rich_markup_mode="markdown")
app.add_typer(ingest_app, name="ingest")
app.add_typer(fetch_app, name="fetch")
app.add_typer(users_app, name="users")

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Warehouse file (default: $CSPKIT_DB, else ./cspkit.duckdb).",
                 show_default=False),
]


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def main() -> None:
    """Run the command; every failure ends as one line on stderr and a non-zero exit code.
    CSPKIT_DEBUG=1 shows the traceback of an unexpected one."""
    try:
        app()
    except CspkitError as exc:
        _fail(str(exc), 2)
    except KeyboardInterrupt:
        _fail("interrupted; an ingest in progress was rolled back", 130)
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        _fail(f"{where}{exc.strerror or exc}", 2)
    except Exception as exc:
        if os.environ.get("CSPKIT_DEBUG"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        _fail(f"unexpected {type(exc).__name__}: {first} (this is a bug: please report it; "
              "CSPKIT_DEBUG=1 shows the traceback)", 1)


def _fail(message: str, code: int) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    sys.exit(code)


def _progress(transfer: bool = False) -> Progress:
    columns = [TextColumn("[bold]{task.description}"), BarColumn()]
    columns += [DownloadColumn(), TransferSpeedColumn()] if transfer else [MofNCompleteColumn()]
    columns += [TimeElapsedColumn(), TextColumn("{task.fields[item]}", style="dim")]
    return Progress(*columns, console=console, transient=False)


@contextmanager
def _file_progress(description: str):  # type: ignore[no-untyped-def]
    """A bar counting files; yields the callback loaders call per file."""
    with _progress() as progress:
        task = progress.add_task(description, total=None, item="")

        def on_file(name: str, index: int, total: int) -> None:
            progress.update(task, completed=index - 1, total=total,
                            item=name.rsplit("/", 1)[-1][-60:])

        yield on_file
        progress.update(task, completed=progress.tasks[0].total or 0, item="done")


# --------------------------------------------------------------------------- ingest


@ingest_app.command("police")
def ingest_police_cmd(
    paths: Annotated[list[Path], typer.Argument(help="CSV files, month folders or zip archives.",
                                                show_default=False)],
    db: DbOption = None,
    replace: Annotated[bool, typer.Option(
        help="A file for a force and month already loaded replaces the earlier one "
             "(default: it is reported and not loaded).")] = False,
    skip_unknown: Annotated[bool, typer.Option(
        "--skip-unknown", help="Load the files recognised and report the others as skipped "
                               "(default: any unrecognised file stops the ingest before "
                               "anything is loaded, listing each one).")] = False,
) -> None:
    """Load data.police.uk street, outcomes and stop-and-search files.

    Files are recognised by their header; crimes and ASB load as events, outcomes and
    stop-and-search into their own tables. Every row is loaded or quarantined with its line and
    reason; the whole ingest is one transaction. A coverage audit is printed at the end.

    Example:

        cspkit ingest police downloads/2023-12.zip 2024-01/ --db cspkit.duckdb
    """
    from cspkit.ingest import PoliceSource

    con = _run_ingest(db, PoliceSource(), paths, "police files", replace=replace,
                      skip_unknown=skip_unknown)
    _print_coverage(con, brief=True)


@ingest_app.command("reference")
def ingest_reference_cmd(
    paths: Annotated[list[Path], typer.Argument(help="ONS / MHCLG files (CSV, XLSX, zip, "
                                                "GeoJSON, shapefile).", show_default=False)],
    db: DbOption = None,
    kind: Annotated[str | None, typer.Option(
        help="lookup | boundaries | population | imd | centroids | classification "
             "(default: recognised from each file's header).")] = None,
    edition: Annotated[str | None, typer.Option(
        help="Deprivation edition, e.g. 2019 or 2025 (default: from the file).")] = None,
    skip_unknown: Annotated[bool, typer.Option(
        "--skip-unknown", help="Load the files recognised and report the others as skipped "
                               "(default: any unrecognised file stops the ingest before "
                               "anything is loaded, listing each one).")] = False,
) -> None:
    """Load geography lookups, boundaries, population and deprivation files.

    Files are recognised by their header, as ONS and MHCLG publish them, so any district of
    England and Wales can be added from the national files.

    Example:

        cspkit ingest reference ward_lookup_2023.csv File_2_IoD2019.csv.gz --db cspkit.duckdb
    """
    from cspkit.ingest import ReferenceSource

    _run_ingest(db, ReferenceSource(kind, edition), paths, "reference files",
                skip_unknown=skip_unknown)


@ingest_app.command("partner")
def ingest_partner_cmd(
    paths: Annotated[list[Path], typer.Argument(help="Partner CSV or Excel files.",
                                                show_default=False)],
    schema: Annotated[str, typer.Option(
        help="A shipped schema (fire, ambulance, istv, treatment, safe-and-well, "
             "police-markers, domestic-abuse) or the path of your own YAML schema.",
        show_default=False)],
    db: DbOption = None,
) -> None:
    """Load a partner's file (fire, ambulance, ED assaults, treatment, ...) through a declared
    schema that maps its columns and codes to the warehouse. Every row is loaded or
    quarantined with its line and reason; the ingest is one transaction.

    Example:

        cspkit ingest partner fire_incidents.csv --schema fire --db cspkit.duckdb
    """
    from cspkit.ingest import PartnerSource

    _run_ingest(db, PartnerSource(schema), paths, "partner files")


def _run_ingest(db, source, paths: list[Path], label: str,  # type: ignore[no-untyped-def]
                replace: bool = False, skip_unknown: bool = False):
    """Every ingest command: one pipeline, one transaction, one printer."""
    from cspkit.ingest import run_ingest
    from cspkit.store import open_reader, writer
    from cspkit.store.ingest_log import new_run_id

    with writer(db) as con, _file_progress(label) as on_file:
        report = run_ingest(con, source, [str(p) for p in paths], run_id=new_run_id(),
                            replace=replace, skip_unknown=skip_unknown, on_file=on_file)
    _print_report(report)
    return open_reader(db)  # the audit reads what was committed


def _print_report(report) -> None:  # type: ignore[no-untyped-def]
    """What every ingest prints: a row per file logged, what was skipped and why, and the
    totals that must add up."""
    if report.records:
        table = Table("file", "kind", "status", "rows in", "loaded", "quarantined")
        for r in report.records:
            table.add_row(r.file.rsplit("/", 1)[-1][-70:], r.kind, r.status, f"{r.rows_in:,}",
                          f"{r.rows_loaded:,}", f"{r.rows_quarantined:,}")
        out.print(table)
    for record in report.unchanged:
        console.print(f"[dim]unchanged, already loaded ({record.note}): {record.file}[/]",
                      highlight=False)
    for record in report.skipped:
        why = "recognised, not loaded" if record.kind == "not-loaded" else "not recognised"
        console.print(f"[yellow]skipped, {why}:[/] {record.file}: {record.note}",
                      highlight=False)
    for record in report.empty:
        console.print(f"[yellow]empty:[/] {record.file}: {record.note} (recorded, not "
                      "counted as coverage)", highlight=False)
    for conflict in report.conflicts:
        console.print(f"[yellow]duplicate coverage:[/] {conflict}", highlight=False)
    if report.control_characters:
        console.print(f"control characters removed from {report.control_characters:,} "
                      "row(s)", highlight=False)
    out.print(f"rows in {report.rows_in:,} = loaded {report.rows_loaded:,} + quarantined "
              f"{report.rows_quarantined:,}  ({len(report.records)} files logged, "
              f"{len(report.unchanged)} unchanged)")


# --------------------------------------------------------------------------- status


@app.command("status")
def status_cmd(
    db: DbOption = None,
    format: Annotated[OutputFormat, typer.Option("--format", help="table or json.")
                      ] = OutputFormat.table,
) -> None:
    """Show what the warehouse holds: the ingest log and the police coverage audit
    (force x month present or missing, rows, unlocated share, duplicates skipped).

    Example:

        cspkit status --db cspkit.duckdb --format json > coverage.json
    """
    from cspkit.store import open_reader

    con = open_reader(db)
    if format is OutputFormat.json:
        from cspkit.store.coverage import coverage

        # Plain stdout: rich would wrap long lines, and this output is read by programs.
        sys.stdout.write(json.dumps(coverage(con).as_json(), indent=2) + "\n")
        return
    _print_coverage(con, brief=False)


def _print_coverage(con, brief: bool) -> None:  # type: ignore[no-untyped-def]
    from cspkit.store.coverage import coverage

    cov = coverage(con)
    totals = cov.totals()
    if not brief:
        downloaded = any(i["source_url"] for i in cov.ingests)
        table = Table("id", "kind", "status", "file", "rows in", "loaded", "quarantined",
                      *(["downloaded from"] if downloaded else []), title="Ingests")
        for i in cov.ingests:
            table.add_row(str(i["ingest_id"]), i["kind"], i["status"],
                          str(i["file"]).rsplit("/", 1)[-1], f"{i['rows_in']:,}",
                          f"{i['rows_loaded']:,}", f"{i['rows_quarantined']:,}",
                          *([i["source_url"] or "-"] if downloaded else []))
        out.print(table)
    table = Table("force", "month", "rows", "unlocated", "unlocated %", "duplicates skipped",
                  "LSOA vintage", title="Police coverage (street files)")
    for fm in cov.force_months:
        table.add_row(fm.force, fm.month, f"{fm.rows:,}", f"{fm.unlocated:,}",
                      f"{100 * fm.unlocated_share:.1f}", f"{fm.duplicates_skipped:,}",
                      fm.lsoa_vintage or "-")
    out.print(table)
    if cov.missing_months:
        by_force: dict[str, list[str]] = {}
        for m in cov.missing_months:
            by_force.setdefault(m["force"], []).append(m["month"])
        for force, months in by_force.items():
            out.print(f"[yellow]missing[/] {force}: {len(months)} month(s) between the first and "
                      f"last loaded: {', '.join(months)}")
    out.print(f"{totals['months_present']} force-months, {totals['rows']:,} events, "
              f"{100 * totals['unlocated_share']:.1f}% unlocated, "
              f"{totals['duplicates_skipped']:,} duplicates skipped, "
              f"{totals['months_missing']} months missing")


# --------------------------------------------------------------------------- fetch


@fetch_app.command("police")
def fetch_police_cmd(
    force: Annotated[str, typer.Option(help="data.police.uk force id, e.g. bedfordshire.",
                                       show_default=False)],
    start: Annotated[str, typer.Option("--from", help="First month, YYYY-MM.",
                                       show_default=False)],
    end: Annotated[str, typer.Option("--to", help="Last month, YYYY-MM.", show_default=False)],
    dest: Annotated[Path, typer.Option(help="Folder to write YYYY-MM/ folders into.")
                    ] = Path("police-data"),
    kinds: Annotated[str, typer.Option(help="Comma-separated: street, outcomes, "
                                            "stop-and-search.")] = "street",
    base_url: Annotated[str, typer.Option(envvar="CSPKIT_POLICE_URL",
                                          help="data.police.uk address (for mirrors/tests).")
                        ] = "https://data.police.uk",
) -> None:
    """Download a force's street-level files from the data.police.uk monthly archive.

    Resumable (re-run the same command after an interruption) and verified (size and every
    extracted file's checksum). Files land as DEST/YYYY-MM/YYYY-MM-FORCE-street.csv, ready for
    `cspkit ingest police DEST`.

    Example:

        cspkit fetch police --force bedfordshire --from 2022-01 --to 2023-12 --dest data/
    """
    from cspkit.cli_checks import output_folder
    from cspkit.sources.police_fetch import fetch_police

    output_folder(dest, "--dest")
    with _progress(transfer=True) as progress:
        tasks: dict[str, int] = {}

        def on_progress(label: str, done: int, total: int | None) -> None:
            if label not in tasks:
                tasks[label] = progress.add_task(label, total=total, item="")
            progress.update(tasks[label], completed=done, total=total)

        result = fetch_police(force, start, end, dest,
                              kinds=tuple(k.strip() for k in kinds.split(",") if k.strip()),
                              base_url=base_url, progress=on_progress)
    out.print(f"{len(result.files)} files in {dest}")
    for missing in result.missing:
        out.print(f"[yellow]not in the archive:[/] {missing}")


# --------------------------------------------------------------------------- measures


class TableFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def _measure_help() -> str:
    from cspkit.measures.measure_names import DESCRIPTIONS

    lines = "\n".join(f"- **{name}**: {text}" for name, text in DESCRIPTIONS.items())
    return ("Compute a measure for an area and print it as a table, CSV or JSON.\n\n"
            f"Measures:\n\n{lines}\n\n"
            "Periods: 2023 (calendar year), 2023/24 (financial year), 2023-01..2023-06 (months),"
            " rolling:2024-03 (12 months to); without --period, the latest full calendar "
            "year in the data; without --baseline, the same months a year earlier. A change is "
            "computed on the months both periods hold (named in the period columns), tested on "
            "the monthly counts, and its rows decided together (Benjamini-Hochberg, q_value). "
            "Counts are exact (the analyst's view); published outputs apply the disclosure "
            "policy.\n\n"
            "Example:\n\n    cspkit measure change --area Bedford --period 2023 "
            "--baseline 2022 --by category --format csv\n\n"
            "    cspkit measure hotspots --area Bedford --period 2023 "
            "--category \"Anti-social behaviour\" --format csv")


@app.command("measure", help=_measure_help())
def measure_cmd(
    name: Annotated[str, typer.Argument(help="Measure name (see above).", show_default=False)],
    area: Annotated[str, typer.Option(help="Area name or code, e.g. Bedford or E07000009 "
                                           "(with --lsoas: a label for the custom area).",
                                      show_default=False)],
    db: DbOption = None,
    period: Annotated[str | None, typer.Option(
        help="Period, e.g. 2023 or 2023/24 (default: the latest full year in the data).")
    ] = None,
    baseline: Annotated[str | None, typer.Option(
        help="Baseline period (default: the same months a year earlier).")] = None,
    by: Annotated[str, typer.Option(help="category | subcategory | all.")] = "category",
    category: Annotated[str | None, typer.Option(
        help='One category, e.g. "Anti-social behaviour".')] = None,
    edition: Annotated[str | None, typer.Option(help="Deprivation edition: 2019 or 2025.")
                       ] = None,
    lsoas: Annotated[str | None, typer.Option(
        help="Comma-separated LSOA codes forming a custom area.")] = None,
    allow_partial: Annotated[bool, typer.Option(
        help="Compare a partial period with a full one (labelled in comparison_note).")
    ] = False,
    format: Annotated[TableFormat, typer.Option("--format", help="table, csv or json.")
                      ] = TableFormat.table,
    engine: Annotated[str | None, typer.Option(
        help="duckdb (the warehouse) or spark (a Parquet export, --data); default: the "
             "CSPKIT_ENGINE setting, else duckdb. On spark: counts, change, wards, lsoas, "
             "series, seasonality, siblings, concentration, deprivation, deprivation-events, "
             "harm.",
        show_default=False)] = None,
    data: Annotated[str | None, typer.Option(
        help="For --engine spark: the folder `cspkit export parquet` wrote (a local path or "
             "a URI the Spark session reads, e.g. hdfs:// or s3a://); default: the "
             "CSPKIT_SPARK_DATA setting.", show_default=False)] = None,
) -> None:
    from cspkit.measures.catalogue import PORTABLE, run_measure
    from cspkit.store import open_reader
    from cspkit.store.tables import EngineError, Warehouse, WarehouseLike, selected_engine

    con: WarehouseLike
    if selected_engine(engine) == "spark":
        if name not in PORTABLE:
            raise EngineError(f"measure {name!r} needs the DuckDB warehouse; on spark these "
                              f"run: {', '.join(PORTABLE)}")
        folder = data or os.environ.get("CSPKIT_SPARK_DATA")
        if not folder:
            raise EngineError("--engine spark needs --data FOLDER (or CSPKIT_SPARK_DATA): "
                              "the folder `cspkit export parquet --out FOLDER` wrote")
        con = Warehouse.spark(folder)
    else:
        con = open_reader(db)
        if not lsoas:
            _announce_successor(con, area)
    try:
        frame = run_measure(con, name, area=area, period=period, baseline=baseline, by=by,
                            category=category, edition=edition,
                            lsoas=lsoas.split(",") if lsoas else None,
                            allow_partial=allow_partial)
    except ValueError as exc:
        raise CspkitError(str(exc)) from exc
    _write_frame(frame, format)


def _write_frame(frame, format: TableFormat) -> None:  # type: ignore[no-untyped-def]
    if format is TableFormat.csv:
        from cspkit.products.cell_safety import write_csv

        # Opened in a spreadsheet: text that would run as a formula gets a leading quote.
        sys.stdout.write(write_csv(frame) or "")
    elif format is TableFormat.json:
        sys.stdout.write(frame.to_json(orient="records", date_format="iso", indent=2) + "\n")
    else:
        table = Table(*[str(c) for c in frame.columns])
        for row in frame.itertuples(index=False):
            table.add_row(*["" if v is None or (isinstance(v, float) and v != v)
                            else (f"{v:,.3f}".rstrip("0").rstrip(".") if isinstance(v, float)
                                  else str(v)) for v in row])
        out.print(table)


# --------------------------------------------------------------------------- assessment


@app.command("assess")
def assess_cmd(
    area: Annotated[str | None, typer.Option(help="District (or other area) name or code.",
                                             show_default=False)] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write the document into.")
                       ] = Path("assessment"),
    db: DbOption = None,
    year: Annotated[int | None, typer.Option(
        help="Calendar year, e.g. 2023 (default: the latest full year in the data).")] = None,
    financial_year: Annotated[str | None, typer.Option(
        help="Financial year instead, e.g. 2023/24.")] = None,
    period: Annotated[str | None, typer.Option(
        help="Any period instead, e.g. rolling:2024-03 or 2023-01..2023-06.")] = None,
    compare: Annotated[str | None, typer.Option(
        help="Period to compare with (default: the period before).")] = None,
    config: Annotated[Path | None, typer.Option(
        help="YAML file of local content: priorities, recommendations, commentary, "
             "sections, comparators.")] = None,
    pdf: Annotated[bool, typer.Option(help="Also write the PDF.")] = True,
    every: Annotated[bool, typer.Option(
        "--all", help="Every district of --force, --county or --region (or of --areas), each "
                      "into OUT/<district code>/, with OUT/index.html and index.csv.")] = False,
    force: Annotated[str | None, typer.Option(help="With --all: a police force area.",
                                              show_default=False)] = None,
    county: Annotated[str | None, typer.Option(help="With --all: a county.",
                                               show_default=False)] = None,
    region: Annotated[str | None, typer.Option(help="With --all: a region.",
                                               show_default=False)] = None,
    areas: Annotated[Path | None, typer.Option(
        help="With --all: a text or CSV file of district names or codes, one a line.",
        show_default=False)] = None,
    jobs: Annotated[int | None, typer.Option(
        help="With --all: districts built at once (default: the number of CPUs).",
        show_default=False)] = None,
) -> None:
    """Write the strategic assessment for an area: one self-contained HTML file, a PDF of the
    same content, every table as CSV and all of them in one XLSX workbook. With --all, the
    assessment of every district of a force, county or region, on every core, and an index.

    Example:

        cspkit assess --area Bedford --year 2023 --out reports/ --db demo.duckdb

        cspkit assess --all --force bedfordshire --year 2023 --out reports/ --db demo.duckdb
    """
    from cspkit.cli_checks import output_folder
    from cspkit.measures.periods import parse_period
    from cspkit.products.report.assessment import build_assessment
    from cspkit.products.report.config import load_local_content
    from cspkit.products.report.render import write_document
    from cspkit.store import open_reader

    chosen = [p for p in (str(year) if year else None, financial_year, period) if p]
    if len(chosen) > 1:
        raise CspkitError("give at most one of --year, --financial-year or --period")
    scopes = [x for x in (force, county, region, areas) if x is not None]
    if every:
        if area is not None or len(scopes) != 1:
            raise CspkitError("--all takes exactly one of --force, --county, --region or "
                              "--areas (and no --area)")
        output_folder(out_dir)
        _assess_all(db, out_dir, force=force, county=county, region=region, areas=areas,
                    period=chosen[0] if chosen else None, compare=compare, config=config,
                    pdf=pdf, jobs=jobs)
        return
    if area is None or scopes or jobs is not None:
        raise CspkitError("give --area, or --all with one of --force, --county, --region or "
                          "--areas")
    output_folder(out_dir)
    local = load_local_content(config)
    con = open_reader(db)
    _announce_successor(con, area)
    try:
        # Default: the latest full calendar year the area's data holds.
        the_period = parse_period(chosen[0] if chosen else str(_default_year(con, area)))
        baseline = parse_period(compare or local.compare) if (compare or local.compare) else None
        with console.status("building the assessment"):
            doc = build_assessment(con, area, the_period, baseline, local=local)
        with console.status("writing HTML, PDF and tables"):
            stem = f"strategic-assessment-{doc.area_code}-{the_period.label.replace('/', '-')}"
            paths = write_document(doc, out_dir, stem, pdf=pdf)
    except ValueError as exc:
        raise CspkitError(str(exc)) from exc
    tables = [p for k, p in paths.items() if k.startswith("csv:")]
    console.print(f"{len(doc.tables())} tables, {len(doc.figures())} figures; "
                  f"{len(tables)} CSV files and {paths['xlsx'].name} in {out_dir}")
    for kind in ("html", "pdf", "xlsx"):
        if kind in paths:
            sys.stdout.write(f"{kind}: {paths[kind]}\n")


def _assess_all(db: Path | None, out_dir: Path, *, force: str | None, county: str | None,
                region: str | None, areas: Path | None, period: str | None,
                compare: str | None, config: Path | None, pdf: bool,
                jobs: int | None) -> None:
    """`assess --all`: the districts listed, built on every core under one progress bar, the
    index written, and every failure summarised; exit code 1 if any district failed."""
    from cspkit.cli_checks import input_file
    from cspkit.products.report import batch
    from cspkit.products.report.config import load_local_content
    from cspkit.store import open_reader

    if jobs is not None and jobs < 1:
        raise CspkitError(f"--jobs must be at least 1, not {jobs}")
    load_local_content(config)   # a bad config is one error now, not one per district
    if areas is not None:
        input_file(areas, "--areas", "a text or CSV file of district names or codes")
        queries = batch.read_areas_file(areas)
        scope = areas.name
    con = open_reader(db)
    try:
        if areas is None:
            queries = batch.districts(con, force=force, county=county, region=region)
            scope = str(force or county or region)
        order = batch.by_force(con, queries)   # a force's districts one after another
    finally:
        con.close()
    job_list = [batch.Job(q, str(out_dir), period=period, compare=compare, pdf=pdf)
                for q in queries]
    with _progress() as progress:
        task = progress.add_task("districts", total=len(job_list), item="")

        def on_done(outcome: batch.Outcome) -> None:
            mark = "" if outcome.ok else " (failed)"
            progress.update(task, advance=1, item=f"{outcome.label}{mark}")

        outcomes = batch.assess_all(job_list, db=str(db) if db else None,
                                    config=str(config) if config else None, workers=jobs,
                                    on_done=on_done, order=order)
    index = batch.write_index(outcomes, out_dir,
                              title=f"Strategic assessments: {scope}"
                                    + (f", {period}" if period else ""))
    failed = [o for o in outcomes if not o.ok]
    console.print(f"{len(outcomes) - len(failed)} of {len(outcomes)} districts written in "
                  f"{out_dir}", highlight=False)
    for o in failed:
        console.print(f"[bold red]failed:[/] {o.label}{f' ({o.code})' if o.code else ''}: "
                      f"{o.reason}", highlight=False, soft_wrap=True)
    sys.stdout.write(f"index: {index['html']}\nindex csv: {index['csv']}\n")
    if failed:
        raise typer.Exit(code=1)


# --------------------------------------------------------------------------- places


@app.command("places")
def places_cmd(
    area: Annotated[str, typer.Option(help="District name or code.", show_default=False)],
    db: DbOption = None,
    level: Annotated[str, typer.Option(help="ward or lsoa.")] = "ward",
    year: Annotated[int | None, typer.Option(
        help="Calendar year (default: the latest full year in the data).")] = None,
    format: Annotated[TableFormat | None, typer.Option(
        "--format", help="table, csv or json (default: table, or nothing with --out).")
    ] = None,
    stability: Annotated[bool, typer.Option(
        help="Also compare with the year before: rank correlation and places entering or "
             "leaving the top ten (printed to stderr).")] = True,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Write the ranking document (HTML, PDF) with its map, its tables, and "
                      "the full analyst ranking (CSV) into this folder.")] = None,
    pdf: Annotated[bool, typer.Option(help="With --out, also write the PDF.")] = True,
    analyst: Annotated[bool, typer.Option(
        help="Print exact counts, 1-4 included, for analysts. Not for publication.")] = False,
) -> None:
    """Rank every ward (or LSOA) of a district by an explainable multi-issue index: per-issue
    rates, flags where a place is in the district's top 20%, and a weighted composite score
    (ranks exponentially transformed, as the IMD does), with the issues that drive it.

    The table, CSV or JSON printed is published figures: counts of 1-4, and the rates and
    flags that would reveal one, are hidden. --analyst prints the exact ranking.

    Example:

        cspkit places --area Bedford --level ward --year 2023 --format csv
    """
    from cspkit.cli_checks import output_folder
    from cspkit.measures.areas import focus_on, select_area
    from cspkit.measures.periods import calendar_year
    from cspkit.measures.places import ranking_stability, vulnerable_places
    from cspkit.products.places_report import published_ranking, write_places
    from cspkit.store import open_reader

    if out_dir is not None:
        output_folder(out_dir)
    if level not in ("ward", "lsoa"):
        raise CspkitError(f"--level must be ward or lsoa, not {level!r}")
    con = open_reader(db)
    _announce_successor(con, area)
    try:
        focus_on(con, select_area(con, area))   # its questions read its force's rows only
        year = year or _default_year(con, area)
        if out_dir is not None:
            paths = write_places(con, area, calendar_year(year), out_dir, level=level, pdf=pdf)
            for kind, path in paths.items():
                console.print(f"{kind}: {path}")
            if format is None:
                return
        frame = vulnerable_places(con, area, calendar_year(year), level=level)
        if stability:
            result = ranking_stability(con, area, [calendar_year(year - 1),
                                                   calendar_year(year)], level=level)
            for pair in result["pairs"]:
                console.print(f"ranking {pair['from']} -> {pair['to']}: Spearman "
                              f"{pair['spearman']:.2f}; entered the top {result['top_n']}: "
                              f"{', '.join(pair['entered']) or 'none'}; left: "
                              f"{', '.join(pair['left']) or 'none'}")
        if not analyst:
            frame = published_ranking(frame)
    except ValueError as exc:
        raise CspkitError(str(exc)) from exc
    if frame.attrs.get("synthetic"):   # the ranking rests on synthetic samples: every row says so
        from cspkit.products.report.labels import SYNTHETIC_COLUMN, SYNTHETIC_VALUE

        console.print(f"SYNTHETIC DATA: the index uses synthetic sample data for "
                      f"{', '.join(frame.attrs['synthetic'])}")
        frame = frame.assign(**{SYNTHETIC_COLUMN: SYNTHETIC_VALUE})
    _write_frame(frame, format or TableFormat.table)


@app.command("profile")
def profile_cmd(
    name: Annotated[str, typer.Option(help="A name for the place.", show_default=False)],
    db: DbOption = None,
    lsoas: Annotated[str | None, typer.Option(help="Comma-separated LSOA codes.")] = None,
    wards: Annotated[str | None, typer.Option(help="Comma-separated ward names or codes.")
                     ] = None,
    polygon: Annotated[Path | None, typer.Option(
        help="GeoJSON polygon (WGS84, or British National Grid); see --rule.")] = None,
    rule: Annotated[str, typer.Option(
        help="Which LSOAs a polygon takes: population-weighted-centroid (centroid inside) "
             "or area-share (at least --threshold of the LSOA's area inside).")
    ] = "population-weighted-centroid",
    threshold: Annotated[float, typer.Option(
        help="Share of an LSOA's area that must be inside, for --rule area-share.")] = 0.5,
    district: Annotated[str | None, typer.Option(
        help="The district to compare with, and to look ward names up in (default: the one "
             "holding most of the area).")] = None,
    year: Annotated[int | None, typer.Option(
        help="The latest year profiled (default: the latest full year in the data).")
    ] = None,
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Write the place briefing (HTML, PDF, JSON, tables) into this folder.")
    ] = None,
    pdf: Annotated[bool, typer.Option(help="With --out, also write the PDF.")] = True,
    format: Annotated[str | None, typer.Option(
        "--format", help="json: print the profile as JSON (the default without --out).")
    ] = None,
    analyst: Annotated[bool, typer.Option(
        help="Exact counts, 1-4 included, for analysts: printed JSON is the exact profile and "
             "--out also writes NAME-analyst.json. Not for publication.")] = False,
) -> None:
    """Profile any bespoke place (a set of LSOAs or wards, or a drawn polygon): population,
    every issue over three years with trend and verdicts, comparison with the district, the
    force and wards of the same size, deprivation, ASB seasonality and a map.

    The JSON (printed, or beside the briefing) is published figures: counts of 1-4 and
    anything that would reveal one are hidden. --analyst gives the exact figures.

    Example:

        cspkit profile --name Kempston --wards "Kempston West,Kempston North" --out brief/
    """
    from cspkit.cli_checks import input_file, output_folder
    from cspkit.measures.areas import custom_area, select_area
    from cspkit.measures.custom_areas import RULES, area_from_polygon, area_from_wards
    from cspkit.products.profile import profile, published_profile, write_profile
    from cspkit.store import open_reader

    chosen = [x for x in (lsoas, wards, polygon) if x]
    if len(chosen) != 1:
        raise CspkitError("give exactly one of --lsoas, --wards or --polygon")
    if polygon is not None:
        input_file(polygon, "--polygon", "a GeoJSON file holding a polygon")
    if out_dir is not None:
        output_folder(out_dir)
    if rule not in RULES:
        raise CspkitError(f"--rule must be one of {', '.join(RULES)}, not {rule!r}")
    if format not in (None, "json"):
        raise CspkitError(f"--format must be json, not {format!r}")
    con = open_reader(db)
    info: dict[str, object] | None = None
    try:
        scope = select_area(con, district) if district else None
        if lsoas:
            area = custom_area(con, name, lsoas.split(","))
        elif wards:
            names = [w.strip() for w in wards.split(",") if w.strip()]
            area = area_from_wards(con, name, names, district=scope)
            count = f"{len(area.lsoas)} LSOA{'s' if len(area.lsoas) != 1 else ''}"
            info = {"rule": f"the {count} of the ward{'s' if len(names) > 1 else ''} "
                            f"{', '.join(names)}"}
        else:
            assert polygon is not None
            area, info = area_from_polygon(con, name, polygon, rule, threshold=threshold)
        data = None
        if year is None:
            from cspkit.measures.areas import latest_full_year

            year = latest_full_year(con, area)
        if out_dir is not None:
            kinds = ({"html", "json"} | ({"pdf"} if pdf else set())
                     | ({"analyst-json"} if analyst else set()))
            paths, data = write_profile(con, area, year, out_dir, fmt=kinds, info=info,
                                        district=scope)
            for kind, path in paths.items():
                console.print(f"{kind}: {path}")
        if format == "json" or out_dir is None:
            if data is None:
                data = profile(con, area, year, district=scope, info=info)
            shown = data if analyst else published_profile(data)
            sys.stdout.write(json.dumps(shown, indent=2, default=str) + "\n")
    except ValueError as exc:
        raise CspkitError(str(exc)) from exc


# --------------------------------------------------------------------------- areas & demo


@app.command("area")
def area_cmd(
    query: Annotated[str, typer.Argument(help="A name or GSS code.", show_default=False)],
    db: DbOption = None,
) -> None:
    """Look up an area by name or code (case-insensitive), with its parents and population.

    Example:

        cspkit area "east cambridgeshire" --db cspkit.duckdb
    """
    from cspkit.store import open_reader
    from cspkit.store.areas import area_parents, district_history, resolve_area

    con = open_reader(db)
    area = resolve_area(con, query, follow_successors=False)
    out.print(f"{area.name} ({area.level} {area.code})")
    for line in district_history(con, area):
        out.print(f"  {line}")
    for code, level, name in area_parents(con, area.code):
        out.print(f"  in {level} {name} ({code})")


def _announce_successor(con, area: str) -> None:  # type: ignore[no-untyped-def]
    """Say so when the area named is a former district and its successor is used instead."""
    from cspkit.errors import AreaNotFound
    from cspkit.store.areas import resolve_area

    try:
        found = resolve_area(con, area)
    except AreaNotFound:
        return  # the command itself reports it
    if found.notice:
        console.print(found.notice)


def _default_year(con, area: str) -> int:  # type: ignore[no-untyped-def]
    """The latest full calendar year the area's police data holds (every command's default)."""
    from cspkit.measures.areas import latest_full_year, select_area

    return latest_full_year(con, select_area(con, area))


@app.command("demo")
def demo_cmd(
    db: DbOption = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the demo assessment.")
                       ] = Path("demo-assessment"),
    document: Annotated[bool, typer.Option(
        help="End by writing the strategic assessment for Bedford's latest full year.")
    ] = True,
) -> None:
    """Build a warehouse from the demo data shipped with cspkit (real police.uk data for
    Bedfordshire, 36 months, and Cambridgeshire, 8 months, with their geography, population
    and deprivation), print a summary, and write the strategic assessment for Bedford's latest
    full calendar year in the data (2023).

    Example:

        cspkit demo --db demo.duckdb --out demo-assessment/
    """
    from cspkit.cli_checks import output_folder
    from cspkit.demo import build_demo, summary
    from cspkit.store import open_reader, writer

    if document:
        output_folder(out_dir)  # now, not after the minute the build takes
    with writer(db) as con, _progress() as progress:
        task = progress.add_task("demo data", total=None, item="")

        def on_file(name: str, index: int, total: int) -> None:
            progress.update(task, completed=index - 1, total=total,
                            item=name.rsplit("/", 1)[-1][-60:])

        build_demo(con, on_file=on_file)
        progress.update(task, completed=progress.tasks[0].total or 0, item="done")
    con = open_reader(db)  # what was committed
    for line in summary(con):
        out.print(line)
    _print_coverage(con, brief=True)
    if not document:
        return
    from cspkit.measures.periods import parse_period
    from cspkit.products.report.assessment import build_assessment
    from cspkit.products.report.render import write_document

    year = _default_year(con, "Bedford")
    with console.status(f"writing the strategic assessment for Bedford, {year}"):
        doc = build_assessment(con, "Bedford", parse_period(str(year)))
        paths = write_document(doc, out_dir, f"strategic-assessment-E06000055-{year}")
    out.print(f"strategic assessment (HTML): {paths['html'].resolve()}")
    out.print(f"strategic assessment (PDF):  {paths['pdf'].resolve()}")
    out.print(f"tables: {len(doc.tables())} CSV files and {paths['xlsx'].name} in "
              f"{out_dir.resolve()}")



# --------------------------------------------------------------------------- setup


@app.command("setup")
def setup_cmd(
    area: Annotated[list[str], typer.Option(
        "--area", help="A district, county, police force or region, by name or GSS code "
                       "(repeat for several).", show_default=False)],
    start: Annotated[str | None, typer.Option(
        "--from", help="First month of police data, YYYY-MM (default: 36 months to --to).",
        show_default=False)] = None,
    end: Annotated[str | None, typer.Option(
        "--to", help="Last month, YYYY-MM (default: the newest data.police.uk archive).",
        show_default=False)] = None,
    db: DbOption = None,
    cache: Annotated[Path | None, typer.Option(
        "--cache", help="Folder for downloads (default: DB-downloads/ beside the warehouse).",
        show_default=False)] = None,
    offline: Annotated[Path | None, typer.Option(
        "--offline", help="Take the files from this folder instead of downloading them "
                          "(same names as the cache: police/YYYY-MM.zip, "
                          "boundaries/CODE_lsoa21.geojson, "
                          "boundaries/CODE_wardsYYYY.geojson, population/FILE; CODE is the "
                          "district's GSS code).",
        show_default=False)] = None,
) -> None:
    """Build a ready warehouse for any district of England and Wales from nothing: load the
    national reference tables shipped with cspkit, then download, cache and load the area's
    police.uk data (its force's monthly archive), its LSOA and ward boundaries (ONS Open
    Geography Portal) and the ONS LSOA population estimates. Downloads are checked (sha256),
    resumed after a break and reused on the next run; the ingest log records each file's URL
    and checksum (`cspkit status`). A failed setup leaves the warehouse as it was.

    Example:

        cspkit setup --area "Newcastle upon Tyne" --from 2022-01 --to 2024-12 --db newcastle.duckdb
    """
    from cspkit.setup import Reporter, default_cache, run_setup
    from cspkit.store import open_reader, resolve_db_path, writer

    path = resolve_db_path(db)
    cache_dir = cache or default_cache(path)
    with writer(db) as con, _progress() as progress:
        counted = progress.add_task("setup", total=None, item="")
        transfer: dict[str, int] = {}

        def finish() -> None:
            task = next(t for t in progress.tasks if t.id == counted)
            if task.total:
                progress.update(counted, completed=task.total, item="done")

        class Bars(Reporter):
            def phase(self, text: str, total: int | None = None) -> None:
                finish()
                progress.update(counted, description=text, completed=0, total=total,
                                item="")

            def advance(self, item: str) -> None:
                progress.advance(counted)
                progress.update(counted, item=item[-60:])

            def transfer(self, label: str, done: int, total: int | None) -> None:
                if label not in transfer:
                    transfer[label] = progress.add_task(label[-40:], total=total, item="")
                progress.update(transfer[label], completed=done, total=total)

            def file(self, name: str, index: int, total: int) -> None:
                progress.update(counted, completed=index - 1, total=total,
                                item=name.rsplit("/", 1)[-1][-60:])

            def got(self, item: str, fetched: bool) -> None:
                progress.console.print(f"{'fetched' if fetched else '[dim]reused[/]'}  {item}",
                                       highlight=False)

        result = run_setup(con, area, start=start, end=end, cache=cache_dir, offline=offline,
                           reporter=Bars())
        finish()
    out.print(f"fetched {len(result.fetched)} file(s), reused {len(result.reused)} "
              f"(cache: {cache_dir})")
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    table = Table("district", "force", "LSOAs (2021)", "with boundary", "wards",
                  "with boundary", "police months", title=f"{result.start} to {result.end}")
    for d in result.districts:
        s = result.summary.get(d.code, {})
        table.add_row(f"{d.name} ({d.code})", d.force, str(s.get("lsoas", 0)),
                      str(s.get("lsoas_with_boundary", 0)), str(s.get("wards", 0)),
                      str(s.get("wards_with_boundary", 0)), str(s.get("police_months", 0)))
    out.print(table)
    con = open_reader(db)
    _print_coverage(con, brief=True)
    first = result.districts[0].name if result.districts else "AREA"
    out.print(f'next: cspkit assess --area "{first}" --db {path}')


# --------------------------------------------------------------------------- doctor


class ExportFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"
    geopackage = "geopackage"


@app.command("export")
def export_cmd(
    format: Annotated[ExportFormat, typer.Argument(help="parquet, csv or geopackage.",
                                                   show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder to write into.",
                                          show_default=False)],
    db: DbOption = None,
    tables: Annotated[str | None, typer.Option(
        help="Comma-separated tables (default: all): events, indicators, areas, "
             "lsoa_geography, population, deprivation, ingests.")] = None,
    include_restricted: Annotated[bool, typer.Option(
        help="Also export record-level rows of restricted partner sources (only where the "
             "data sharing agreement allows it).")] = False,
) -> None:
    """Write the warehouse's tidy tables for R, QGIS or Power BI: events with their
    geography, partner indicators, areas with boundaries, the LSOA hierarchy, population,
    deprivation and the ingest log, with `data-dictionary.csv` and `export.json` beside them.
    Restricted partner sources are withheld unless --include-restricted.

    Example:

        cspkit export parquet --out exports/ --db demo.duckdb

        cspkit export geopackage --out gis/ --tables areas,events --db demo.duckdb
    """
    from cspkit.products.exports import export
    from cspkit.store import open_reader

    con = open_reader(db)
    with _progress() as progress:
        task = progress.add_task("Exporting", total=None, item="")

        def on_rows(table: str, done: int, total: int) -> None:
            progress.update(task, description=f"Exporting {table}", completed=done,
                            total=total, item=f"{format.value}")

        result = export(con, out_dir, format.value, include_restricted=include_restricted,
                        tables=[t.strip() for t in tables.split(",")] if tables else None,
                        progress=on_rows)
    for name, rows in result.rows.items():
        out.print(f"{name}: {rows:,} rows")
    if result.withheld:
        out.print(f"withheld (restricted): {', '.join(result.withheld)}")
    out.print(f"wrote {len(result.files)} files to {result.out_dir}")


@app.command("serve")
def serve_cmd(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine "
                                           "only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="Folder for the accounts database, built reports and uploads "
                           "(default: beside the warehouse: cspkit.duckdb.web for "
                           "cspkit.duckdb).", show_default=False)
    ] = None,
    warm: Annotated[bool, typer.Option(
        "--warm/--no-warm", help="Compute every district's default overview, explorer and "
                                 "places views in the background at start, so the first "
                                 "visitor need not wait for them.")] = True,
) -> None:
    """Start the partnership's web dashboard over the warehouse: Overview, Issue explorer,
    Places, Custom area, Reports and Data, with a JSON API (OpenAPI at /docs and
    /openapi.json). It reads the last committed snapshot and never blocks an ingest.

    Example:

        cspkit serve --db demo.duckdb --port 8000

    then open http://127.0.0.1:8000/ in a browser.
    """
    import uvicorn

    from cspkit.products.web.app import create_app
    from cspkit.store.warehouse import check_warehouse, resolve_db_path

    path = resolve_db_path(db)
    check_warehouse(path, for_writing=False)   # no warehouse: says how to build one
    web = create_app(path, data_dir=data_dir, warm=warm)
    console.print(f"cspkit dashboard on http://{host}:{port}/ (Ctrl+C stops it)")
    uvicorn.run(web, host=host, port=port, log_level="warning")


DataDirOption = Annotated[Path | None, typer.Option(
    "--data-dir", help="The dashboard's folder (default: beside the warehouse: "
                       "cspkit.duckdb.web for cspkit.duckdb).",
    show_default=False)]
PasswordStdin = Annotated[bool, typer.Option(
    "--password-stdin", help="Read the password from the first line of stdin instead of "
                             "asking for it.")]


class Role(StrEnum):
    viewer = "viewer"
    partner = "partner"
    admin = "admin"


def _accounts_dir(db: Path | None, data_dir: Path | None) -> Path:
    from cspkit.products.web.app import default_data_dir
    from cspkit.store.warehouse import resolve_db_path

    return data_dir if data_dir else default_data_dir(resolve_db_path(db))


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@users_app.command("add")
def users_add_cmd(
    name: Annotated[str, typer.Argument(help="Account name.", show_default=False)],
    role: Annotated[Role, typer.Option(help="viewer, partner or admin.")] = Role.viewer,
    password_stdin: PasswordStdin = False,
    db: DbOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create an account of the web dashboard.

    Example:

        cspkit users add alice --role partner --db cspkit.duckdb

        printf '%s\\n' "$PASSWORD" | cspkit users add bob --role admin --password-stdin
    """
    from cspkit.store.accounts import add_user

    user = add_user(_accounts_dir(db, data_dir), name, _read_password(password_stdin),
                    role.value)
    out.print(f"added {user.name} ({user.role})")


@users_app.command("list")
def users_list_cmd(db: DbOption = None, data_dir: DataDirOption = None,
                   format: Annotated[OutputFormat, typer.Option(
                       help="table or json.")] = OutputFormat.table) -> None:
    """List the dashboard's accounts and their roles.

    Example:

        cspkit users list --db cspkit.duckdb
    """
    from cspkit.store.accounts import list_users

    users = list_users(_accounts_dir(db, data_dir))
    if format is OutputFormat.json:
        sys.stdout.write(json.dumps([{"name": u.name, "role": u.role} for u in users]) + "\n")
        return
    table = Table("name", "role")
    for user in users:
        table.add_row(user.name, user.role)
    out.print(table if users else "no accounts")


@users_app.command("remove")
def users_remove_cmd(
    name: Annotated[str, typer.Argument(help="Account name.", show_default=False)],
    db: DbOption = None, data_dir: DataDirOption = None,
) -> None:
    """Delete an account; its sessions end at once.

    Example:

        cspkit users remove alice --db cspkit.duckdb
    """
    from cspkit.store.accounts import remove_user

    remove_user(_accounts_dir(db, data_dir), name)
    out.print(f"removed {name}")


@users_app.command("password")
def users_password_cmd(
    name: Annotated[str, typer.Argument(help="Account name.", show_default=False)],
    password_stdin: PasswordStdin = False,
    db: DbOption = None, data_dir: DataDirOption = None,
) -> None:
    """Set an account's password; its sessions end at once.

    Example:

        cspkit users password alice --db cspkit.duckdb
    """
    from cspkit.store.accounts import set_password

    set_password(_accounts_dir(db, data_dir), name, _read_password(password_stdin))
    out.print(f"password of {name} changed")


@app.command("doctor")
def doctor_cmd() -> None:
    """Check this machine: the Python version, and the system libraries and programs cspkit
    needs besides its Python packages (Pango, PangoFT2 and HarfBuzz-Subset for PDFs; Debian's
    Chromium for the browser tests and the web app), each found or missing, with the command
    that installs what is missing. Exits 0 when everything is present, 1 otherwise.

    Example:

        cspkit doctor
    """
    from cspkit.doctor import diagnose, report

    diagnosis = diagnose()
    # Plain stdout: rich would wrap the install command, which people copy.
    sys.stdout.write("\n".join(report(diagnosis)) + "\n")
    if not diagnosis.ok:
        raise typer.Exit(code=1)


if __name__ == "__main__":
    main()
