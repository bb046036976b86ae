"""Readers beside writers, with real processes: an ingest stopped half way blocks no reader, a
second ingest waits then refuses, and an ingest killed at any moment leaves the warehouse byte
for byte as it was."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import cspkit
from cspkit.ingest import ingest_police
from cspkit.store import open_reader, writer
from cspkit.store.warehouse import WarehouseError
from tests.conftest import extract

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and flock")

MONTHS = ["2018-03/2018-03-cambridgeshire-street.csv",
          "2018-10/2018-10-cambridgeshire-street.csv"]

# Run in a child: an ingest through the same writer the CLI uses, which stops itself (SIGSTOP) at
# a chosen moment so the test can look around, then SIGCONT or SIGKILL it; or a reader.
DRIVER = r"""
import os, signal, sys
from cspkit.errors import CspkitError
from cspkit.store import warehouse

def stop():
    os.kill(os.getpid(), signal.SIGSTOP)

command, db, moment, *files = sys.argv[1:]
if command == "read":
    con = warehouse.open_reader(db)
    print(con.execute("SELECT count(*) FROM events").fetchone()[0])
    sys.exit(0)
if moment == "copied":
    copy = warehouse._copy_from_fd
    def stopping_copy(*args):
        copy(*args)
        stop()
    warehouse._copy_from_fd = stopping_copy
elif moment == "swap":
    replace = os.replace
    def stopping_replace(source, target):
        stop()
        replace(source, target)
    os.replace = stopping_replace
from cspkit.ingest import ingest_police

class Loading:
    # The writer's connection, stopping at the statement after its first INSERT: half way
    # through the load, rows already written to the copy.
    def __init__(self, con):
        self.con, self.inserted = con, False
    def execute(self, sql, *args, **kwargs):
        if moment == "loading" and self.inserted:
            stop()
        self.inserted = self.inserted or "INSERT" in str(sql).upper()
        return self.con.execute(sql, *args, **kwargs)
    def __getattr__(self, name):
        return getattr(self.con, name)

try:
    with warehouse.writer(db) as con:
        ingest_police(Loading(con), files, run_id="driver")
except CspkitError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)
"""


def _env(**extra: str) -> dict[str, str]:
    src = str(Path(cspkit.__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, **extra}


def _driver(*args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", DRIVER, *args], env=_env(**env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_stopped(proc: subprocess.Popen[str]) -> None:
    _, status = os.waitpid(proc.pid, os.WUNTRACED)
    assert os.WIFSTOPPED(status), proc.communicate()


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _copies(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.glob(db.name + ".writing-*"))


def _events(db: Path) -> int:
    with open_reader(db) as con:
        return int(con.execute("SELECT count(*) FROM events").fetchone()[0])  # type: ignore[index]


@pytest.fixture(scope="module")
def months(cambridgeshire_zip: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    dest = tmp_path_factory.mktemp("months")
    return [extract(cambridgeshire_zip, member, dest) for member in MONTHS]


@pytest.fixture(scope="module")
def base(months: list[Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small warehouse holding the first month."""
    db = tmp_path_factory.mktemp("base") / "w.duckdb"
    with writer(db) as con:
        ingest_police(con, [str(months[0])], run_id="base")
    return db


@pytest.fixture
def db(base: Path, tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    shutil.copyfile(base, path)
    return path


def test_readers_and_a_second_writer_beside_a_stopped_ingest(db, months):
    old = _events(db)
    ingest = _driver("ingest", str(db), "copied", str(months[1]))
    try:
        _wait_stopped(ingest)
        assert _copies(db) == [f"w.duckdb.writing-{ingest.pid}"]
        # This process reads, and writes, beside the stopped one.
        assert _events(db) == old
        told: list[str] = []
        with pytest.raises(WarehouseError) as refused, \
                writer(db, wait=0.3, on_wait=told.append):
            pass
        assert told == [f"waiting for another ingest (pid {ingest.pid}) to finish with {db}..."]
        assert str(refused.value) == (
            f"another ingest (pid {ingest.pid}) is still writing {db}; gave up after waiting "
            "0.3 s (set CSPKIT_LOCK_WAIT to wait longer)")
    finally:
        ingest.send_signal(signal.SIGCONT)
    assert ingest.communicate(timeout=60)[1] == ""
    assert ingest.returncode == 0
    assert _events(db) > old
    assert _copies(db) == []


@pytest.mark.parametrize("moment", ["copied", "loading", "swap"])
def test_a_killed_ingest_leaves_the_warehouse_as_it_was(db, months, moment):
    before, old = _sha(db), _events(db)
    ingest = _driver("ingest", str(db), moment, str(months[1]))
    _wait_stopped(ingest)
    ingest.kill()
    ingest.wait()
    assert _sha(db) == before
    assert _copies(db)  # its private copy, left behind
    assert _events(db) == old
    # The next writer takes the lock the dead one held, clears its copy and succeeds.
    with writer(db, wait=5) as con:
        ingest_police(con, [str(months[1])], run_id="rerun")
    assert _copies(db) == []
    assert _events(db) > old
