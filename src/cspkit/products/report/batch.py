"""Every district in one run: the strategic assessment of each district of a force, county or
region (or of a list), written side by side with an index page.

Each district's document is written exactly as `cspkit assess` writes it, into
`OUT/<district code>/`. The districts are shared among worker processes (every core by
default); each worker opens the warehouse read-only once and keeps what the measures memoise
(the area hierarchy, each force's coverage, the populations of the parent areas) for every
district it builds after its first. A district that fails is reported with its one-line reason
and the others still complete.

The index (`index.html`, self-contained and offline, and `index.csv`) has one row per district:
its headline figures as its own document publishes them (counts as published, with counts of
1-4 hidden, and rates hidden wherever their count is), the number of significant changes by
type of crime, and links to its HTML, PDF and tables.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from cspkit.errors import CspkitError, InputError

# Headline columns of the index, as published: machine names (the CSV) and words (the page).
COLUMNS = {"district": "District", "code": "Code", "period": "Period",
           "crime_count": "Crime (excluding ASB)",
           "crime_rate_per_1000": "Crime rate per 1,000 residents",
           "asb_count": "Anti-social behaviour",
           "asb_rate_per_1000": "ASB rate per 1,000 residents",
           "significant_changes": "Significant changes by type of crime"}
LEVELS = {"force": "force", "county": "county", "region": "region"}
INDEX_TEMPLATE = "index.html.j2"


@dataclass(frozen=True)
class Job:
    """One district to assess (picklable: it crosses to a worker process)."""

    query: str                   # a name or code, as the user or the hierarchy gives it
    out_dir: str
    period: str | None = None    # None: the district's latest full year
    compare: str | None = None
    pdf: bool = True


@dataclass
class Outcome:
    """What one district's run produced: its files and published headline, or why it failed."""

    query: str
    ok: bool
    name: str = ""
    code: str = ""
    period: str = ""
    reason: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)    # html/pdf/xlsx: paths under OUT
    seconds: float = 0.0         # wall-clock time in its worker
    cpu_seconds: float = 0.0     # the worker's processor time for it

    @property
    def label(self) -> str:
        return self.name or self.query


# --------------------------------------------------------------------------- which districts


def districts(con: Any, *, force: str | None = None, county: str | None = None,
              region: str | None = None) -> list[str]:
    """The codes of the districts of a force, county or region (exactly one given), in the
    order of their codes."""
    from cspkit.measures.areas import children, select_area
    from cspkit.store.areas import resolve_area

    chosen = [(level, name) for level, name in (("force", force), ("county", county),
                                                ("region", region)) if name]
    if len(chosen) != 1:
        raise CspkitError("give exactly one of --force, --county, --region or --areas")
    level, name = chosen[0]
    area = resolve_area(con, name, levels=[LEVELS[level]])
    found = children(con, select_area(con, area.code), "lad")
    if not found:
        raise CspkitError(f"the warehouse holds no districts in the {level} {area.name}")
    return [d.code for d in found]


def read_areas_file(path: Path) -> list[str]:
    """Names or codes, one a line, or the first column of a CSV file (a header of 'name',
    'code', 'area' or 'district' is skipped); blank lines and lines starting with # are
    ignored."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not UTF-8 text (byte {exc.start})",
                         expected="names or codes of districts, one a line") from exc
    queries: list[str] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        first = row[0].strip() if row else ""
        if not first or first.startswith("#"):
            continue
        if number == 1 and first.lower() in ("name", "code", "area", "district"):
            continue
        queries.append(first)
    if not queries:
        raise InputError(str(path), "no district names or codes",
                         expected="names or codes of districts, one a line")
    return list(dict.fromkeys(queries))


# --------------------------------------------------------------------------- one district

_WORKER: dict[str, Any] = {}


def _start_worker(db: str | None, config: str | None) -> None:
    """Once per worker process: the warehouse opened read-only and the local content read."""
    from cspkit.products.report.config import load_local_content
    from cspkit.store import open_reader

    _WORKER.clear()
    _WORKER["con"] = open_reader(db)
    _WORKER["local"] = load_local_content(Path(config) if config else None)


def assess_one(job: Job) -> Outcome:
    """Build and write one district's document in this worker; never raises."""
    started, cpu = time.perf_counter(), time.process_time()
    outcome = Outcome(job.query, ok=False)
    try:
        _assess(job, outcome)
        outcome.ok = True
    except Exception as exc:  # one district's failure must not stop the others
        outcome.reason = _one_line(exc)
    outcome.seconds = time.perf_counter() - started
    outcome.cpu_seconds = time.process_time() - cpu
    return outcome


def _assess(job: Job, outcome: Outcome) -> None:
    from cspkit.measures.areas import focus_on, latest_full_year, select_area
    from cspkit.measures.counts import area_period
    from cspkit.measures.periods import parse_period
    from cspkit.products.report.assessment import build_assessment
    from cspkit.products.report.render import write_document

    con, local = _WORKER["con"], _WORKER["local"]
    area = select_area(con, job.query)
    focus_on(con, area)   # districts of one force, in turn, reuse its rows
    outcome.name, outcome.code = area.name, area.code
    period = parse_period(job.period or str(latest_full_year(con, area)))
    outcome.period = period.label
    if not area_period(con, area, period).coverage.months_present:
        raise CspkitError(f"no police.uk data for {area.name} in {period.label}")
    compare = job.compare or local.compare
    doc = build_assessment(con, area, period, parse_period(compare) if compare else None,
                           local=local)
    folder = Path(job.out_dir) / doc.area_code
    stem = f"strategic-assessment-{doc.area_code}-{period.label.replace('/', '-')}"
    paths = write_document(doc, folder, stem, pdf=job.pdf)
    outcome.files = {kind: f"{doc.area_code}/{paths[kind].name}"
                     for kind in ("html", "pdf", "xlsx") if kind in paths}
    outcome.figures = headline(doc)


def _one_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0][:300]
    if isinstance(exc, CspkitError | ValueError):
        return text or type(exc).__name__
    return f"unexpected {type(exc).__name__}: {text}"


def headline(doc: Any) -> dict[str, Any]:
    """The index's figures for a document, as the document publishes them: crime (excluding
    ASB) count and rate from its rates table, the ASB count from its change table (its rate
    on the same population, hidden wherever the count is), and how many types of crime
    changed significantly."""
    from cspkit.measures.change import DECREASE, INCREASE
    from cspkit.measures.counts import ASB

    tables = {t.key: t.frame for t in doc.tables()}
    out: dict[str, Any] = dict.fromkeys(c for c in COLUMNS if c not in ("district", "code"))
    out["period"] = doc.period_label
    population = None
    rates = tables.get("overall-rates-table")
    if rates is not None:
        row = rates[rates["role"] == "area"]
        if len(row):
            out["crime_count"] = row["count"].iloc[0]
            out["crime_rate_per_1000"] = _value(row["rate_per_1000"].iloc[0])
            population = _value(row["population"].iloc[0])
    change = tables.get("overall-change")
    if change is not None:
        asb = change[change["category"] == ASB]
        if len(asb):
            count = asb[change.columns[1]].iloc[0]   # the period's published count
            out["asb_count"] = count
            shown = _whole(count)
            if shown is not None and population:
                out["asb_rate_per_1000"] = round(doc.rate_per * shown / population, 3)
        out["significant_changes"] = int(change["verdict"].isin([INCREASE, DECREASE]).sum())
    return out


def _value(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and value != value) else value


def _whole(value: Any) -> int | None:
    """A published count as a number, or None where it is hidden ('<5', '*')."""
    text = str(value).replace(",", "").strip()
    return int(text) if text.lstrip("-").isdigit() else None


# --------------------------------------------------------------------------- every district


def start_method() -> str:
    """forkserver where there is one (workers start from a clean process that has already
    imported cspkit), else spawn; never fork, which would copy a live DuckDB connection."""
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def by_force(con: Any, queries: Sequence[str]) -> list[int]:
    """The positions of `queries` (district names or codes) with the districts of each police
    force together: the order to build them in, so that a worker holding one force's rows
    (`focus_on`) goes on to that force's next district. Unknown names keep their place at the
    end (their job reports the error)."""
    from cspkit.errors import CspkitError
    from cspkit.measures.areas import area_forces, select_area

    keys: list[tuple[str, int]] = []
    for i, query in enumerate(queries):
        try:
            forces = sorted(area_forces(con, select_area(con, query)))
        except (CspkitError, ValueError):
            forces = []
        keys.append(("\uffff" if not forces else ",".join(forces), i))
    return [i for _, i in sorted(keys)]


def assess_all(jobs: Sequence[Job], *, db: str | None, config: str | None = None,
               workers: int | None = None,
               on_done: Callable[[Outcome], None] | None = None,
               order: Sequence[int] | None = None) -> list[Outcome]:
    """Every job, `workers` at a time (default: the number of CPUs), in worker processes
    that each open the warehouse once, started in `order` (positions in `jobs`; default
    as listed). Outcomes in the order of `jobs`."""
    order = list(order) if order is not None else list(range(len(jobs)))
    if sorted(order) != list(range(len(jobs))):
        raise ValueError("order must list every job's position once")
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    done: dict[int, Outcome] = {}

    def finish(index: int, outcome: Outcome) -> None:
        done[index] = outcome
        if on_done:
            on_done(outcome)

    if workers == 1:   # no process to start for one at a time
        _start_worker(db, config)
        try:
            for i in order:
                finish(i, assess_one(jobs[i]))
        finally:
            _WORKER["con"].close()
            _WORKER.clear()
        return [done[i] for i in range(len(jobs))]
    context = multiprocessing.get_context(start_method())
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(["cspkit.products.report.batch",
                                        "cspkit.products.report.assessment",
                                        "cspkit.products.report.render"])
    with ProcessPoolExecutor(max_workers=workers, mp_context=context,
                             initializer=_start_worker, initargs=(db, config)) as pool:
        futures: dict[Future[Outcome], int] = {pool.submit(assess_one, jobs[i]): i
                                               for i in order}
        for future in as_completed(futures):
            index = futures[future]
            try:
                outcome = future.result()
            except Exception as exc:   # the worker itself died (memory, a crash)
                outcome = Outcome(jobs[index].query, ok=False,
                                  reason=f"worker failed: {_one_line(exc)}")
            finish(index, outcome)
    return [done[i] for i in range(len(jobs))]


# --------------------------------------------------------------------------- the index


def index_frame(outcomes: Sequence[Outcome]) -> pd.DataFrame:
    """One row per district: the published headline, status, reason and files."""
    rows = []
    for o in outcomes:
        row = {"district": o.label, "code": o.code, **dict.fromkeys(
            c for c in COLUMNS if c not in ("district", "code"))}
        row["period"] = o.period or None
        row.update({k: v for k, v in o.figures.items() if k in COLUMNS})
        row |= {"status": "written" if o.ok else "failed", "reason": o.reason,
                "html": o.files.get("html", ""), "pdf": o.files.get("pdf", ""),
                "xlsx": o.files.get("xlsx", "")}
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "status", "reason", "html", "pdf", "xlsx"])
    # Whole numbers stay whole beside the failed districts' blanks.
    frame["significant_changes"] = frame["significant_changes"].astype("Int64")
    return frame


def write_index(outcomes: Sequence[Outcome], out_dir: Path, *, title: str,
                produced: date | None = None) -> dict[str, Path]:
    """`index.html` (self-contained, offline; figures formatted as the documents format them)
    and `index.csv` (the published values, formula-safe) in `out_dir`."""
    from cspkit.products.cell_safety import write_csv
    from cspkit.products.report.document import Table
    from cspkit.products.report.render import Cell, _check_self_contained, table_view

    frame = index_frame(outcomes)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "index.csv"
    write_csv(frame, csv_path)
    shown = Table("index", title, frame[list(COLUMNS)].astype(object), arithmetic=None,
                  headers=COLUMNS)
    view = table_view(shown, 1000)
    # A period's label ('2023', '2023/24') is words, not a number to separate.
    at = list(COLUMNS).index("period")
    for cells, label in zip(view.rows, frame["period"], strict=True):
        cells[at] = Cell("" if pd.isna(label) else str(label), False)
    columns = [replace(c, numeric=False) if i == at else c
               for i, c in enumerate(view.columns)]
    rows = [{"cells": cells, "outcome": o} for cells, o in zip(view.rows, outcomes,
                                                                strict=True)]
    css = (files("cspkit.products.report") / "templates" / "assessment.css").read_text(
        encoding="utf-8")
    env = jinja2.Environment(loader=jinja2.PackageLoader("cspkit.products.report", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    produced = produced or date.today()
    html = env.get_template(INDEX_TEMPLATE).render(
        title=title, css=Markup(css), columns=columns, rows=rows,
        written=sum(o.ok for o in outcomes), failed=[o for o in outcomes if not o.ok],
        produced=f"{produced.day} {produced:%B %Y}")
    # Links to the districts' own files are the page's purpose; anything else is refused.
    _check_self_contained(_without_file_links(html))
    html_path = out_dir / "index.html"
    html_path.write_text(html, encoding="utf-8")
    return {"html": html_path, "csv": csv_path}


def _without_file_links(html: str) -> str:
    """The page with its links to the districts' files (relative, inside the folder) taken
    out, so the check for outside resources sees everything else."""
    import re

    return re.sub(r'<a class="file" href="[A-Za-z0-9_-]+/[A-Za-z0-9_.-]+">', "<a>", html)
