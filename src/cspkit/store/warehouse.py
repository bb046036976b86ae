"""Opening the embedded DuckDB warehouse: where it lives, creating and migrating it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from cspkit.store.geography import rebuild_lsoa_geography
from cspkit.store.schema import MIGRATIONS, SCHEMA_VERSION

DEFAULT_DB = "cspkit.duckdb"
DB_ENV = "CSPKIT_DB"


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or is newer than this version of cspkit."""


def resolve_db_path(db: str | os.PathLike[str] | None = None) -> Path:
    """`--db PATH` wins, then $CSPKIT_DB, then ./cspkit.duckdb."""
    if db:
        return Path(db)
    env = os.environ.get(DB_ENV)
    return Path(env) if env else Path(DEFAULT_DB)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply the migrations this database has not seen; returns the resulting version."""
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise WarehouseError(
            f"the warehouse has schema version {current}, newer than this cspkit understands "
            f"({SCHEMA_VERSION}); upgrade cspkit"
        )
    for number in range(current + 1, SCHEMA_VERSION + 1):
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(MIGRATIONS[number - 1])
            if number == 3:  # the hierarchy became a table: fill it from the links held
                rebuild_lsoa_geography(con)
            con.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(number)]
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


def connect(db: str | os.PathLike[str] | None = None, read_only: bool = False
            ) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating if needed) the warehouse at `db`."""
    path = resolve_db_path(db)
    if read_only:
        if not path.exists():
            raise WarehouseError(
                f"no warehouse at {path}: build one with `cspkit demo --db {path}` or "
                f"`cspkit ingest ... --db {path}`"
            )
        con = duckdb.connect(str(path), read_only=True)
        if schema_version(con) != SCHEMA_VERSION:
            con.close()
            con = duckdb.connect(str(path))
            migrate(con)
        return con
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open the warehouse at {path}: {exc}") from exc
    migrate(con)
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: a failed ingest leaves the warehouse exactly as it was."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")
