"""The Reports page: the strategic assessment built in the background, then downloaded.

`POST /api/reports` starts a build (one district, or every district of the district's police
force or county, as `cspkit assess --all` builds them) and answers with the job at once; the
page polls `GET /api/reports/jobs/{id}` for its state, progress and messages, then offers the
job's files (HTML, PDF, the tables as a CSV zip and as XLSX) from
`GET /api/reports/jobs/{id}/files/{name}`, where `name` must be one of the job's own files.

Jobs run on one background thread held in `WebState.extras` (DuckDB and WeasyPrint do their
heavy work outside the GIL, so the server keeps answering); each job reads its own connection
to the snapshot current when it starts. A job is keyed by what it builds (scope, district,
period, PDF or not, the restricted sources withheld and the warehouse snapshot): asking again
for the same thing returns the job already running or finished, so the same document is never
built twice at once. Built files live under the app's data folder; the oldest jobs are removed
when there are more than `KEEP_JOBS`.

Restricted partner sources: a report is built for the user who asks, leaving out
`auth.withheld_for(user)` (read once per snapshot: `WebState.withheld`); a job is only shown
to users who may see everything it contains.
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from cspkit.errors import CspkitError
from cspkit.measures.periods import Period
from cspkit.products.web.app import WebState, state
from cspkit.products.web.auth import WITHHELD_NOTE, current_user, may_see_restricted
from cspkit.products.web.context import AREA_PATTERN, PERIOD_PATTERN, NotFound, scope
from cspkit.products.web.templating import page

router = APIRouter()

JOB_ID_PATTERN = r"^[A-Za-z0-9_-]{8,40}$"
KEEP_JOBS = 40
MAX_PENDING = 4      # builds queued or running at once; more are refused (429) until one ends
Scope = Literal["district", "force", "county"]
SCOPE_WORDS = {"district": "this district only",
               "force": "every district of its police force area",
               "county": "every district of its county"}


# --------------------------------------------------------------------------- the API's shapes


class ReportRequest(BaseModel):
    """What to build: a district and period, as every page takes them, and how much."""

    model_config = ConfigDict(extra="forbid")
    area: str = Field(pattern=AREA_PATTERN, description="District name or code, e.g. E06000055")
    period: str | None = Field(None, pattern=PERIOD_PATTERN,
                               description="e.g. 2023, 2023/24, 2023-01..2023-06 or "
                                           "rolling:2024-03 (default: the latest full year)")
    scope: Scope = Field("district", description="district: this district; force or county: "
                                                 "every district of the district's police force "
                                                 "area or county, with an index")
    pdf: bool = Field(True, description="Also write the PDF (slower)")


class JobFile(BaseModel):
    name: str = Field(description="The file's name for /files/{name}")
    label: str = Field(description="What it is, in words")
    kind: str = Field(description="html | pdf | xlsx | zip | csv")
    bytes: int


class JobStatus(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "failed"]
    title: str
    scope: Scope
    area_code: str
    period: str
    done: int = Field(description="Steps finished")
    total: int = Field(description="Steps in all")
    messages: list[str]
    files: list[JobFile]
    withheld: int = Field(description="How many restricted partner sources were left out "
                                      "(not named: see auth.WITHHELD_NOTE)")
    error: str | None = None
    seconds: float | None = Field(None, description="How long the build took")
    status_url: str


# --------------------------------------------------------------------------- the jobs


Key = tuple[Any, ...]


@dataclass
class ReportJob:
    id: str
    key: Key
    title: str
    scope: Scope
    area_code: str
    area_name: str
    period: Period
    pdf: bool
    withheld: frozenset[str]
    folder: Path
    state: Literal["queued", "running", "done", "failed"] = "queued"
    done: int = 0
    total: int = 2
    messages: list[str] = field(default_factory=list)
    # name -> (path, label, kind): the only files the job serves
    files: dict[str, tuple[Path, str, str]] = field(default_factory=dict)
    error: str | None = None
    started: float = 0.0
    finished: float = 0.0

    def say(self, message: str) -> None:
        self.messages.append(message)

    def status(self) -> JobStatus:
        files = [JobFile(name=name, label=label, kind=kind, bytes=path.stat().st_size)
                 for name, (path, label, kind) in self.files.items() if path.exists()]
        seconds = round((self.finished or time.monotonic()) - self.started, 1) \
            if self.started else None
        return JobStatus(id=self.id, state=self.state, title=self.title, scope=self.scope,
                         area_code=self.area_code, period=self.period.label, done=self.done,
                         total=self.total, messages=list(self.messages), files=files,
                         withheld=len(self.withheld), error=self.error, seconds=seconds,
                         status_url=f"/api/reports/jobs/{self.id}")

    def visible_to(self, withheld: frozenset[str]) -> bool:
        """Only a user who may see everything the job holds: what it left out includes
        everything withheld from them."""
        return withheld <= self.withheld


class Busy(CspkitError):
    """Too many builds waiting: HTTP 429."""


class ReportJobs:
    """The report jobs of one app: one builder thread, jobs by id, one job per key."""

    def __init__(self, db_path: Path, root: Path, keep: int = KEEP_JOBS) -> None:
        self.db_path = db_path
        self.root = root
        self.keep = keep
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cspkit-report")
        self._jobs: OrderedDict[str, ReportJob] = OrderedDict()
        self._by_key: dict[Key, str] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str) -> ReportJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def listing(self) -> list[ReportJob]:
        with self._lock:
            return list(reversed(self._jobs.values()))

    def submit(self, key: Key, make: Callable[[str, Path], ReportJob],
               run: Callable[[ReportJob], None]) -> tuple[ReportJob, bool]:
        """The job for `key`: the one queued, running or built already, else a new one
        started. Returns it and whether it is new."""
        with self._lock:
            known = self._jobs.get(self._by_key.get(key, ""))
            if known is not None and known.state != "failed":
                return known, False
            pending = sum(j.state in ("queued", "running") for j in self._jobs.values())
            if pending >= MAX_PENDING:
                raise Busy(f"{pending} reports are being built already; try again when one "
                           "has finished")
            job_id = secrets.token_urlsafe(12)
            job = make(job_id, self.root / job_id)
            self._jobs[job_id] = job
            self._by_key[key] = job_id
            self._prune()
        self._pool.submit(self._run, job, run)
        return job, True

    def _run(self, job: ReportJob, run: Callable[[ReportJob], None]) -> None:
        job.state, job.started = "running", time.monotonic()
        try:
            run(job)
            job.state = "done"
            job.say(f"Finished in {time.monotonic() - job.started:.0f} s.")
        except Exception as exc:   # the job says why; the server carries on
            job.error = _one_line(exc)
            job.state = "failed"
            job.say(f"Failed: {job.error}")
        finally:
            job.finished = time.monotonic()

    def _prune(self) -> None:
        while len(self._jobs) > self.keep:
            oldest = next((j for j in self._jobs.values()
                           if j.state in ("done", "failed")), None)
            if oldest is None:
                return
            del self._jobs[oldest.id]
            if self._by_key.get(oldest.key) == oldest.id:
                del self._by_key[oldest.key]
            shutil.rmtree(oldest.folder, ignore_errors=True)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


_CREATE = threading.Lock()


def report_jobs(web: WebState) -> ReportJobs:
    with _CREATE:
        jobs = web.extras.get("reports")
        if jobs is None:
            jobs = web.extras["reports"] = ReportJobs(web.db_path, web.data_dir / "reports")
        return jobs  # type: ignore[no-any-return]


def _one_line(exc: BaseException) -> str:
    text = (str(exc).strip().splitlines() or [""])[0][:300]
    if isinstance(exc, CspkitError | ValueError | LookupError):
        return text or type(exc).__name__
    return f"unexpected {type(exc).__name__}: {text}"


# --------------------------------------------------------------------------- building


def build_document(con: Any, area: str, period: Period, *, withheld: frozenset[str],
                   local: Any = None) -> Any:
    """The assessment for `area` and `period` leaving out the restricted partner sources
    `withheld`: the dashboard's one call of the document builder (as `cspkit assess` makes
    it, with the default local content)."""
    from cspkit.products.report.assessment import build_assessment
    from cspkit.products.report.config import load_local_content

    return build_assessment(con, area, period, local=local or load_local_content(None),
                            withheld=withheld)


def _stem(code: str, period: Period) -> str:
    return f"strategic-assessment-{code}-{period.label.replace('/', '-')}"


def _build_district(job: ReportJob, con: Any, code: str, name: str, folder: Path,
                    prefix: str = "") -> tuple[Any, dict[str, Path]]:
    """One district's document written into `folder` as `cspkit assess` writes it, and its
    tables zipped; its files recorded on the job under `prefix`."""
    from cspkit.products.report.render import write_document

    started = time.monotonic()
    job.say(f"{name}: building the assessment for {job.period.label}")
    doc = build_document(con, code, job.period, withheld=job.withheld)
    job.done += 1
    job.say(f"{name}: writing HTML{', PDF' if job.pdf else ''} and tables")
    stem = _stem(doc.area_code, job.period)
    paths = write_document(doc, folder, stem, pdf=job.pdf)
    tables = folder / f"{stem}-tables.zip"
    with zipfile.ZipFile(tables, "w", zipfile.ZIP_DEFLATED) as archive:
        for key, path in paths.items():
            if key.startswith("csv:") or key == "dictionary":
                archive.write(path, path.name)
    job.done += 1
    job.files[f"{prefix}{paths['html'].name}"] = (paths["html"], f"{name}: document (HTML)",
                                                  "html")
    if "pdf" in paths:
        job.files[f"{prefix}{paths['pdf'].name}"] = (paths["pdf"], f"{name}: document (PDF)",
                                                     "pdf")
    job.files[f"{prefix}{tables.name}"] = (tables, f"{name}: tables (CSV, zipped)", "zip")
    job.files[f"{prefix}{stem}-tables.xlsx"] = (paths["xlsx"],
                                                  f"{name}: tables (XLSX workbook)", "xlsx")
    job.say(f"{name}: written in {time.monotonic() - started:.0f} s")
    return doc, paths


def _run_district(job: ReportJob, db_path: Path) -> None:
    from cspkit.store import open_reader

    con = open_reader(db_path)
    try:
        _build_district(job, con, job.area_code, job.area_name, job.folder)
    finally:
        con.close()


def _run_all(job: ReportJob, db_path: Path, districts: list[tuple[str, str]]) -> None:
    """Every district in turn (as `cspkit assess --all` with one job at a time), a failure
    reported and the others still built, then the index and one zip of everything."""
    from cspkit.products.report import batch
    from cspkit.store import open_reader

    outcomes: list[batch.Outcome] = []
    con = open_reader(db_path)
    try:
        for code, name in districts:
            outcome = batch.Outcome(code, ok=False, name=name, code=code,
                                    period=job.period.label)
            started = time.monotonic()
            at = job.done
            try:
                doc, paths = _build_district(job, con, code, name, job.folder / code,
                                             f"{code}/")
                outcome.ok = True
                outcome.files = {kind: f"{code}/{paths[kind].name}"
                                 for kind in ("html", "pdf", "xlsx") if kind in paths}
                outcome.figures = batch.headline(doc)
            except Exception as exc:   # one district's failure must not stop the others
                outcome.reason = _one_line(exc)
                job.say(f"{name}: failed: {outcome.reason}")
                job.done = at + 2
            outcome.seconds = time.monotonic() - started
            outcomes.append(outcome)
    finally:
        con.close()
    index = batch.write_index(outcomes, job.folder, title=f"Strategic assessments: {job.title}")
    job.files["index.html"] = (index["html"], "Index of the districts (HTML)", "html")
    job.files["index.csv"] = (index["csv"], "Index of the districts (CSV)", "csv")
    label = job.period.label.replace("/", "-")
    everything = job.folder / f"assessments-{job.area_code}-{label}.zip"
    with zipfile.ZipFile(everything, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(job.folder.rglob("*")):
            if path.is_file() and path != everything and not path.name.endswith("-tables.zip"):
                archive.write(path, path.relative_to(job.folder).as_posix())
    job.files[everything.name] = (everything, "Everything (zip)", "zip")
    job.done = job.total
    failed = [o for o in outcomes if not o.ok]
    job.say(f"{len(outcomes) - len(failed)} of {len(outcomes)} districts written")
    if len(failed) == len(outcomes):
        raise CspkitError("no district could be built")


# --------------------------------------------------------------------------- starting


def _districts_of(con: Any, area_code: str, level: str) -> tuple[str, str, list[tuple[str, str]]]:
    """The force or county containing the district, and its districts the warehouse holds
    police data for (code, name)."""
    from cspkit.measures.areas import children, parents, select_area
    from cspkit.store.areas import districts_held

    container = next((p for p in parents(con, select_area(con, area_code))
                      if p.level == level), None)
    if container is None:
        raise NotFound(f"the warehouse holds no {level} containing {area_code}")
    held = {d.code: d.name for d in districts_held(con)}
    found = [(d.code, held[d.code]) for d in children(con, container, "lad") if d.code in held]
    if not found:
        raise NotFound(f"the warehouse holds no police data for the districts of "
                       f"{container.name}")
    return container.code, container.name, found


def start_report(request: Request, body: ReportRequest) -> tuple[ReportJob, bool]:
    """Check what is asked for and start (or find) its job."""
    web = state(request)
    jobs = report_jobs(web)
    user = current_user(request)
    with web.reader.cursor() as (con, token):
        chosen = scope(con, body.area, body.period)
        withheld = web.withheld(may_see_restricted(user), con, token)
        district = chosen.district
        if body.scope == "district":
            code, name, members = district.code, district.name, [(district.code, district.name)]
        else:
            code, name, members = _districts_of(con, district.code, body.scope)
    period = chosen.period
    key: Key = (body.scope, code, period.label, body.pdf, tuple(sorted(withheld)), token)
    title = f"{name}, {period.label}" if body.scope == "district" else \
        f"{name} ({len(members)} districts), {period.label}"

    def make(job_id: str, folder: Path) -> ReportJob:
        job = ReportJob(id=job_id, key=key, title=title, scope=body.scope, area_code=code,
                        area_name=name, period=period, pdf=body.pdf, withheld=withheld,
                        folder=folder, total=2 * len(members) + (body.scope != "district"))
        job.say(f"Queued: {title}" + (f" ({', '.join(m[1] for m in members)})"
                                      if len(members) > 1 else ""))
        if withheld:
            job.say(WITHHELD_NOTE)
        return job

    def run(job: ReportJob) -> None:
        job.folder.mkdir(parents=True, exist_ok=True)
        if body.scope == "district":
            _run_district(job, web.db_path)
        else:
            _run_all(job, web.db_path, members)

    return jobs.submit(key, make, run)


def _visible_job(request: Request, job_id: str) -> ReportJob:
    web = state(request)
    job = report_jobs(web).get(job_id)
    if job is not None:
        with web.reader.cursor() as (con, token):
            withheld = web.withheld(may_see_restricted(current_user(request)), con, token)
        if job.visible_to(withheld):
            return job
    raise NotFound(f"no report job {job_id}")


JobId = Annotated[str, PathParam(pattern=JOB_ID_PATTERN, description="The job's id")]


# --------------------------------------------------------------------------- the API


@router.post("/api/reports", response_model=JobStatus, status_code=202,
             responses={200: {"model": JobStatus, "description": "The same report is already "
                              "being built, or was built from the same data: that job"},
                        404: {"description": "Unknown district"},
                        422: {"description": "Bad parameters"},
                        429: {"description": "Too many reports being built already"}})
def start_report_api(request: Request, body: ReportRequest) -> Response:
    """Start building the assessment (or find the job already building or built)."""
    try:
        job, new = start_report(request, body)
    except Busy as exc:
        return JSONResponse({"detail": str(exc)}, status_code=429, headers={"Retry-After": "30"})
    return JSONResponse(job.status().model_dump(), status_code=202 if new else 200)


@router.get("/api/reports/jobs", response_model=list[JobStatus])
def list_jobs(request: Request) -> list[JobStatus]:
    """The report jobs this user may see, newest first."""
    web = state(request)
    with web.reader.cursor() as (con, token):
        withheld = web.withheld(may_see_restricted(current_user(request)), con, token)
    return [j.status() for j in report_jobs(web).listing() if j.visible_to(withheld)]


@router.get("/api/reports/jobs/{job_id}", response_model=JobStatus,
            responses={404: {"description": "No such job"}})
def job_status(request: Request, job_id: JobId) -> JobStatus:
    """A job's state, progress (done of total steps), messages and files."""
    return _visible_job(request, job_id).status()


MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "zip": "application/zip",
         "csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@router.get("/api/reports/jobs/{job_id}/files/{name:path}",
            responses={200: {"content": {m: {} for m in MEDIA.values()}},
                       404: {"description": "No such job, or not one of its files"}})
def job_file(request: Request, job_id: JobId,
             name: Annotated[str, PathParam(max_length=200, description="One of the job's files")],
             download: Annotated[bool, Query(description="As an attachment (default: shown, "
                                                         "for HTML)")] = False) -> Response:
    """One of the job's files, by the name its status lists (nothing else is served)."""
    job = _visible_job(request, job_id)
    entry = job.files.get(name)
    if entry is None or not entry[0].is_file():
        raise NotFound(f"report job {job_id} has no file {name!r}")
    path, _, kind = entry
    attach = download or kind != "html"
    return FileResponse(path, media_type=MEDIA.get(kind, "application/octet-stream"),
                        filename=name.replace("/", "-"),
                        content_disposition_type="attachment" if attach else "inline")


# --------------------------------------------------------------------------- the page


@router.get("/reports", response_class=HTMLResponse, include_in_schema=False)
def reports_page(request: Request,
                 area: Annotated[str | None, Query(pattern=AREA_PATTERN)] = None,
                 period: Annotated[str | None, Query(pattern=PERIOD_PATTERN)] = None,
                 job: Annotated[str | None, Query(pattern=JOB_ID_PATTERN)] = None
                 ) -> HTMLResponse:
    web = state(request)
    with web.reader.cursor() as (con, token):
        chosen = scope(con, area, period)
        withheld = web.withheld(may_see_restricted(current_user(request)), con, token)
    current = _visible_job(request, job).status() if job else None
    recent = [j.status() for j in report_jobs(web).listing() if j.visible_to(withheld)][:10]
    return page(request, "reports.html.j2", title="Reports", active="reports",
                area=chosen.district.code, period=chosen.period.label,
                district_name=chosen.district.name, scopes=SCOPE_WORDS, job=current,
                recent=recent, withheld=sorted(withheld))


@router.post("/reports", include_in_schema=False)
def reports_form(request: Request, area: Annotated[str, Form(pattern=AREA_PATTERN)],
                 period: Annotated[str, Form(pattern=PERIOD_PATTERN)],
                 scope_: Annotated[Scope, Form(alias="scope")] = "district",
                 pdf: Annotated[bool, Form()] = False) -> Response:
    """The page's form without script: start the job and show it."""
    try:
        job, _ = start_report(request, ReportRequest(area=area, period=period, scope=scope_,
                                                     pdf=pdf))
    except Busy as exc:
        return page(request, "error.html.j2", title="Reports", active="reports", status=429,
                    message=str(exc))
    query = urlencode({"area": area, "period": period, "job": job.id})
    return RedirectResponse(f"/reports?{query}", status_code=303)
