"""The store's one writer: the memory cap of a load and what it leaves behind."""

from __future__ import annotations

import duckdb
import pytest

from cspkit.store.writes import memory_capped


def _limit(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute("SELECT current_setting('memory_limit')").fetchone()
    assert row is not None
    return str(row[0])


def test_the_cap_holds_inside_and_is_lifted_after() -> None:
    con = duckdb.connect(config={"memory_limit": "2GiB"})
    before = _limit(con)
    with memory_capped(con, 64 << 20):
        assert _limit(con) == "64.0 MiB"
    assert _limit(con) == before


def test_an_error_in_an_aborted_transaction_is_the_one_raised() -> None:
    """A statement that fails inside a transaction aborts it; restoring the setting then fails
    too, and that second error must not hide the first (it did: 'Current transaction is
    aborted' was all a user saw of an out-of-memory error)."""
    con = duckdb.connect(config={"memory_limit": "2GiB"})
    before = _limit(con)
    con.execute("BEGIN TRANSACTION")
    with pytest.raises(duckdb.CatalogException), memory_capped(con, 64 << 20):
        con.execute("SELECT * FROM no_such_table")
    con.execute("ROLLBACK")
    con.execute(f"SET memory_limit = '{before}'")   # what the writer's next connection has
    assert _limit(con) == before
