"""Which LSOA edition (2011 or 2021) each police file and event carries.

data.police.uk files give LSOA codes without saying their edition: files downloaded before the
switch carry 2011 codes, later downloads 2021 codes, for any month. We decide per file from the
codes themselves: codes that exist only in one edition settle it. A file whose codes are all
unchanged between editions takes the edition of its force's other files (then 2021 if we hold
it). Each event then carries the file's edition if its code is in that edition, else the other
one if its code is there, else NULL (a code in no geography we hold, e.g. Scotland).
Runs after every police and reference load; only unresolved files are looked at.
"""

from __future__ import annotations

import duckdb

POLICE_KINDS = ("police-street", "police-outcomes")


def resolve_event_vintages(con: duckdb.DuckDBPyConnection) -> None:
    held = {r[0] for r in con.execute(
        "SELECT DISTINCT vintage FROM area_vintages WHERE vintage IN ('2011', '2021')"
    ).fetchall()}
    if not held:
        return  # no LSOA geography yet: decided when reference data arrives
    pending = con.execute(
        f"""SELECT ingest_id, kind, force FROM ingests
            WHERE kind IN {POLICE_KINDS} AND status = 'loaded' AND lsoa_vintage IS NULL
            ORDER BY ingest_id"""
    ).fetchall()
    undecided: list[tuple[int, str, str | None]] = []
    for ingest_id, kind, force in pending:
        vintage = _vintage_from_codes(con, ingest_id, kind)
        if vintage == "none":
            continue  # no code we hold yet: looked at again after the next reference load
        if vintage == "undecided":
            undecided.append((ingest_id, kind, force))
        else:
            _apply(con, ingest_id, kind, vintage)
    for ingest_id, kind, force in undecided:
        row = con.execute(
            """SELECT lsoa_vintage, count(*) c FROM ingests
               WHERE force IS NOT DISTINCT FROM ? AND lsoa_vintage IN ('2011', '2021')
               GROUP BY 1 ORDER BY c DESC LIMIT 1""",
            [force],
        ).fetchone()
        vintage = row[0] if row else ("2021" if "2021" in held else "2011")
        _apply(con, ingest_id, kind, vintage)


def _table(kind: str) -> str:
    return "events" if kind == "police-street" else "police_outcomes"


def _vintage_from_codes(con: duckdb.DuckDBPyConnection, ingest_id: int, kind: str) -> str:
    row = con.execute(
        f"""WITH codes AS (SELECT DISTINCT lsoa_code FROM {_table(kind)}
                           WHERE ingest_id = ? AND lsoa_code IS NOT NULL),
            m AS (SELECT c.lsoa_code,
                         bool_or(v.vintage = '2011') AS in11, bool_or(v.vintage = '2021') AS in21
                  FROM codes c LEFT JOIN area_vintages v ON v.code = c.lsoa_code
                  GROUP BY 1)
            SELECT count(*) FILTER (WHERE in11 AND NOT in21),
                   count(*) FILTER (WHERE in21 AND NOT in11),
                   count(*) FILTER (WHERE in11 AND in21)
            FROM m""",
        [ingest_id],
    ).fetchone()
    only11, only21, both = (int(x or 0) for x in row) if row else (0, 0, 0)
    if only21 and not only11:
        return "2021"
    if only11 and not only21:
        return "2011"
    if only11 and only21:
        return "mixed"
    return "undecided" if both else "none"


def _apply(con: duckdb.DuckDBPyConnection, ingest_id: int, kind: str, vintage: str) -> None:
    table = _table(kind)
    preferred = vintage if vintage in ("2011", "2021") else "2021"
    other = "2011" if preferred == "2021" else "2021"
    con.execute(
        f"""UPDATE {table} t SET lsoa_vintage = CASE
              WHEN EXISTS (SELECT 1 FROM area_vintages v
                           WHERE v.code = t.lsoa_code AND v.vintage = '{preferred}')
                THEN '{preferred}'
              WHEN EXISTS (SELECT 1 FROM area_vintages v
                           WHERE v.code = t.lsoa_code AND v.vintage = '{other}')
                THEN '{other}'
              ELSE NULL END
            WHERE ingest_id = ? AND lsoa_code IS NOT NULL""",
        [ingest_id],
    )
    con.execute("UPDATE ingests SET lsoa_vintage = ? WHERE ingest_id = ?", [vintage, ingest_id])


def align_partner_vintages(con: duckdb.DuckDBPyConnection) -> None:
    """Partner events whose LSOA code exists in both editions take the edition the police data
    uses for that code, so a district's partner and police events meet the same wards (an
    unchanged East Cambridgeshire LSOA would otherwise fall to the 2021 wards while the police
    data for it uses the 2011 ones)."""
    con.execute(
        """UPDATE events p SET lsoa_vintage = v.vintage
           FROM (SELECT lsoa_code, mode(lsoa_vintage) AS vintage FROM events
                 WHERE source = 'police.uk' AND lsoa_vintage IS NOT NULL GROUP BY 1) v
           WHERE p.source <> 'police.uk' AND p.lsoa_code = v.lsoa_code
             AND p.lsoa_vintage IS DISTINCT FROM v.vintage
             AND EXISTS (SELECT 1 FROM area_vintages a
                         WHERE a.code = p.lsoa_code AND a.vintage = v.vintage)""")
