"""Writing parsed rows into the warehouse's tables: the one place rows from files enter it.

Rows arrive as Arrow tables (or, from a very large file, a Parquet file) whose columns are named
as the target table's; the writer adds `ingest_id` and `source` where the table has them. How a
table takes new rows (appended, replacing the row with the same key, or merged) is a property of
the table and is settled here, whatever file the rows came from.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb
import pyarrow as pa

AreaRow = tuple[str, str, str | None, str | None]
LinkRow = tuple[str, str, str, str, str, str]
Rows = pa.Table | Path

# Tables that grow by appending (one row per input row, tied to its ingest).
APPEND = ("events", "indicators", "police_outcomes", "stop_search")
# Reference tables keyed by area (and edition): a newer file's row replaces an older one.
REPLACE = ("area_geometry", "area_centroids", "area_attributes", "population", "population_age",
           "imd_district")
# The same figure may come twice in one file (a workbook's single-year sheet and its time
# series both give the latest year): one row per key.
ONE_PER_KEY = {"imd_district": ("lad_code", "edition", "domain", "measure"),
               "population": ("code", "vintage", "year"),
               "population_age": ("code", "vintage", "year", "age_from")}
# Deprivation files complement each other (ranks from one, scores from another).
MERGE_IMD = """
    INSERT INTO imd ({columns}) SELECT {select} FROM _rows
    ON CONFLICT (lsoa_code, edition, domain) DO UPDATE SET
        lsoa_vintage = excluded.lsoa_vintage,
        score = coalesce(excluded.score, imd.score),
        rank = coalesce(excluded.rank, imd.rank),
        decile = coalesce(excluded.decile, imd.decile),
        source = excluded.source"""
# Without a change indicator the kind of change follows from how the codes pair up.
LSOA_CHANGES = """
    INSERT OR REPLACE INTO lsoa_changes
    WITH pairs AS (SELECT lsoa11, lsoa21, any_value(change) AS change
                   FROM _rows GROUP BY lsoa11, lsoa21),
    fan AS (SELECT *, count(*) OVER (PARTITION BY lsoa11) AS n21,
                      count(*) OVER (PARTITION BY lsoa21) AS n11 FROM pairs)
    SELECT lsoa11, lsoa21,
           CASE WHEN change <> '' THEN change
                WHEN n21 > 1 AND n11 > 1 THEN 'X' WHEN n21 > 1 THEN 'S'
                WHEN n11 > 1 THEN 'M' ELSE 'U' END, ?
    FROM fan"""
TARGETS = (*APPEND, *REPLACE, "imd", "lsoa_changes")


@contextmanager
def memory_capped(con: duckdb.DuckDBPyConnection, limit_bytes: int) -> Iterator[None]:
    """DuckDB's memory for the duration of a load, spilling to disk beyond it; the setting
    held before is restored afterwards."""
    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    before = str(row[0]) if row else None
    con.execute(f"SET memory_limit = '{int(limit_bytes) // (1 << 20)}MiB'")
    try:
        yield
    except BaseException:
        # The transaction may be aborted, when no statement runs until the rollback: the
        # caller's rollback ends it; the setting is restored if it can be, and the original
        # error is the one raised.
        if before:
            with suppress(duckdb.Error):
                con.execute(f"SET memory_limit = '{before}'")
        raise
    if before:
        con.execute(f"SET memory_limit = '{before}'")


@contextmanager
def threads_capped(con: duckdb.DuckDBPyConnection, threads: int | None) -> Iterator[None]:
    """At most `threads` threads for the writes (None: as set), the setting held before
    restored afterwards: while a parser works on another core, one thread writes the same rows
    for less CPU than two keeping them in order between them."""
    if threads is None:
        yield
        return
    row = con.execute("SELECT current_setting('threads')").fetchone()
    before = int(row[0]) if row else None
    con.execute(f"SET threads = {int(threads)}")
    try:
        yield
    finally:
        if before:
            with suppress(duckdb.Error):
                con.execute(f"SET threads = {before}")


_COLUMNS: dict[str, list[str]] = {}


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """A target's columns (fixed for a schema version, so asked once per process)."""
    if table not in _COLUMNS:
        _COLUMNS[table] = [d[0] for d in con.execute(
            f'SELECT * FROM "{table}" LIMIT 0').description]
    return _COLUMNS[table]


def write_rows(con: duckdb.DuckDBPyConnection, target: str, rows: pa.Table, *,
               ingest_id: int, source: str) -> int:
    """Write `rows` into `target`; returns how many rows were offered."""
    con.register("_rows", rows)
    try:
        return _insert(con, target, list(rows.schema.names), rows.num_rows,
                       ingest_id=ingest_id, source=source)
    finally:
        con.unregister("_rows")


def write_parquet(con: duckdb.DuckDBPyConnection, target: str, path: Path, *, ingest_id: int,
                  source: str) -> int:
    """Rows a parser spilled to a Parquet file (a very large input), streamed into `target`
    by DuckDB itself, so they never pass through Python's memory."""
    literal = "'" + str(path).replace("'", "''") + "'"
    con.execute(f"CREATE OR REPLACE TEMP VIEW _rows AS SELECT * FROM read_parquet({literal})")
    try:
        names = [d[0] for d in con.execute("SELECT * FROM _rows LIMIT 0").description]
        row = con.execute("SELECT count(*) FROM _rows").fetchone()
        return _insert(con, target, names, int(row[0]) if row else 0, ingest_id=ingest_id,
                       source=source)
    finally:
        con.execute("DROP VIEW IF EXISTS _rows")


def _insert(con: duckdb.DuckDBPyConnection, target: str, names: list[str], offered: int, *,
            ingest_id: int, source: str) -> int:
    """Insert the relation `_rows` (columns `names`) into `target`."""
    if target not in TARGETS:
        raise ValueError(f"no table {target!r} takes parsed rows")
    if target == "lsoa_changes":
        con.execute(LSOA_CHANGES, [source])
        return offered
    held = table_columns(con, target)
    unknown = [n for n in names if n not in held]
    if unknown:
        raise ValueError(f"{target} has no column {unknown[0]!r}")
    columns = list(names)
    select = [f'"{c}"' for c in names]
    params: list[object] = []
    if "ingest_id" in held and "ingest_id" not in names:
        columns.append("ingest_id")
        select.append("?")
        params.append(ingest_id)
    if "source" in held and "source" not in names:
        columns.append("source")
        select.append("?")
        params.append(source)
    quoted = ", ".join(f'"{c}"' for c in columns)
    if target == "imd":
        con.execute(MERGE_IMD.format(columns=quoted, select=", ".join(select)), params)
    elif target in ONE_PER_KEY:
        keys = ONE_PER_KEY[target]
        chosen = [s if c in keys else f"any_value({s})" for c, s in zip(columns, select,
                                                                          strict=True)]
        group = ", ".join(f'"{k}"' for k in keys)
        con.execute(f'INSERT OR REPLACE INTO "{target}" ({quoted}) SELECT '
                    f"{', '.join(chosen)} FROM _rows GROUP BY {group}", params)
    else:
        verb = "INSERT" if target in APPEND else "INSERT OR REPLACE"
        con.execute(f'{verb} INTO "{target}" ({quoted}) SELECT {", ".join(select)} '
                    "FROM _rows", params)
    return offered


def write(con: duckdb.DuckDBPyConnection, target: str, rows: Rows, *, ingest_id: int,
          source: str) -> int:
    """Rows in memory, or spilled to Parquet by a parser (a very large file); returns how many
    rows were written."""
    if isinstance(rows, Path):
        return write_parquet(con, target, rows, ingest_id=ingest_id, source=source)
    return write_rows(con, target, rows, ingest_id=ingest_id, source=source)


def _register(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, Sequence[object]],
              types: dict[str, pa.DataType] | None = None) -> None:
    types = types or {}
    table = pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in columns.items()})
    con.register("_area_arrow", table)
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM _area_arrow')
    con.unregister("_area_arrow")


def _drop(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    for name in names:
        con.execute(f'DROP TABLE IF EXISTS "{name}"')


def upsert_areas(con: duckdb.DuckDBPyConnection, rows: Sequence[AreaRow], source: str, *,
                 rename: bool = True) -> None:
    """Insert areas not yet held and record their editions. An area's name and level follow
    the most recent edition that names it (a 2023 ward lookup renames a district named by a
    2019 one, whatever order the files are loaded in). Without `rename` (files whose names are
    not authoritative) names only fill gaps."""
    if not rows:
        return
    codes, levels, names, vintages = zip(*rows, strict=True)
    _register(con, "_ref_areas_in", {"code": codes, "level": levels, "name": names,
                                     "vintage": vintages, "ord": range(len(rows))},
              {"ord": pa.int64()})
    # Per code: the name from the latest edition (then the last row) that gives one.
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _ref_areas AS
           WITH per_code AS (
               SELECT code,
                      arg_max(level, coalesce(vintage, '') || lpad(ord::VARCHAR, 12, '0'))
                          AS level,
                      arg_max(name, coalesce(vintage, '') || lpad(ord::VARCHAR, 12, '0'))
                          FILTER (WHERE name <> '') AS name,
                      max(vintage) AS vintage
               FROM _ref_areas_in GROUP BY code)
           SELECT p.*, h.held FROM per_code p
           LEFT JOIN (SELECT code, max(vintage) AS held FROM area_vintages GROUP BY code) h
             USING (code)"""
    )
    con.execute("INSERT OR IGNORE INTO areas SELECT code, level, name, ? FROM _ref_areas",
                [source])
    newer = "coalesce(s.vintage, '') >= coalesce(s.held, '')" if rename else "false"
    con.execute(
        f"""UPDATE areas SET name = s.name, level = s.level, source = ?
            FROM _ref_areas s
            WHERE areas.code = s.code AND s.name IS NOT NULL
              AND (areas.name IS NULL OR {newer})
              AND (areas.name IS DISTINCT FROM s.name OR areas.level <> s.level)""",
        [source],
    )
    con.execute("INSERT OR IGNORE INTO area_vintages SELECT DISTINCT code, vintage "
                "FROM _ref_areas_in WHERE vintage IS NOT NULL")
    _drop(con, "_ref_areas_in", "_ref_areas")


def upsert_links(con: duckdb.DuckDBPyConnection, rows: Sequence[LinkRow], source: str) -> None:
    """Insert or replace child -> parent links (one per child, parent and their editions)."""
    if not rows:
        return
    names = ["child_code", "child_vintage", "parent_code", "parent_level", "parent_vintage",
             "method"]
    _register(con, "_ref_links", dict(zip(names, zip(*rows, strict=True), strict=True)))
    con.execute(
        """INSERT OR REPLACE INTO area_links
           SELECT child_code, child_vintage, parent_code, any_value(parent_level),
                  parent_vintage, any_value(method), ?
           FROM _ref_links GROUP BY child_code, child_vintage, parent_code, parent_vintage""",
        [source],
    )
    _drop(con, "_ref_links")
