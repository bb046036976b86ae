"""The coverage audit: what police data the warehouse holds, and how complete it is.

Printed after every police ingest and by `cspkit status`; an assessment quotes it as its
data-quality caveat. The JSON form is a contract other tools read: keep the key names
(`ingests`: file, rows_in, rows_loaded, rows_quarantined; `force_months`: force, month, rows,
unlocated).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb


@dataclass
class ForceMonth:
    force: str
    month: str            # YYYY-MM
    rows: int             # events loaded (crimes + ASB)
    unlocated: int        # events with no LSOA or no coordinates
    unlocated_share: float
    duplicates_skipped: int
    quarantined: int
    lsoa_vintage: str | None
    file: str


@dataclass
class Coverage:
    ingests: list[dict[str, Any]] = field(default_factory=list)
    force_months: list[ForceMonth] = field(default_factory=list)
    missing_months: list[dict[str, str]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "ingests": self.ingests,
            "force_months": [asdict(fm) for fm in self.force_months],
            "missing_months": self.missing_months,
            "conflicts": self.conflicts,
            "totals": self.totals(),
        }

    def totals(self) -> dict[str, Any]:
        rows = sum(fm.rows for fm in self.force_months)
        unlocated = sum(fm.unlocated for fm in self.force_months)
        return {
            "forces": sorted({fm.force for fm in self.force_months}),
            "months_present": len(self.force_months),
            "months_missing": len(self.missing_months),
            "rows": rows,
            "unlocated": unlocated,
            "unlocated_share": round(unlocated / rows, 4) if rows else 0.0,
            "duplicates_skipped": sum(fm.duplicates_skipped for fm in self.force_months),
        }


def coverage(con: duckdb.DuckDBPyConnection) -> Coverage:
    result = Coverage()
    columns = ["ingest_id", "run_id", "kind", "file", "status", "force", "month", "lsoa_vintage",
               "rows_in", "rows_loaded", "rows_quarantined", "note", "loaded_at", "sha256",
               "source_url"]
    for row in con.execute(
        f"""SELECT {", ".join(columns[:6])}, strftime(month, '%Y-%m'), {", ".join(columns[7:12])},
                   strftime(loaded_at, '%Y-%m-%dT%H:%M:%S'), sha256, source_url
            FROM ingests ORDER BY ingest_id"""
    ).fetchall():
        result.ingests.append(dict(zip(columns, row, strict=True)))

    for row in con.execute(
        """WITH ev AS (
             SELECT ingest_id, count(*) AS rows, count(*) FILTER (WHERE NOT located) AS unlocated
             FROM events WHERE source = 'police.uk' GROUP BY 1),
           q AS (
             SELECT i.force, i.month,
                    count(*) FILTER (WHERE q.reason LIKE 'duplicate%') AS dups,
                    count(*) AS quarantined
             FROM quarantine q JOIN ingests i USING (ingest_id)
             WHERE i.kind = 'police-street' GROUP BY 1, 2)
           SELECT i.force, strftime(i.month, '%Y-%m'), coalesce(ev.rows, 0),
                  coalesce(ev.unlocated, 0), coalesce(q.dups, 0), coalesce(q.quarantined, 0),
                  i.lsoa_vintage, i.file
           FROM ingests i LEFT JOIN ev USING (ingest_id)
           LEFT JOIN q ON q.force IS NOT DISTINCT FROM i.force AND q.month = i.month
           WHERE i.kind = 'police-street' AND i.status = 'loaded'
           ORDER BY i.force, i.month"""
    ).fetchall():
        force, month, rows, unlocated, dups, quarantined, vintage, file = row
        result.force_months.append(ForceMonth(
            force=force or "unknown", month=month, rows=int(rows), unlocated=int(unlocated),
            unlocated_share=round(unlocated / rows, 4) if rows else 0.0,
            duplicates_skipped=int(dups), quarantined=int(quarantined), lsoa_vintage=vintage,
            file=file))

    for force, month in con.execute(
        """WITH span AS (
             SELECT force, min(month) AS first, max(month) AS last FROM ingests
             WHERE kind = 'police-street' AND status = 'loaded' GROUP BY 1),
           months AS (
             SELECT force, unnest(generate_series(first, last, INTERVAL 1 MONTH))::DATE AS month
             FROM span)
           SELECT m.force, strftime(m.month, '%Y-%m') FROM months m
           WHERE NOT EXISTS (SELECT 1 FROM ingests i WHERE i.kind = 'police-street'
                             AND i.status = 'loaded' AND i.force IS NOT DISTINCT FROM m.force
                             AND i.month = m.month)
           ORDER BY 1, 2"""
    ).fetchall():
        result.missing_months.append({"force": force or "unknown", "month": month})

    for row in con.execute(
        """SELECT force, strftime(month, '%Y-%m'), kind, file, note FROM ingests
           WHERE status = 'duplicate-coverage' ORDER BY ingest_id"""
    ).fetchall():
        result.conflicts.append(dict(zip(["force", "month", "kind", "file", "note"], row,
                                         strict=True)))
    return result


@dataclass(frozen=True)
class SourceHolding:
    """What the warehouse holds of one source other than police.uk: record-level events
    (`unit` "months": distinct months with records) or aggregate indicators (`unit`
    "periods": distinct reporting periods), and the months they span."""

    source: str
    kind: str             # "records" | "aggregate figures"
    first_month: str      # YYYY-MM
    last_month: str       # YYYY-MM (an indicator period's last month)
    spans: int            # distinct months (records) or periods (aggregate figures)
    unit: str             # "months" | "periods"


def source_holdings(con: duckdb.DuckDBPyConnection) -> list[SourceHolding]:
    """Every partner source held, by source then kind: records (events) and aggregate
    figures (indicators) with the months they cover."""
    rows = con.execute(
        """SELECT source, 'records', strftime(min(month), '%Y-%m'),
                  strftime(max(month), '%Y-%m'), count(DISTINCT month), 'months'
           FROM events WHERE source <> 'police.uk' GROUP BY source
           UNION ALL
           SELECT source, 'aggregate figures', strftime(min(period_start), '%Y-%m'),
                  strftime(max(period_end), '%Y-%m'),
                  count(DISTINCT (period_start, period_end)), 'periods'
           FROM indicators GROUP BY source
           ORDER BY 1, 2""").fetchall()
    return [SourceHolding(str(s), str(k), str(f), str(la), int(n), str(u))
            for s, k, f, la, n, u in rows]
