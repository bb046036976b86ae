"""The ingest log: one row per file offered, one quarantine row per rejected input row.

Invariant kept by every loader: rows_in = rows_loaded + rows_quarantined.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb


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


def start_ingest(con: duckdb.DuckDBPyConnection, *, run_id: str, kind: str, file: str,
                 sha256: str, size: int | None, force: str | None = None,
                 month: str | None = None, status: str = "loading") -> int:
    """Insert the ingest row and return its id (rows are filled in by finish_ingest)."""
    row = con.execute(
        """INSERT INTO ingests (run_id, kind, file, sha256, bytes, force, month, status)
           VALUES (?, ?, ?, ?, ?, ?, CAST(? AS DATE), ?) RETURNING ingest_id""",
        [run_id, kind, file, sha256, size, force,
         f"{month}-01" if month and len(month) == 7 else month, status],
    ).fetchone()
    assert row is not None
    return int(row[0])


def finish_ingest(con: duckdb.DuckDBPyConnection, ingest_id: int, *, status: str,
                  rows_in: int, rows_loaded: int, rows_quarantined: int,
                  note: str | None = None, lsoa_vintage: str | None = None) -> None:
    finish_ingests(con, [(ingest_id, status, rows_in, rows_loaded, rows_quarantined, note,
                          lsoa_vintage)])


def finish_ingests(con: duckdb.DuckDBPyConnection,
                   rows: list[tuple[int, str, int, int, int, str | None, str | None]]) -> None:
    """`finish_ingest` for many files in one statement: rows of (ingest_id, status, rows_in,
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


def quarantine_rows(con: duckdb.DuckDBPyConnection, ingest_id: int, file: str,
                    rows: Iterable[tuple[int | None, str | None, str, str | None]]) -> int:
    """Store rejected rows as (line_no, column, reason, raw line); returns how many."""
    batch = [(ingest_id, file, line, column, reason, raw) for line, column, reason, raw in rows]
    if batch:
        con.executemany("INSERT INTO quarantine VALUES (?, ?, ?, ?, ?, ?)", batch)
    return len(batch)


def loaded_with_hash(con: duckdb.DuckDBPyConnection, sha256: str, kind: str) -> int | None:
    """The ingest id that already loaded exactly these bytes as this kind, if any."""
    row = con.execute(
        "SELECT ingest_id FROM ingests WHERE sha256 = ? AND kind = ? AND status = 'loaded' "
        "ORDER BY ingest_id LIMIT 1",
        [sha256, kind],
    ).fetchone()
    return int(row[0]) if row else None


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
