"""The quarantine, read: the input rows an ingest rejected, with the line and the reason.

Every loader writes rejected rows through `ingest_log.quarantine_many`; these named queries
read them back for whoever shows them (the dashboard's Data page). Rows of files loaded through
a restricted schema (record-level health or police-marker data) are left out unless asked for:
their raw text is the restricted record itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from cspkit.store.ingest_log import RESTRICTED_MARK


@dataclass(frozen=True)
class QuarantineReason:
    kind: str            # the ingest's kind, e.g. police-street
    file: str            # as logged (the caller decides how much of the path to show)
    reason: str          # the reason's general part: the text before its first ':'
    rows: int


@dataclass(frozen=True)
class QuarantinedRow:
    ingest_id: int
    kind: str
    file: str
    line_no: int | None
    column_name: str | None
    reason: str
    raw: str | None


def _restricted_clause(include_restricted: bool) -> str:
    return "" if include_restricted else \
        "AND NOT coalesce(starts_with(i.note, $mark), false)"


def quarantine_total(con: duckdb.DuckDBPyConnection, *, include_restricted: bool = False
                     ) -> int:
    """How many rows the quarantine holds (of files loaded as restricted only if asked)."""
    row = con.execute(
        f"""SELECT count(*) FROM quarantine q JOIN ingests i USING (ingest_id)
            WHERE true {_restricted_clause(include_restricted)}""",
        {} if include_restricted else {"mark": RESTRICTED_MARK}).fetchone()
    return int(row[0]) if row else 0


def quarantine_reasons(con: duckdb.DuckDBPyConnection, *, include_restricted: bool = False
                       ) -> list[QuarantineReason]:
    """Rows quarantined by file and general reason ('duplicate Crime ID: first seen at line
    10' counts as 'duplicate Crime ID'), most first."""
    rows = con.execute(
        f"""SELECT i.kind, q.file, split_part(q.reason, ':', 1) AS reason, count(*) AS n
            FROM quarantine q JOIN ingests i USING (ingest_id)
            WHERE true {_restricted_clause(include_restricted)}
            GROUP BY ALL ORDER BY n DESC, i.kind, q.file, reason""",
        {} if include_restricted else {"mark": RESTRICTED_MARK}).fetchall()
    return [QuarantineReason(str(k), str(f), str(r), int(n)) for k, f, r, n in rows]


def quarantined_rows(con: duckdb.DuckDBPyConnection, *, limit: int = 100, offset: int = 0,
                     ingest_id: int | None = None, include_restricted: bool = False
                     ) -> list[QuarantinedRow]:
    """The quarantined rows themselves, newest ingest first, in line order: at most `limit`
    from `offset`, of one ingest if `ingest_id` is given."""
    params: dict[str, object] = {"limit": max(0, limit), "offset": max(0, offset),
                                 "ingest": ingest_id}
    if not include_restricted:
        params["mark"] = RESTRICTED_MARK
    rows = con.execute(
        f"""SELECT q.ingest_id, i.kind, q.file, q.line_no, q.column_name, q.reason, q.raw
            FROM quarantine q JOIN ingests i USING (ingest_id)
            WHERE ($ingest IS NULL OR q.ingest_id = $ingest)
              {_restricted_clause(include_restricted)}
            ORDER BY q.ingest_id DESC, q.line_no NULLS LAST, q.reason
            LIMIT $limit OFFSET $offset""", params).fetchall()
    return [QuarantinedRow(int(i), str(k), str(f), None if n is None else int(n), c, str(r), w)
            for i, k, f, n, c, r, w in rows]
