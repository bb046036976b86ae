"""Loading data.police.uk files into the warehouse: street files as events, outcomes and
stop-and-search into their own tables, every row loaded or quarantined with its reason.

Files of one layout are parsed and validated together in DuckDB (a per-file loop costs more than
the parsing itself). The caller wraps a whole ingest in one transaction (`store.transaction`), so
a malformed file anywhere in the batch leaves the warehouse as it was.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from cspkit.errors import InputError
from cspkit.sources.inputs import expand_inputs
from cspkit.sources.police import (
    PoliceFile,
    drop_stage,
    raw_lines,
    recognise,
    stage_many,
    validation_sql,
)
from cspkit.sources.police_forces import force_id_from_name
from cspkit.store.forces import derive_force_links
from cspkit.store.geography import rebuild_lsoa_geography
from cspkit.store.ingest_log import IngestRecord, finish_ingests, start_ingest
from cspkit.store.vintages import align_partner_vintages, resolve_event_vintages

STAGE = "_police_stage"
CHECKED = "_police_checked"
FILES = "_police_files"
TARGET = {"street": "events", "outcomes": "police_outcomes", "stop-and-search": "stop_search"}


@dataclass
class PoliceIngestReport:
    records: list[IngestRecord] = field(default_factory=list)
    unchanged: list[tuple[str, int]] = field(default_factory=list)   # (file, earlier ingest id)
    conflicts: list[str] = field(default_factory=list)                # duplicate force-months

    @property
    def rows_in(self) -> int:
        return sum(r.rows_in for r in self.records)

    @property
    def rows_loaded(self) -> int:
        return sum(r.rows_loaded for r in self.records)

    @property
    def rows_quarantined(self) -> int:
        return sum(r.rows_quarantined for r in self.records)


@dataclass
class _Planned:
    pf: PoliceFile
    sha: str
    ingest_id: int = 0
    force: str | None = None
    month: str | None = None
    conflict: str | None = None


def ingest_police(con: duckdb.DuckDBPyConnection, paths: list[str | os.PathLike[str]], *,
                  run_id: str, replace: bool = False,
                  on_file: Callable[[str, int, int], None] | None = None
                  ) -> PoliceIngestReport:
    """Load every data.police.uk file under `paths` (files, folders, zips, in any mix)."""
    report = PoliceIngestReport()
    with expand_inputs(paths, member_filter=(".csv", ".csv.gz", ".zip")) as files:
        if not files:
            raise InputError(", ".join(str(p) for p in paths), "no CSV files found",
                             expected="data.police.uk CSV files, month folders or zip archives")
        # Recognise everything before loading anything: a bad file fails the batch up front.
        recognised: list[PoliceFile] = []
        for index, file in enumerate(files, start=1):
            if on_file:
                on_file(file.display, index, len(files))
            recognised.append(recognise(file))
        fresh = _drop_unchanged(con, recognised, report)
        for kind in ("street", "outcomes", "stop-and-search"):
            group = [p for p in fresh if p.pf.kind == kind]
            if group:
                _load_group(con, group, kind, run_id=run_id, replace=replace, report=report)
    drop_stage(con, STAGE)
    for table in (CHECKED, FILES):
        con.execute(f'DROP TABLE IF EXISTS "{table}"')
    resolve_event_vintages(con)
    align_partner_vintages(con)
    derive_force_links(con)
    rebuild_lsoa_geography(con)
    vintages = dict(con.execute(
        "SELECT ingest_id, lsoa_vintage FROM ingests WHERE run_id = ?", [run_id]).fetchall())
    for record in report.records:
        record.lsoa_vintage = vintages.get(record.ingest_id)
    return report


def _drop_unchanged(con: duckdb.DuckDBPyConnection, recognised: list[PoliceFile],
                    report: PoliceIngestReport) -> list[_Planned]:
    """Bytes already loaded as the same kind change nothing and are not logged again."""
    loaded = {(k, h): i for k, h, i in con.execute(
        "SELECT kind, sha256, min(ingest_id) FROM ingests WHERE kind LIKE 'police-%' "
        "AND status = 'loaded' GROUP BY ALL").fetchall()}
    fresh: list[_Planned] = []
    in_batch: set[tuple[str, str]] = set()
    for pf in recognised:
        sha = pf.file.sha256()
        key = (f"police-{pf.kind}", sha)
        if key in loaded:
            report.unchanged.append((pf.file.display, int(loaded[key])))
        elif key in in_batch:
            report.unchanged.append((pf.file.display, 0))
        else:
            in_batch.add(key)
            fresh.append(_Planned(pf, sha))
    return fresh


def _load_group(con: duckdb.DuckDBPyConnection, group: list[_Planned], kind: str, *,
                run_id: str, replace: bool, report: PoliceIngestReport) -> None:
    stage_many(con, [p.pf for p in group], STAGE)
    _identify(con, group)
    _plan_coverage(con, group, kind, run_id=run_id, replace=replace, report=report)
    con.execute(f'DROP TABLE IF EXISTS "{FILES}"')
    files = pa.table({
        "_file": pa.array(range(len(group)), pa.int32()),
        "ingest_id": pa.array([p.ingest_id for p in group], pa.int32()),
        "month": pa.array([p.month for p in group], pa.string()),
        "force": pa.array([p.force for p in group], pa.string()),
        "conflict": pa.array([p.conflict for p in group], pa.string()),
    })
    con.register("_files_arrow", files)
    con.execute(f'CREATE TEMP TABLE "{FILES}" AS SELECT * FROM _files_arrow')
    con.unregister("_files_arrow")

    if kind == "street":
        _check_street(con)
    elif kind == "outcomes":
        con.execute(f'CREATE OR REPLACE TEMP TABLE "{CHECKED}" AS '
                    f'{validation_sql(STAGE, FILES, "Outcome type")}')
    else:
        _check_stop_search(con)
    # Rows carry their own file and line, so the store need not keep their order: DuckDB can
    # then write them in parallel.
    con.execute("SET preserve_insertion_order = false")
    try:
        _insert(con, kind)
    finally:
        con.execute("RESET preserve_insertion_order")
    _quarantine(con, group)
    _finish(con, group, kind, report)


def _identify(con: duckdb.DuckDBPyConnection, group: list[_Planned]) -> None:
    """Force and month of each file: from its name, else from its rows."""
    kinds = {p.pf.kind for p in group}
    month_expr = ("strftime(TRY_CAST(\"Date\" AS TIMESTAMPTZ), '%Y-%m')"
                  if kinds == {"stop-and-search"} else '"Month"')
    by_rows = {}
    if any(p.pf.month is None for p in group):
        by_rows = {f: m for f, m in con.execute(
            f"""SELECT _file, mode({month_expr}) FROM "{STAGE}" GROUP BY 1""").fetchall()}
    reported = {}
    if any(p.pf.force is None for p in group) and kinds != {"stop-and-search"}:
        reported = {f: r for f, r in con.execute(
            f'SELECT _file, mode("Reported by") FROM "{STAGE}" GROUP BY 1').fetchall()}
    for index, planned in enumerate(group):
        planned.month = planned.pf.month or by_rows.get(index)
        planned.force = planned.pf.force or force_id_from_name(reported.get(index))


def _plan_coverage(con: duckdb.DuckDBPyConnection, group: list[_Planned], kind: str, *,
                   run_id: str, replace: bool, report: PoliceIngestReport) -> None:
    """Log each file and settle which file covers each force and month: a second file for a
    force-month already covered is reported and its rows quarantined, or with `replace` it
    supersedes the earlier one."""
    log_kind = f"police-{kind}"
    covered = {(f, str(m)[:7]): (i, name) for i, name, f, m in con.execute(
        "SELECT ingest_id, file, force, month FROM ingests WHERE kind = ? AND status = 'loaded'",
        [log_kind]).fetchall()}
    for planned in group:
        planned.ingest_id = start_ingest(
            con, run_id=run_id, kind=log_kind, file=planned.pf.file.display, sha256=planned.sha,
            size=planned.pf.file.size(), force=planned.force, month=planned.month)
        key = (planned.force, planned.month or "")
        if planned.force and planned.month and key in covered:
            old_id, old_file = covered[key]
            message = (f"{planned.force} {planned.month} {kind} is already loaded from "
                       f"{old_file} (ingest {old_id})")
            if replace:
                _retire(con, old_id, kind, group)
                report.conflicts.append(f"{message}; replaced by {planned.pf.file.display}")
            else:
                planned.conflict = (f"duplicate coverage: {message}; pass --replace to load "
                                    "this file instead")
                report.conflicts.append(f"{message}; {planned.pf.file.display} not loaded "
                                        "(use --replace to load it instead)")
                continue
        covered[key] = (planned.ingest_id, planned.pf.file.display)


def _retire(con: duckdb.DuckDBPyConnection, old_id: int, kind: str,
            group: list[_Planned]) -> None:
    con.execute(f"DELETE FROM {TARGET[kind]} WHERE ingest_id = ?", [old_id])
    con.execute("UPDATE ingests SET status = 'replaced' WHERE ingest_id = ?", [old_id])
    for planned in group:  # a file earlier in this same batch
        if planned.ingest_id == old_id:
            planned.conflict = "replaced by a later file in the same ingest (--replace)"


def _check_street(con: duckdb.DuckDBPyConnection) -> None:
    # The same Crime ID twice in one file is a publishing duplicate: keep the first valid row.
    # Only the few repeated IDs are grouped (a join on them), not every row sorted in a window.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{CHECKED}" AS
        WITH v AS MATERIALIZED ({validation_sql(STAGE, FILES, "Crime type")}),
             repeated AS (SELECT _file, "Crime ID", min(_line) AS _first_line FROM v
                          WHERE _reason IS NULL AND "Crime ID" IS NOT NULL
                          GROUP BY ALL HAVING count(*) > 1)
        SELECT v.* REPLACE (
          CASE WHEN v._reason IS NULL AND v._line > r._first_line
               THEN 'duplicate Crime ID: first seen at line ' || r._first_line
               ELSE v._reason END AS _reason)
        FROM v LEFT JOIN repeated r USING (_file, "Crime ID")"""
    )


def _check_stop_search(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE "{CHECKED}" AS
        SELECT *,
          CASE
            WHEN conflict IS NOT NULL THEN conflict
            WHEN _error IS NOT NULL THEN _error
            WHEN _at IS NULL THEN 'Date: expected an ISO date-time, found "' ||
                                  coalesce("Date", '') || '"'
            WHEN nullif(trim("Longitude"), '') IS NOT NULL AND lon IS NULL
              THEN 'Longitude: expected a number, found "' || "Longitude" || '"'
            WHEN nullif(trim("Latitude"), '') IS NOT NULL AND lat IS NULL
              THEN 'Latitude: expected a number, found "' || "Latitude" || '"'
            ELSE NULL
          END AS _reason
        FROM (SELECT s.*, f.ingest_id, f.month AS file_month, f.force, f.conflict,
                     TRY_CAST("Date" AS TIMESTAMPTZ) AS _at,
                     TRY_CAST(nullif(trim("Longitude"), '') AS DOUBLE) AS lon,
                     TRY_CAST(nullif(trim("Latitude"), '') AS DOUBLE) AS lat,
                     NULL::VARCHAR AS lsoa
              FROM "{STAGE}" s JOIN "{FILES}" f USING (_file))"""
    )


def _insert(con: duckdb.DuckDBPyConnection, kind: str) -> None:
    def text(column: str) -> str:
        return f"nullif(trim(c.\"{column}\"), '')"

    if kind == "street":
        con.execute(
            f"""INSERT INTO events (ingest_id, line_no, source, force, month, category,
                                    record_id, lsoa_code, lsoa_name, lon, lat, location,
                                    located, outcome, context)
                SELECT c.ingest_id, c._line, 'police.uk', f.force,
                       CAST(c."Month" || '-01' AS DATE), c.ctype, {text("Crime ID")}, c.lsoa,
                       {text("LSOA name")}, c.lon, c.lat, {text("Location")},
                       c.lsoa IS NOT NULL AND c.lon IS NOT NULL,
                       {text("Last outcome category")}, {text("Context")}
                FROM "{CHECKED}" c JOIN "{FILES}" f USING (_file)
                WHERE c._reason IS NULL"""
        )
    elif kind == "outcomes":
        con.execute(
            f"""INSERT INTO police_outcomes
                SELECT c.ingest_id, c._line, f.force, CAST(c."Month" || '-01' AS DATE),
                       {text("Crime ID")}, c.lsoa, NULL, c.lon, c.lat, {text("Location")},
                       c.ctype
                FROM "{CHECKED}" c JOIN "{FILES}" f USING (_file)
                WHERE c._reason IS NULL"""
        )
    else:
        con.execute(
            f"""INSERT INTO stop_search
                SELECT c.ingest_id, c._line, c.force,
                       coalesce(CAST(c.file_month || '-01' AS DATE),
                                date_trunc('month', c._at)::DATE),
                       c._at, {text("Type")}, {text("Policing operation")}, c.lon, c.lat,
                       {text("Gender")}, {text("Age range")}, {text("Self-defined ethnicity")},
                       {text("Officer-defined ethnicity")}, {text("Legislation")},
                       {text("Object of search")}, {text("Outcome")},
                       TRY_CAST({text("Outcome linked to object of search")} AS BOOLEAN),
                       TRY_CAST({text("Removal of more than just outer clothing")} AS BOOLEAN)
                FROM "{CHECKED}" c WHERE c._reason IS NULL"""
        )


def _quarantine(con: duckdb.DuckDBPyConnection, group: list[_Planned]) -> None:
    bad = con.execute(f'SELECT _file, _line, _reason FROM "{CHECKED}" WHERE _reason IS NOT NULL '
                      "ORDER BY _file, _line").fetchall()
    if not bad:
        return
    by_file: dict[int, list[tuple[int, str]]] = {}
    for index, line, reason in bad:
        by_file.setdefault(int(index), []).append((int(line), str(reason)))
    rows = []
    for index, items in by_file.items():
        planned = group[index]
        text = raw_lines(planned.pf, [line for line, _ in items])
        header = set(planned.pf.header)
        for line, reason in items:
            head = reason.split(":", 1)[0]
            rows.append((planned.ingest_id, planned.pf.file.display, line,
                         head if head in header else None, reason, text.get(line)))
    con.executemany("INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?)", rows)


def _finish(con: duckdb.DuckDBPyConnection, group: list[_Planned], kind: str,
            report: PoliceIngestReport) -> None:
    counts = {int(i): (int(n), int(bad)) for i, n, bad in con.execute(
        f"""SELECT _file, count(*), count(*) FILTER (WHERE _reason IS NOT NULL)
            FROM "{CHECKED}" GROUP BY 1""").fetchall()}
    finished = []
    for index, planned in enumerate(group):
        rows_in, quarantined = counts.get(index, (0, 0))
        status = "duplicate-coverage" if planned.conflict and not planned.conflict.startswith(
            "replaced") else ("replaced" if planned.conflict else "loaded")
        finished.append((planned.ingest_id, status, rows_in, rows_in - quarantined,
                         quarantined, planned.conflict, None))
        report.records.append(IngestRecord(
            planned.ingest_id, f"police-{kind}", planned.pf.file.display, status,
            rows_in=rows_in, rows_loaded=rows_in - quarantined, rows_quarantined=quarantined,
            force=planned.force, month=planned.month, note=planned.conflict))
    finish_ingests(con, finished)
