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

from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

POLICE_KINDS = ("police-street", "police-outcomes")
# Events changed by one UPDATE when the caller commits between them.
UPDATE_ROWS = 2_000_000


def resolve_event_vintages(con: duckdb.DuckDBPyConnection,
                           commit: Callable[[], None] | None = None) -> None:
    """`commit`, if given, is called between UPDATEs of at most UPDATE_ROWS events (a
    writer's commit point: DuckDB holds an open transaction's changed rows in memory)."""
    held = {r[0] for r in con.execute(
        "SELECT DISTINCT vintage FROM area_vintages WHERE vintage IN ('2011', '2021')"
    ).fetchall()}
    if not held:
        return  # no LSOA geography yet: decided when reference data arrives
    pending = con.execute(
        f"""SELECT ingest_id, kind, force, rows_loaded FROM ingests
            WHERE kind IN {POLICE_KINDS} AND status = 'loaded' AND lsoa_vintage IS NULL
            ORDER BY ingest_id"""
    ).fetchall()
    size = {int(ingest_id): int(rows or 0) for ingest_id, _, _, rows in pending}
    pending = [(ingest_id, kind, force) for ingest_id, kind, force, _ in pending]
    if not pending:
        return
    # Every pending file's codes are looked at in one query per table, and each edition is
    # applied in one UPDATE per table: a national archive is thousands of files, and a scan of
    # the events per file would grow with their square.
    found = _vintages_from_codes(con, pending)
    decided: dict[tuple[str, str], list[int]] = {}
    undecided: list[tuple[int, str, str | None]] = []
    for ingest_id, kind, force in pending:
        vintage = found.get(ingest_id, "none")
        if vintage == "none":
            continue  # no code we hold yet: looked at again after the next reference load
        if vintage == "undecided":
            undecided.append((ingest_id, kind, force))
        else:
            decided.setdefault((kind, vintage), []).append(ingest_id)
    for (kind, vintage), ids in decided.items():
        for chunk in _chunks(ids, size) if commit else [ids]:
            _apply(con, chunk, kind, vintage)
            if commit:
                commit()
    for ingest_id, kind, force in undecided:
        row = con.execute(
            """SELECT lsoa_vintage, count(*) c FROM ingests
               WHERE force IS NOT DISTINCT FROM ? AND lsoa_vintage IN ('2011', '2021')
               GROUP BY 1 ORDER BY c DESC LIMIT 1""",
            [force],
        ).fetchone()
        vintage = row[0] if row else ("2021" if "2021" in held else "2011")
        _apply(con, [ingest_id], kind, vintage)


def _chunks(ids: list[int], size: dict[int, int]) -> list[list[int]]:
    """`ids` in runs of at most UPDATE_ROWS rows (a file larger than that alone)."""
    chunks: list[list[int]] = [[]]
    rows = 0
    for ingest_id in ids:
        if chunks[-1] and rows + size.get(ingest_id, 0) > UPDATE_ROWS:
            chunks.append([])
            rows = 0
        chunks[-1].append(ingest_id)
        rows += size.get(ingest_id, 0)
    return chunks


def _table(kind: str) -> str:
    return "events" if kind == "police-street" else "police_outcomes"


def _pending_ids(con: duckdb.DuckDBPyConnection, ids: list[int]) -> None:
    """The temporary table `_vintage_ids` (ingest_id) holding `ids`."""
    con.execute("CREATE OR REPLACE TEMP TABLE _vintage_ids (ingest_id INTEGER PRIMARY KEY)")
    con.execute("INSERT INTO _vintage_ids SELECT unnest(?::INTEGER[])", [list(ids)])


def _vintages_from_codes(con: duckdb.DuckDBPyConnection,
                         pending: list[tuple[int, str, str | None]]) -> dict[int, str]:
    """Each pending file's edition from its codes: 2021, 2011, mixed, undecided (every code in
    both editions) or none (no code held)."""
    out: dict[int, str] = {}
    for kind in POLICE_KINDS:
        ids = [ingest_id for ingest_id, k, _ in pending if k == kind]
        if not ids:
            continue
        _pending_ids(con, ids)
        for ingest_id, only11, only21, both in con.execute(
            f"""WITH codes AS (SELECT DISTINCT ingest_id, lsoa_code FROM {_table(kind)}
                               WHERE ingest_id IN (SELECT ingest_id FROM _vintage_ids)
                                 AND lsoa_code IS NOT NULL),
                m AS (SELECT c.ingest_id, c.lsoa_code,
                             bool_or(v.vintage = '2011') AS in11,
                             bool_or(v.vintage = '2021') AS in21
                      FROM codes c LEFT JOIN area_vintages v ON v.code = c.lsoa_code
                      GROUP BY 1, 2)
                SELECT ingest_id, count(*) FILTER (WHERE in11 AND NOT in21),
                       count(*) FILTER (WHERE in21 AND NOT in11),
                       count(*) FILTER (WHERE in11 AND in21)
                FROM m GROUP BY 1"""
        ).fetchall():
            out[int(ingest_id)] = _edition(int(only11 or 0), int(only21 or 0), int(both or 0))
        con.execute("DROP TABLE IF EXISTS _vintage_ids")
    return out


def _edition(only11: int, only21: int, both: int) -> str:
    if only21 and not only11:
        return "2021"
    if only11 and not only21:
        return "2011"
    if only11 and only21:
        return "mixed"
    return "undecided" if both else "none"


def _apply(con: duckdb.DuckDBPyConnection, ingest_ids: list[int], kind: str,
           vintage: str) -> None:
    table = _table(kind)
    preferred = vintage if vintage in ("2011", "2021") else "2021"
    other = "2011" if preferred == "2021" else "2021"
    _pending_ids(con, ingest_ids)
    con.execute(
        f"""UPDATE {table} t SET lsoa_vintage = CASE
              WHEN EXISTS (SELECT 1 FROM area_vintages v
                           WHERE v.code = t.lsoa_code AND v.vintage = '{preferred}')
                THEN '{preferred}'
              WHEN EXISTS (SELECT 1 FROM area_vintages v
                           WHERE v.code = t.lsoa_code AND v.vintage = '{other}')
                THEN '{other}'
              ELSE NULL END
            WHERE ingest_id IN (SELECT ingest_id FROM _vintage_ids) AND lsoa_code IS NOT NULL
              AND ingest_id BETWEEN ? AND ?""", [min(ingest_ids), max(ingest_ids)]
    )   # the range lets DuckDB skip the row groups of other ingests (rows come in id order)
    con.execute("UPDATE ingests SET lsoa_vintage = ? WHERE ingest_id IN "
                "(SELECT ingest_id FROM _vintage_ids)", [vintage])
    con.execute("DROP TABLE IF EXISTS _vintage_ids")


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


@dataclass(frozen=True)
class LsoaEditions:
    """The LSOA codes held in each edition, to decide police files' editions as their rows are
    written (an UPDATE of every event afterwards costs as much again as writing them)."""

    codes_2011: pa.Array
    codes_2021: pa.Array


def lsoa_editions(con: duckdb.DuckDBPyConnection) -> LsoaEditions | None:
    """The codes of each edition held; None when neither is (nothing can be decided yet)."""
    rows = con.sql("SELECT code, vintage FROM area_vintages "
                   "WHERE vintage IN ('2011', '2021')").to_arrow_table()
    if rows.num_rows == 0:
        return None
    vintage = rows.column("vintage")
    return LsoaEditions(rows.filter(pc.equal(vintage, "2011")).column("code").combine_chunks(),
                        rows.filter(pc.equal(vintage, "2021")).column("code").combine_chunks())


def with_file_vintages(rows: pa.Table, editions: LsoaEditions
                       ) -> tuple[pa.Table, dict[int, str]]:
    """Police rows (columns ingest_id, lsoa_code) of files not yet resolved, with lsoa_vintage
    as `resolve_event_vintages` would give them: each file's edition is decided from its codes
    (`_edition`) and each row takes it if its code is in that edition, else the other if it is
    there. Files it leaves undecided (every code in both editions, or none held) get NULL and
    are resolved afterwards, as before. Returns the rows and each decided file's edition."""
    code = rows.column("lsoa_code")
    in11 = pc.fill_null(pc.is_in(code, value_set=editions.codes_2011), False)
    in21 = pc.fill_null(pc.is_in(code, value_set=editions.codes_2021), False)
    codes = pa.table({"ingest_id": rows.column("ingest_id"), "code": code, "in11": in11,
                      "in21": in21}).filter(pc.is_valid(code))
    distinct = codes.group_by(["ingest_id", "code"]).aggregate([("in11", "max"),
                                                                ("in21", "max")])
    a, b = distinct.column("in11_max"), distinct.column("in21_max")
    per_file = pa.table({
        "ingest_id": distinct.column("ingest_id"),
        "only11": pc.cast(pc.and_(a, pc.invert(b)), pa.int64()),
        "only21": pc.cast(pc.and_(b, pc.invert(a)), pa.int64()),
        "both": pc.cast(pc.and_(a, b), pa.int64()),
    }).group_by("ingest_id").aggregate([("only11", "sum"), ("only21", "sum"), ("both", "sum")])
    decided: dict[int, str] = {}
    for ingest_id, only11, only21, both in zip(
            *(per_file.column(c).to_pylist() for c in
              ("ingest_id", "only11_sum", "only21_sum", "both_sum")), strict=True):
        edition = _edition(int(only11 or 0), int(only21 or 0), int(both or 0))
        if edition in ("2011", "2021", "mixed"):
            decided[int(ingest_id)] = edition
    ids = pa.array(list(decided), pa.int32())
    preferred_of = pa.array(["2011" if v == "2011" else "2021" for v in decided.values()],
                            pa.string())
    preferred = pc.take(preferred_of, pc.index_in(rows.column("ingest_id"), value_set=ids))
    prefers_2021 = pc.equal(preferred, "2021")
    other = pc.if_else(prefers_2021, "2011", "2021")
    in_preferred = pc.if_else(prefers_2021, in21, in11)
    in_other = pc.if_else(prefers_2021, in11, in21)
    vintage = pc.if_else(in_preferred, preferred,
                         pc.if_else(in_other, other, pa.scalar(None, pa.string())))
    return rows.append_column("lsoa_vintage", vintage), decided
