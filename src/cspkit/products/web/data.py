"""The Data page: what the warehouse holds, what was quarantined and why, and (for an admin)
an upload that runs the CLI's own ingest.

`GET /api/data` (and the page `/data`) shows the ingest log (`store.coverage`, the same audit
`cspkit status` prints): totals, files by kind, the police coverage by force and month with the
months missing, every file logged; and the quarantine (`store.quarantine`): rows by file and
reason, and the rows themselves. Files loaded through a restricted partner schema are left out
for users who may not see restricted sources (the page says how many).

`POST /data/upload` (admins only, multipart, at most `MAX_UPLOAD` bytes) saves the file and
loads it with `ingest.run_ingest` inside `store.writer`, exactly as `cspkit ingest` does: the
writer works on a private copy and swaps it in when the whole load has succeeded, so the
dashboard keeps reading the last snapshot meanwhile, and a failed load leaves the warehouse as
it was. Bad rows are quarantined and shown on the page that answers.
"""

from __future__ import annotations

import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import duckdb
import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from cspkit.errors import CspkitError
from cspkit.products.report.document import Paragraph, Table
from cspkit.products.web.app import state
from cspkit.products.web.auth import current_user, is_admin, may_see_restricted
from cspkit.products.web.blocks import checked
from cspkit.products.web.templating import page
from cspkit.store.coverage import coverage
from cspkit.store.ingest_log import RESTRICTED_MARK
from cspkit.store.quarantine import quarantine_reasons, quarantine_total, quarantined_rows

router = APIRouter()

MAX_UPLOAD = 50 * 1024 * 1024          # bytes of the file itself
_FORM_OVERHEAD = 64 * 1024             # multipart boundaries and the other fields
QUARANTINE_PAGE = 100


# --------------------------------------------------------------------------- what is loaded


def shown_file(path: str) -> str:
    """A logged file as the page shows it: its name (and a zip's member), not the folders of
    the machine that loaded it."""
    outer, bang, member = str(path).partition("!")
    name = re.split(r"[/\\]", outer)[-1]
    return f"{name}!{member}" if bang else name


def _restricted(ingest: dict[str, Any]) -> bool:
    return str(ingest.get("note") or "").startswith(RESTRICTED_MARK)


def _int_frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype(object).where(frame.notna(), None)


@dataclass
class Loaded:
    """The page's tables and the raw totals behind them."""

    totals: dict[str, int]
    blocks: list[Paragraph | Table]
    quarantine_blocks: list[Paragraph | Table]
    withheld_files: int
    missing_months: list[dict[str, str]]


def loaded(con: duckdb.DuckDBPyConnection, *, restricted: bool, raw: bool,
           limit: int = QUARANTINE_PAGE, offset: int = 0) -> Loaded:
    """What the warehouse holds, for a user who may (`restricted`) or may not see restricted
    partner sources; `raw`: show the quarantined rows' text (admins)."""
    cov = coverage(con)
    ingests = [i for i in cov.ingests if restricted or not _restricted(i)]
    withheld_files = len(cov.ingests) - len(ingests)
    totals = {"files": len(ingests),
              "rows_in": sum(int(i["rows_in"]) for i in ingests),
              "rows_loaded": sum(int(i["rows_loaded"]) for i in ingests),
              "rows_quarantined": sum(int(i["rows_quarantined"]) for i in ingests)}
    blocks: list[Paragraph | Table] = []
    if not ingests:
        blocks.append(Paragraph("Nothing is loaded yet: load data with `cspkit setup`, "
                                "`cspkit ingest` or the upload below.", kind="caveat"))
    blocks.append(Table("data-totals", "Ingest log totals", _int_frame(
        [totals], list(totals)), source="cspkit ingest log",
        headers={"files": "Files logged", "rows_in": "Rows in", "rows_loaded": "Rows loaded",
                 "rows_quarantined": "Rows quarantined"}))
    by_kind: dict[str, dict[str, Any]] = {}
    for i in ingests:
        entry = by_kind.setdefault(i["kind"], {"kind": i["kind"], "files": 0, "rows_in": 0,
                                               "rows_loaded": 0, "rows_quarantined": 0,
                                               "last_loaded": ""})
        entry["files"] += 1
        for column in ("rows_in", "rows_loaded", "rows_quarantined"):
            entry[column] += int(i[column])
        entry["last_loaded"] = max(entry["last_loaded"],
                                   str(i["loaded_at"] or "").replace("T", " "))
    blocks.append(Table("data-kinds", "Files loaded by kind", _int_frame(
        sorted(by_kind.values(), key=lambda e: e["kind"]),
        ["kind", "files", "rows_in", "rows_loaded", "rows_quarantined", "last_loaded"]),
        source="cspkit ingest log",
        headers={"kind": "Kind", "files": "Files", "rows_in": "Rows in",
                 "rows_loaded": "Rows loaded", "rows_quarantined": "Rows quarantined",
                 "last_loaded": "Last loaded"}))
    cov_rows = [{"force": fm.force, "month": fm.month, "rows": fm.rows,
                 "unlocated": fm.unlocated, "duplicates skipped": fm.duplicates_skipped,
                 "LSOA edition": fm.lsoa_vintage or ""} for fm in cov.force_months]
    blocks.append(Table("data-coverage", "Police data coverage by force and month",
                        _int_frame(cov_rows, ["force", "month", "rows", "unlocated",
                                              "duplicates skipped", "LSOA edition"]),
                        source="cspkit coverage audit"))
    if cov.missing_months:
        blocks.append(Paragraph("Months missing between the first and last loaded: "
                                + ", ".join(f"{m['force']} {m['month']}"
                                            for m in cov.missing_months) + ".", kind="caveat"))
    for conflict in cov.conflicts:
        blocks.append(Paragraph(f"Duplicate coverage: {shown_file(conflict['file'])} "
                                f"({conflict['kind']}, {conflict['force']} {conflict['month']})"
                                f" was not loaded: {conflict['note']}", kind="caveat"))
    blocks.append(Table("data-files", "Every file logged", _int_frame(
        [{"id": i["ingest_id"], "kind": i["kind"], "status": i["status"],
          "file": shown_file(i["file"]), "rows_in": i["rows_in"],
          "rows_loaded": i["rows_loaded"], "rows_quarantined": i["rows_quarantined"],
          "loaded_at": str(i["loaded_at"] or "").replace("T", " ")} for i in ingests],
        ["id", "kind", "status", "file", "rows_in", "rows_loaded", "rows_quarantined",
         "loaded_at"]), source="cspkit ingest log",
        headers={"id": "Ingest", "kind": "Kind", "status": "Status", "file": "File",
                 "rows_in": "Rows in", "rows_loaded": "Loaded",
                 "rows_quarantined": "Quarantined", "loaded_at": "Loaded at"}))
    return Loaded(totals, blocks, quarantine_blocks(con, restricted=restricted, raw=raw,
                                                    limit=limit, offset=offset),
                  withheld_files, cov.missing_months)


def quarantine_blocks(con: duckdb.DuckDBPyConnection, *, restricted: bool, raw: bool,
                      limit: int = QUARANTINE_PAGE, offset: int = 0,
                      ingest_ids: list[int] | None = None) -> list[Paragraph | Table]:
    """The quarantine: rows by file and reason, then the rows (of `ingest_ids` only, if
    given) with their line and reason."""
    blocks: list[Paragraph | Table] = []
    if ingest_ids is None:
        total = quarantine_total(con, include_restricted=restricted)
        if not total:
            return [Paragraph("No row has been quarantined.")]
        reasons = quarantine_reasons(con, include_restricted=restricted)
        blocks.append(Table("quarantine-reasons", "Rows quarantined by file and reason",
                            _int_frame([{"kind": r.kind, "file": shown_file(r.file),
                                         "reason": r.reason, "rows": r.rows} for r in reasons],
                                       ["kind", "file", "reason", "rows"]),
                            source="cspkit quarantine",
                            headers={"kind": "Kind", "file": "File", "reason": "Reason",
                                     "rows": "Rows"}))
        rows = quarantined_rows(con, limit=limit, offset=offset, include_restricted=restricted)
        title = "Quarantined rows" + (f" (from row {offset + 1})" if offset else "")
    else:
        rows = []
        for ingest_id in ingest_ids:
            rows += quarantined_rows(con, limit=limit, ingest_id=ingest_id,
                                     include_restricted=restricted)
        rows = rows[:limit]
        title = "Rows quarantined by this upload"
        if not rows:
            return [Paragraph("No row of this upload was quarantined.")]
    columns = ["ingest", "file", "line", "column", "reason", *(["raw"] if raw else [])]
    blocks.append(Table("quarantine-rows", title, _int_frame(
        [{"ingest": r.ingest_id, "file": shown_file(r.file),
          "line": None if r.line_no is None else str(r.line_no), "column": r.column_name or "",
          "reason": r.reason, "raw": _short(r.raw or "")} for r in rows], columns),
        source="cspkit quarantine",
        headers={"ingest": "Ingest", "file": "File", "line": "Line", "column": "Column",
                 "reason": "Reason", "raw": "Row as read"},
        notes=[] if raw else ["The rows' own text is shown to administrators only."]))
    return blocks


def _short(text: str, size: int = 160) -> str:
    return text if len(text) <= size else text[:size] + "…"


def _published(blocks: list[Paragraph | Table]) -> list[dict[str, Any]]:
    """The blocks through the document's disclosure audit and formatting (blocks.py)."""
    from cspkit.products.web.blocks import block_json

    if not blocks:
        return []
    doc = checked("Data", list(blocks))
    return [block_json(b, doc.rate_per) for b in doc.sections[0].blocks]


# --------------------------------------------------------------------------- the API


class DataResponse(BaseModel):
    totals: dict[str, int] = Field(description="files, rows_in, rows_loaded, rows_quarantined "
                                               "of the files listed (the ingest log's sums)")
    blocks: list[dict[str, Any]] = Field(description="What is loaded: tables and paragraphs "
                                                     "as blocks.py publishes them")
    quarantine: list[dict[str, Any]] = Field(description="The quarantine, as blocks")
    missing_months: list[dict[str, str]]
    withheld_files: int = Field(description="Files of restricted partner sources not listed "
                                            "for this user")
    may_upload: bool


def _data(request: Request, limit: int, offset: int) -> DataResponse:
    web = state(request)
    user = current_user(request)
    restricted, admin = may_see_restricted(user), is_admin(user)
    with web.reader.cursor() as (con, token):
        found = web.cached(token, ("data", restricted, admin, limit, offset),
                           lambda: loaded(con, restricted=restricted, raw=admin, limit=limit,
                                          offset=offset))
    # One document, so the tables are numbered through and audited together.
    published = _published([*found.blocks, *found.quarantine_blocks])
    return DataResponse(totals=found.totals, blocks=published[:len(found.blocks)],
                        quarantine=published[len(found.blocks):],
                        missing_months=found.missing_months,
                        withheld_files=found.withheld_files, may_upload=admin)


Limit = Annotated[int, Query(ge=1, le=1000, description="Quarantined rows to list")]
Offset = Annotated[int, Query(ge=0, le=100_000_000, description="From this quarantined row")]


@router.get("/api/data", response_model=DataResponse)
def data_api(request: Request, limit: Limit = QUARANTINE_PAGE, offset: Offset = 0
             ) -> DataResponse:
    """What the warehouse holds (the ingest log and the police coverage audit) and the
    quarantine with its reasons."""
    return _data(request, limit, offset)


def upload_kinds() -> dict[str, str]:
    """What an upload can be: the CLI's ingest commands (police, reference, partner with each
    shipped schema) -> words."""
    from cspkit.sources.partner import shipped_schemas

    kinds = {"police": "police.uk street, outcomes or stop-and-search file (CSV or zip)",
             "reference": "ONS / MHCLG reference file: lookup, boundaries, population, "
                          "deprivation (recognised from its header)"}
    for name in shipped_schemas():
        kinds[f"partner:{name}"] = f"partner file, schema {name}"
    return kinds


@router.get("/data", response_class=HTMLResponse, include_in_schema=False)
def data_page(request: Request, limit: Limit = QUARANTINE_PAGE, offset: Offset = 0,
              ) -> HTMLResponse:
    return _render(request, _data(request, limit, offset), limit=limit, offset=offset)


def _render(request: Request, data: DataResponse, *, status: int = 200,
            result: dict[str, Any] | None = None, limit: int = QUARANTINE_PAGE,
            offset: int = 0) -> HTMLResponse:
    return page(request, "data.html.j2", title="Data", active="data", status=status, data=data,
                kinds=upload_kinds(), max_mb=MAX_UPLOAD // (1024 * 1024), result=result,
                limit=limit, offset=offset)


# --------------------------------------------------------------------------- the upload


def safe_name(filename: str | None) -> str:
    """The uploaded file's own name, kept (a police file's month and a SYNTHETIC mark are
    read from it) but only its last part and only plain characters."""
    name = re.split(r"[/\\]", filename or "")[-1]
    name = re.sub(r"[^A-Za-z0-9._() -]", "_", name).strip(" .")[:120]
    return name or "upload"


def ingest_upload(db_path: Path, kind: str, path: Path) -> Any:
    """The CLI's ingest of one file (`cspkit ingest police|reference|partner`), as a writer:
    one transaction on a private copy, swapped in only when everything succeeded."""
    from cspkit.ingest import PartnerSource, PoliceSource, ReferenceSource, run_ingest
    from cspkit.store import writer
    from cspkit.store.ingest_log import new_run_id

    source: Any
    if kind == "police":
        source = PoliceSource()
    elif kind == "reference":
        source = ReferenceSource()
    else:
        source = PartnerSource(kind.removeprefix("partner:"))
    with writer(db_path, wait=60, on_wait=lambda _message: None) as con:
        return run_ingest(con, source, [str(path)], run_id=new_run_id())


def _refuse(request: Request, status: int, message: str) -> HTMLResponse:
    return page(request, "error.html.j2", title="Data", active="data", status=status,
                message=message)


@router.post("/data/upload", response_class=HTMLResponse, openapi_extra={
    "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["kind", "file"],
        "properties": {"kind": {"type": "string", "description": "police, reference or "
                                "partner:<schema>"},
                       "file": {"type": "string", "format": "binary"},
                       "csrf_token": {"type": "string"}}}}}}},
    responses={403: {"description": "Not an administrator"},
               411: {"description": "No Content-Length"},
               413: {"description": "Larger than the limit"},
               422: {"description": "Bad form, or the load failed (nothing was changed)"}})
async def upload(request: Request) -> HTMLResponse:
    """Load one file through the CLI's ingest pipeline (administrators only). The page that
    answers says what was loaded and quarantined, or why nothing was."""
    if not is_admin(current_user(request)):
        return _refuse(request, 403, "Only an administrator may load data.")
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        return _refuse(request, 411, "The upload must say its length.")
    if int(length) > MAX_UPLOAD + _FORM_OVERHEAD:
        return _refuse(request, 413, f"The file is larger than the limit of "
                                     f"{MAX_UPLOAD // (1024 * 1024)} MB.")
    try:
        form = await request.form(max_files=1, max_fields=4)
    except Exception as exc:   # a malformed multipart body
        return _refuse(request, 422, f"The upload could not be read: {exc}")
    kind, file = form.get("kind"), form.get("file")
    if not isinstance(kind, str) or kind not in upload_kinds():
        return _refuse(request, 422, "Choose what kind of file this is.")
    if not isinstance(file, UploadFile) or not file.filename:
        return _refuse(request, 422, "Choose a file to load.")
    web = state(request)
    folder = web.data_dir / "uploads" / secrets.token_hex(8)
    folder.mkdir(parents=True)
    path = folder / safe_name(file.filename)
    try:
        size = 0
        with path.open("wb") as out:
            while chunk := await file.read(1024 * 1024):
                size += len(chunk)
                if size > MAX_UPLOAD:
                    return _refuse(request, 413, f"The file is larger than the limit of "
                                                 f"{MAX_UPLOAD // (1024 * 1024)} MB.")
                out.write(chunk)
        try:
            report = await run_in_threadpool(ingest_upload, web.db_path, kind, path)
        except (CspkitError, duckdb.Error, OSError, ValueError) as exc:
            message = str(exc).strip().replace(str(folder) + "/", "") or type(exc).__name__
            return _render(request, _data(request, QUARANTINE_PAGE, 0), status=422,
                           result={"ok": False, "file": path.name, "message": message})
    finally:
        await file.close()
        shutil.rmtree(folder, ignore_errors=True)
    return _render(request, _data(request, QUARANTINE_PAGE, 0),
                   result=_upload_result(request, path.name, report))


def _upload_result(request: Request, name: str, report: Any) -> dict[str, Any]:
    """What the upload did, as blocks: a row per file logged, and its quarantined rows."""
    files = [{"file": shown_file(r.file), "kind": r.kind, "status": r.status,
              "rows_in": r.rows_in, "rows_loaded": r.rows_loaded,
              "rows_quarantined": r.rows_quarantined, "note": r.note or ""}
             for r in report.files]
    blocks: list[Paragraph | Table] = [Table(
        "upload-files", "What the upload loaded", _int_frame(
            files, ["file", "kind", "status", "rows_in", "rows_loaded", "rows_quarantined",
                    "note"]), source="cspkit ingest",
        headers={"file": "File", "kind": "Kind", "status": "Status", "rows_in": "Rows in",
                 "rows_loaded": "Loaded", "rows_quarantined": "Quarantined", "note": "Note"})]
    ids = [r.ingest_id for r in report.records if r.ingest_id]
    web = state(request)
    user = current_user(request)
    with web.reader.cursor() as (con, _):
        blocks += quarantine_blocks(con, restricted=may_see_restricted(user),
                                    raw=is_admin(user), ingest_ids=ids)
    return {"ok": True, "file": name, "blocks": _published(blocks),
            "quarantined": report.rows_quarantined, "loaded": report.rows_loaded}
