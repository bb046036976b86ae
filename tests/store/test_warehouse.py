"""Creating, migrating and locating the warehouse."""

from __future__ import annotations

import duckdb
import pytest

from cspkit.store import connect, resolve_db_path
from cspkit.store.schema import SCHEMA_VERSION
from cspkit.store.warehouse import WarehouseError, schema_version, transaction


def test_created_and_migrated_on_first_use(tmp_path):
    path = tmp_path / "sub" / "w.duckdb"
    con = connect(path)
    assert path.exists()
    assert schema_version(con) == SCHEMA_VERSION
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables")
              .fetchall()}
    assert {"areas", "area_links", "area_geometry", "population", "imd", "events",
            "indicators", "ingests", "quarantine"} <= tables
    con.close()
    # Opening again applies nothing new.
    con = connect(path)
    assert schema_version(con) == SCHEMA_VERSION


def test_path_from_option_then_environment_then_default(monkeypatch, tmp_path):
    monkeypatch.delenv("CSPKIT_DB", raising=False)
    assert resolve_db_path(None).name == "cspkit.duckdb"
    monkeypatch.setenv("CSPKIT_DB", str(tmp_path / "env.duckdb"))
    assert resolve_db_path(None) == tmp_path / "env.duckdb"
    assert resolve_db_path(tmp_path / "opt.duckdb") == tmp_path / "opt.duckdb"


def test_a_newer_warehouse_is_refused(tmp_path):
    path = tmp_path / "w.duckdb"
    connect(path).close()
    raw = duckdb.connect(str(path))
    raw.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    raw.close()
    with pytest.raises(WarehouseError, match="newer"):
        connect(path)


def test_read_only_needs_an_existing_warehouse(tmp_path):
    with pytest.raises(WarehouseError, match="cspkit demo"):
        connect(tmp_path / "missing.duckdb", read_only=True)


def test_transaction_rolls_back_on_error(warehouse):
    with pytest.raises(ValueError), transaction(warehouse):
        warehouse.execute("INSERT INTO areas VALUES ('E01000001', 'lsoa', 'x', 'test')")
        raise ValueError("stop")
    assert warehouse.execute("SELECT count(*) FROM areas").fetchone()[0] == 0
