"""Creating, migrating and locating the warehouse."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys

import duckdb
import pytest

from cspkit.errors import CspkitError
from cspkit.store import connect, open_reader, resolve_db_path, snapshot_token, writer
from cspkit.store.schema import MIGRATIONS, SCHEMA_VERSION
from cspkit.store.warehouse import WarehouseError, lock_wait, schema_version, transaction


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
    assert issubclass(WarehouseError, CspkitError)  # the CLI shows it as one line


def test_transaction_rolls_back_on_error(warehouse):
    with pytest.raises(ValueError), transaction(warehouse):
        warehouse.execute("INSERT INTO areas VALUES ('E01000001', 'lsoa', 'x', 'test')")
        raise ValueError("stop")
    assert warehouse.execute("SELECT count(*) FROM areas").fetchone()[0] == 0


# --------------------------------------------------------------------------- paths checked first


def test_a_folder_a_csv_and_a_missing_file_are_refused_before_anything_is_opened(tmp_path):
    csv = tmp_path / "crimes.csv"
    csv.write_text("Crime ID,Month\n1,2023-01\n")
    with pytest.raises(WarehouseError, match="is a folder: expected a warehouse file"):
        open_reader(tmp_path)
    with pytest.raises(WarehouseError, match="is a folder"), writer(tmp_path):
        pass
    for opener in (open_reader, connect):
        with pytest.raises(WarehouseError, match="crimes.csv is not a warehouse: expected a "
                                                 "DuckDB database file"):
            opener(csv)
    with pytest.raises(WarehouseError, match="not a warehouse"), writer(csv):
        pass
    assert csv.read_text() == "Crime ID,Month\n1,2023-01\n"
    with pytest.raises(WarehouseError, match="no warehouse at .*missing.duckdb: build one"):
        open_reader(tmp_path / "missing.duckdb")
    (tmp_path / "empty.duckdb").touch()
    with pytest.raises(WarehouseError, match="is empty, not a warehouse"):
        open_reader(tmp_path / "empty.duckdb")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crimes.csv", "empty.duckdb"]


def test_an_empty_or_new_path_becomes_a_warehouse_for_a_writer(tmp_path):
    (tmp_path / "empty.duckdb").touch()
    for path in (tmp_path / "empty.duckdb", tmp_path / "new" / "w.duckdb"):
        with writer(path) as con:
            con.execute("INSERT INTO meta VALUES ('note', 'x')")
        assert open_reader(path).execute(
            "SELECT value FROM meta WHERE key = 'note'").fetchone() == ("x",)


def test_a_read_only_file_or_folder_is_refused_to_writers_and_fine_for_readers(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    path = folder / "w.duckdb"
    connect(path).close()
    before = path.read_bytes()
    path.chmod(0o444)
    try:
        with pytest.raises(WarehouseError, match="w.duckdb is read-only"), writer(path):
            pass
        path.chmod(0o644)
        folder.chmod(0o555)
        with pytest.raises(WarehouseError, match="the folder .*ro is read-only"), writer(path):
            pass
        with pytest.raises(WarehouseError, match="the folder .*ro is read-only"), \
                writer(folder / "new.duckdb"):
            pass
        assert open_reader(path).execute("SELECT count(*) FROM events").fetchone() == (0,)
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)
    assert path.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["w.duckdb"]


# --------------------------------------------------------------------------- snapshot and swap


def _note(con) -> str | None:  # type: ignore[no-untyped-def]
    row = con.execute("SELECT value FROM meta WHERE key = 'note'").fetchone()
    return row[0] if row else None


def test_a_writer_swaps_in_a_new_snapshot_and_a_held_reader_keeps_the_old(tmp_path):
    path = tmp_path / "w.duckdb"
    with writer(path) as con:
        con.execute("INSERT INTO meta VALUES ('note', 'first')")
    held = open_reader(path)
    token = snapshot_token(path)
    with writer(path) as con:
        with transaction(con):  # joins the writer's transaction
            con.execute("UPDATE meta SET value = 'second' WHERE key = 'note'")
        assert open_reader(path).execute("SELECT 1").fetchone() == (1,)  # never blocked
        assert _note(open_reader(path)) == "first"
    assert _note(held) == "first"
    assert snapshot_token(path) != token
    assert _note(open_reader(path)) == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb", "w.duckdb.lock"]
    assert snapshot_token(tmp_path / "missing.duckdb") is None


def test_a_failed_writer_leaves_the_warehouse_byte_for_byte(tmp_path):
    path = tmp_path / "w.duckdb"
    with writer(path) as con:
        con.execute("INSERT INTO meta VALUES ('note', 'kept')")
    before = path.read_bytes()
    with pytest.raises(ValueError, match="stop"), writer(path) as con:
        con.execute("UPDATE meta SET value = 'lost' WHERE key = 'note'")
        raise ValueError("stop")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb", "w.duckdb.lock"]
    assert _note(open_reader(path)) == "kept"


def test_a_second_writer_waits_then_refuses_naming_the_first(tmp_path):
    path = tmp_path / "w.duckdb"
    connect(path).close()
    told: list[str] = []
    # Another ingest holds the lock (flock conflicts between open files, even in one process).
    fd = os.open(tmp_path / "w.duckdb.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, b"4242\n")
        with pytest.raises(WarehouseError, match=r"another ingest \(pid 4242\) is still writing "
                                                 r".*w.duckdb; gave up after waiting 0.3 s"), \
                writer(path, wait=0.3, on_wait=told.append):
            pass
    finally:
        os.close(fd)
    assert told == [f"waiting for another ingest (pid 4242) to finish with {path}..."]
    with writer(path, wait=0):  # free again
        pass


def test_leftover_copies_of_dead_writers_are_removed_by_the_next(tmp_path):
    path = tmp_path / "w.duckdb"
    connect(path).close()
    for name in ("w.duckdb.writing-999999", "w.duckdb.writing-999999.wal"):
        (tmp_path / name).write_bytes(b"half a copy")
    (tmp_path / "w.duckdb.writing-999999.tmp").mkdir()  # where DuckDB spills
    (tmp_path / "w.duckdb.writing-999999.tmp" / "spill.block").write_bytes(b"x")
    with writer(path):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb", "w.duckdb.lock"]


def test_the_lock_wait_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("CSPKIT_LOCK_WAIT", raising=False)
    assert lock_wait() == 600
    monkeypatch.setenv("CSPKIT_LOCK_WAIT", "2.5")
    assert lock_wait() == 2.5
    monkeypatch.setenv("CSPKIT_LOCK_WAIT", "soon")
    with pytest.raises(WarehouseError, match="CSPKIT_LOCK_WAIT must be a number of seconds"):
        lock_wait()


def test_a_reader_upgrades_an_old_warehouse_through_the_writer_not_in_place(tmp_path):
    path = tmp_path / "w.duckdb"
    raw = duckdb.connect(str(path))
    raw.execute(MIGRATIONS[0])
    raw.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', '1')")
    raw.close()
    token = snapshot_token(path)
    con = open_reader(path)
    assert schema_version(con) == SCHEMA_VERSION
    assert snapshot_token(path) != token  # a new file swapped in, not the old one changed
    old = tmp_path / "old.duckdb"
    raw = duckdb.connect(str(old))
    raw.execute(MIGRATIONS[0])
    raw.close()
    old.chmod(0o444)
    with pytest.raises(WarehouseError, match="needs upgrading .* and cannot be: .*read-only"):
        open_reader(old)


def test_a_reader_waits_for_a_foreign_read_write_holder_then_says_so(tmp_path):
    path = tmp_path / "w.duckdb"
    connect(path).close()
    script = ("import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
              "print('open', flush=True); time.sleep(30)")
    holder = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        told: list[str] = []
        with pytest.raises(WarehouseError, match=rf"held open for writing by another program "
                                                 rf"\(pid {holder.pid}\).*0.4 s"):
            open_reader(path, wait=0.4, on_wait=told.append)
        assert len(told) == 1 and f"pid {holder.pid}" in told[0]
    finally:
        holder.kill()
        holder.wait()
    assert open_reader(path).execute("SELECT 1").fetchone() == (1,)


def test_a_linked_warehouse_stays_linked_and_a_plain_copy_works_too(tmp_path, monkeypatch):
    real = tmp_path / "real.duckdb"
    connect(real).close()
    link = tmp_path / "link.duckdb"
    link.symlink_to(real)

    def no_copy_file_range(*args):  # type: ignore[no-untyped-def]
        raise OSError("not supported here")

    monkeypatch.setattr(os, "copy_file_range", no_copy_file_range)
    with writer(link) as con:
        con.execute("INSERT INTO meta VALUES ('note', 'through the link')")
    assert link.is_symlink()
    assert _note(open_reader(real)) == "through the link"
