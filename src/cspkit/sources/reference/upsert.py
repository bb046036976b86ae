"""Writing areas, their editions and their links so that reloads and overlapping files agree.

Every reference file names areas (a lookup names LSOAs, wards and districts; a boundary file
its features). Each loader hands its areas here: an area is inserted once, and its name and
level follow the most recent edition that names it (a 2023 ward lookup renames a district named
by a 2019 one, not the other way round, whatever order the files are loaded in).
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

# (code, level, name or None, vintage or None)
AreaRow = tuple[str, str, str | None, str | None]
# (child_code, child_vintage, parent_code, parent_level, parent_vintage, method)
LinkRow = tuple[str, str, str, str, str, str]


def register(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, Sequence[object]],
             types: dict[str, pa.DataType] | None = None) -> None:
    """Make python columns queryable as the temporary table `name`."""
    types = types or {}
    table = pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in columns.items()})
    con.register("_ref_arrow", table)
    con.execute(f'CREATE OR REPLACE TEMP TABLE "{name}" AS SELECT * FROM _ref_arrow')
    con.unregister("_ref_arrow")


def drop(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    for name in names:
        con.execute(f'DROP TABLE IF EXISTS "{name}"')


def upsert_areas(con: duckdb.DuckDBPyConnection, rows: Sequence[AreaRow], source: str, *,
                 rename: bool = True) -> None:
    """Insert areas not yet held and record their editions. With `rename`, a name from an
    edition at least as recent as any held for the code replaces the stored one; without it
    (files whose names are not authoritative, e.g. upper-case country names in population
    tables) names only fill gaps."""
    if not rows:
        return
    codes, levels, names, vintages = zip(*rows, strict=True)
    register(con, "_ref_areas_in", {"code": codes, "level": levels, "name": names,
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
    drop(con, "_ref_areas_in", "_ref_areas")


def upsert_links(con: duckdb.DuckDBPyConnection, rows: Sequence[LinkRow], source: str) -> None:
    """Insert or replace child -> parent links (one per child, parent and their editions)."""
    if not rows:
        return
    names = ["child_code", "child_vintage", "parent_code", "parent_level", "parent_vintage",
             "method"]
    register(con, "_ref_links", dict(zip(names, zip(*rows, strict=True), strict=True)))
    con.execute(
        """INSERT OR REPLACE INTO area_links
           SELECT child_code, child_vintage, parent_code, any_value(parent_level),
                  parent_vintage, any_value(method), ?
           FROM _ref_links GROUP BY child_code, child_vintage, parent_code, parent_vintage""",
        [source],
    )
    drop(con, "_ref_links")
