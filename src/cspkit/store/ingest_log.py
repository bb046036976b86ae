"""The ingest log: one row per file offered, one quarantine row per rejected input row.

Invariant kept by every loader: rows_in = rows_loaded + rows_quarantined.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import pyarrow as pa


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class IngestRecord:
    ingest_id: int
    kind: str
    file: str
    status: str
    rows_in: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    force: str | None = None
    month: str | None = None
    lsoa_vintage: str | None = None
    note: str | None = None
    control_characters: int = 0


def start_ingests(con: duckdb.DuckDBPyConnection, run_id: str,
                  files: list[tuple[str, str, str, int | None, str | None, str | None]],
                  source_urls: list[str | None] | None = None) -> list[int]:
    """Insert the ingest rows of many files in one statement, (kind, file, sha256, bytes,
    force, month) each, as 'loading', with the URL each was downloaded from where known;
    returns their ingest ids in the same order (the rest is filled in by finish_ingests)."""
    if not files:
        return []
    kinds, names, hashes, sizes, forces, months = (list(c) for c in zip(*files, strict=True))
    urls = list(source_urls) if source_urls is not None else [None] * len(files)
    table = pa.table({
        "ord": pa.array(range(len(files)), pa.int64()), "kind": pa.array(kinds, pa.string()),
        "file": pa.array(names, pa.string()), "sha256": pa.array(hashes, pa.string()),
        "bytes": pa.array(sizes, pa.int64()), "force": pa.array(forces, pa.string()),
        "month": pa.array([f"{m}-01" if m and len(m) == 7 else m for m in months],
                          pa.string()),
        "source_url": pa.array(urls, pa.string())})
    con.register("_starting", table)
    try:
        rows = con.execute(
            """INSERT INTO ingests (run_id, kind, file, sha256, bytes, force, month, status,
                                   source_url)
               SELECT ?, kind, file, sha256, bytes, force, CAST(month AS DATE), 'loading',
                      source_url
               FROM _starting ORDER BY ord RETURNING ingest_id""", [run_id]).fetchall()
    finally:
        con.unregister("_starting")
    # ids come from one sequence in insertion order
    return sorted(int(r[0]) for r in rows)


def finish_ingests(con: duckdb.DuckDBPyConnection,
                   rows: list[tuple[int, str, int, int, int, str | None, str | None]]) -> None:
    """Finish many ingest rows in one statement: rows of (ingest_id, status, rows_in,
    rows_loaded, rows_quarantined, note, lsoa_vintage)."""
    for ingest_id, _, rows_in, loaded, quarantined, _, _ in rows:
        if rows_in != loaded + quarantined:
            raise AssertionError(f"ingest {ingest_id}: rows in {rows_in} != loaded {loaded} + "
                                 f"quarantined {quarantined}")
    if not rows:
        return
    columns = list(zip(*rows, strict=True))
    con.execute(
        """UPDATE ingests SET status = v.status, rows_in = v.rows_in,
               rows_loaded = v.rows_loaded, rows_quarantined = v.rows_quarantined,
               note = v.note, lsoa_vintage = v.lsoa_vintage
           FROM (SELECT unnest(?::INTEGER[]) AS ingest_id, unnest(?::VARCHAR[]) AS status,
                        unnest(?::BIGINT[]) AS rows_in, unnest(?::BIGINT[]) AS rows_loaded,
                        unnest(?::BIGINT[]) AS rows_quarantined, unnest(?::VARCHAR[]) AS note,
                        unnest(?::VARCHAR[]) AS lsoa_vintage) v
           WHERE ingests.ingest_id = v.ingest_id""",
        [list(c) for c in columns])


def quarantine_many(con: duckdb.DuckDBPyConnection,
                    rows: list[tuple[int, str, int | None, str | None, str, str | None]]) -> int:
    """Rejected rows of many files: (ingest_id, file, line_no, column, reason, raw)."""
    if not rows:
        return 0
    ids, files, lines, columns, reasons, raws = zip(*rows, strict=True)
    # One Arrow insert: row-by-row executemany costs seconds for a file of thousands of rows.
    table = pa.table({"ingest_id": pa.array(ids, pa.int32()),
                      "file": pa.array(files, pa.string()),
                      "line_no": pa.array(lines, pa.int64()),
                      "column_name": pa.array(columns, pa.string()),
                      "reason": pa.array(reasons, pa.string()),
                      "raw": pa.array(raws, pa.string())})
    con.register("_quarantine_rows", table)
    try:
        con.execute("INSERT INTO quarantine SELECT * FROM _quarantine_rows")
    finally:
        con.unregister("_quarantine_rows")
    return len(rows)


# Files of made-up data say so in their name (the shipped partner samples are
# `*_SYNTHETIC.csv`); whatever they hold is labelled synthetic wherever it is published.
SYNTHETIC_MARK = "SYNTHETIC"


def synthetic_sources(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The sources (`events.source`, `indicators.source`) holding rows loaded from a file
    whose name contains SYNTHETIC (any case). The name, not the folders above it: a real file
    kept under a folder called 'synthetic-tests' is real."""
    ids = [r[0] for r in con.execute(
        "SELECT ingest_id FROM ingests WHERE status = 'loaded' AND regexp_matches(file, ?)",
        [f"(?i){SYNTHETIC_MARK}[^/\\\\]*$"]).fetchall()]
    if not ids:
        return frozenset()
    marks = ", ".join("?" for _ in ids)
    rows = con.execute(
        f"""SELECT DISTINCT source FROM events WHERE ingest_id IN ({marks})
            UNION SELECT DISTINCT source FROM indicators WHERE ingest_id IN ({marks})""",
        [*ids, *ids]).fetchall()
    return frozenset(str(r[0]) for r in rows)


# What the partner loader writes in the ingest note of a file loaded through a schema marked
# `restricted: true` (sources.partner.load.RESTRICTED_NOTE starts with it).
RESTRICTED_MARK = "restricted record-level data"


def restricted_sources(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """The sources holding rows loaded through a restricted schema (record-level health or
    police-marker data): aggregated outputs only, and only for those allowed to see them."""
    rows = con.execute(
        """SELECT DISTINCT e.source FROM events e JOIN ingests i USING (ingest_id)
           WHERE i.status = 'loaded' AND starts_with(i.note, ?)
           UNION SELECT DISTINCT d.source FROM indicators d JOIN ingests i USING (ingest_id)
           WHERE i.status = 'loaded' AND starts_with(i.note, ?)""",
        [RESTRICTED_MARK, RESTRICTED_MARK]).fetchall()
    return frozenset(str(r[0]) for r in rows)


def loaded_as(con: duckdb.DuckDBPyConnection, hashes: Iterable[str], kinds: Iterable[str]
              ) -> dict[str, tuple[str, int]]:
    """For each of `hashes` already loaded as one of `kinds`: that kind and the first ingest
    id (one query for a whole batch of files)."""
    hashes, kinds = list(hashes), list(kinds)
    if not hashes or not kinds:
        return {}
    return {str(h): (str(k), int(i)) for h, k, i in con.execute(
        """SELECT sha256, arg_min(kind, ingest_id), min(ingest_id) FROM ingests
           WHERE status = 'loaded' AND sha256 IN (SELECT unnest(?))
             AND kind IN (SELECT unnest(?)) GROUP BY sha256""", [hashes, kinds]).fetchall()}


def coverage_held(con: duckdb.DuckDBPyConnection, kind: str
                  ) -> dict[tuple[str, str], tuple[int, str]]:
    """(force, YYYY-MM) -> (ingest id, file) for every loaded file of `kind`."""
    return {(str(f), str(m)[:7]): (int(i), str(name)) for i, name, f, m in con.execute(
        "SELECT ingest_id, file, force, month FROM ingests WHERE kind = ? AND status = 'loaded' "
        "AND force IS NOT NULL AND month IS NOT NULL", [kind]).fetchall()}


def retire_ingest(con: duckdb.DuckDBPyConnection, ingest_id: int, table: str) -> None:
    """A file replaced by another for the same coverage: its rows go, its log row stays."""
    if table not in ("events", "police_outcomes", "stop_search", "indicators"):
        raise ValueError(f"no rows of ingests in {table!r}")
    con.execute(f'DELETE FROM "{table}" WHERE ingest_id = ?', [ingest_id])
    con.execute("UPDATE ingests SET status = 'replaced' WHERE ingest_id = ?", [ingest_id])


def forget_vintage(con: duckdb.DuckDBPyConnection, ingest_id: int) -> None:
    """A file replaced in the ingest that loaded it keeps no LSOA edition."""
    con.execute("UPDATE ingests SET lsoa_vintage = NULL WHERE ingest_id = ?", [ingest_id])


def ingest_vintages(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[int, str | None]:
    return {int(i): v for i, v in con.execute(
        "SELECT ingest_id, lsoa_vintage FROM ingests WHERE run_id = ?", [run_id]).fetchall()}


def held_geography(con: duckdb.DuckDBPyConnection
                   ) -> tuple[dict[str, frozenset[str]], dict[str, str], frozenset[str],
                              frozenset[str]]:
    """What geography the warehouse holds: editions by code, LSOA names, area codes, levels."""
    vintages: dict[str, set[str]] = {}
    for code, vintage in con.execute("SELECT code, vintage FROM area_vintages").fetchall():
        vintages.setdefault(code, set()).add(vintage)
    names = dict(con.execute(
        "SELECT code, name FROM areas WHERE level = 'lsoa' AND name IS NOT NULL").fetchall())
    areas = frozenset(r[0] for r in con.execute("SELECT code FROM areas").fetchall())
    levels = frozenset(r[0] for r in con.execute("SELECT DISTINCT level FROM areas").fetchall())
    return {k: frozenset(v) for k, v in vintages.items()}, names, areas, levels
