"""Opening the embedded DuckDB warehouse: where it lives, creating and migrating it, and
letting readers run beside a writer.

Readers beside writers (snapshot and swap). A DuckDB file can be open read-write by one process
only, and not at all while another holds it, so an ingest that wrote in place would block every
report, and the future web app (which holds read connections for hours) would block every
ingest. Instead:

- A **writer** (`writer(db)`: every ingest and the demo) takes an exclusive lock on the sidecar
  `<db>.lock` (fcntl.flock; a second writer waits at most `CSPKIT_LOCK_WAIT` seconds, default
  10 minutes, then refuses), copies the warehouse to a private sibling `<db>.writing-<pid>`,
  migrates the copy and does all its work there in one transaction, then commits,
  CHECKPOINTs, closes, fsyncs and atomically renames the copy over the warehouse (and fsyncs the
  folder). Until that rename the warehouse file is untouched, so a failure or a SIGKILL at any
  moment leaves it byte for byte as it was; the next writer (once it holds the lock, which
  proves every earlier writer has gone) removes leftover copies.
- Because nobody else ever sees the copy, work in it may also be committed in steps
  (`commit_point(con)`, which the ingest pipeline calls after each batch of rows): DuckDB holds
  an open transaction's appended rows in memory whatever its memory_limit, so one transaction
  around a national load grew to gigabytes. A failure after a commit point still deletes the
  copy and swaps nothing in, so "a failed load leaves the warehouse as it was" holds. A
  connection opened in place (`connect`) has no copy: there `commit_point` refuses, and the
  caller's one `transaction()` is what makes a load all or nothing.
- A **reader** (`open_reader(db)`: status, measure, assess, places, profile, area, the web app)
  attaches the warehouse read-only and so sees the last committed snapshot: it never waits for
  a writer and a writer never waits for it. A reader keeps its snapshot (the old file stays
  alive while open) until it reopens; `snapshot_token(db)` changes when a new snapshot has been
  swapped in, so a long-lived reader can tell when to reopen. Each reader is its own in-memory
  DuckDB instance with the file attached, because DuckDB shares one instance per path within a
  process, which would pin the old snapshot.
- A reader never migrates in place (a writer may be copying the file): if the schema is older
  than this cspkit, it runs the migration through the writer path (taking the lock like an
  ingest), then opens the result.
- A program holding the file open read-write in place (`connect(db)` in a notebook) is the one
  thing that can block: a reader then retries for at most `CSPKIT_LOCK_WAIT` seconds, saying
  which pid it waits for, and a writer holds a shared lock on the warehouse file (the kind
  DuckDB's readers take) from its copy to its swap, so no such program changes the file under
  it or loses its work to the swap.

A long-lived reader (the web app) keeps `token = snapshot_token(db)` beside its connection and,
when `snapshot_token(db) != token`, opens a new `open_reader(db)` for new requests and closes the
old one once its requests finish.

`connect(db)` opens in place, read-write, for single-process use (tests, notebooks, scripts);
`connect(db, read_only=True)` is `open_reader(db)`.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import stat
import sys
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

import duckdb

from cspkit.errors import CspkitError
from cspkit.store.geography import rebuild_lsoa_geography
from cspkit.store.schema import MIGRATIONS, SCHEMA_VERSION
from cspkit.store.successions import derive_successions

DEFAULT_DB = "cspkit.duckdb"
DB_ENV = "CSPKIT_DB"
LOCK_WAIT_ENV = "CSPKIT_LOCK_WAIT"
DEFAULT_LOCK_WAIT = 600.0  # seconds a writer waits for another, or a reader for a foreign lock
DUCKDB_MAGIC = b"DUCK"  # bytes 8..12 of every DuckDB database file
POLL = 0.2

OnWait = Callable[[str], None]
T = TypeVar("T")

# Connections inside a writer's transaction, which `transaction()` joins: probing with a second
# BEGIN is no test, as DuckDB aborts the open transaction when it fails.
_IN_WRITER: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()


class WarehouseError(CspkitError, RuntimeError):
    """The warehouse cannot be opened or written, is busy, or is newer than this cspkit."""


def resolve_db_path(db: str | os.PathLike[str] | None = None) -> Path:
    """`--db PATH` wins, then $CSPKIT_DB, then ./cspkit.duckdb."""
    if db:
        return Path(db)
    env = os.environ.get(DB_ENV)
    return Path(env) if env else Path(DEFAULT_DB)


def lock_wait() -> float:
    """Seconds to wait for a busy warehouse: $CSPKIT_LOCK_WAIT, else 10 minutes."""
    raw = os.environ.get(LOCK_WAIT_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_LOCK_WAIT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also rejects nan
        raise WarehouseError(f"{LOCK_WAIT_ENV} must be a number of seconds (0 or more), "
                             f"not {raw!r}")
    return seconds


def _tell(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _build_hint(path: Path) -> str:
    return f"build one with `cspkit demo --db {path}` or `cspkit ingest ... --db {path}`"


def _writable(path: Path) -> bool:
    # os.access alone says yes to root for everything; a file or folder with no write bit at
    # all is read-only by intent, so it is refused for everyone.
    return os.access(path, os.W_OK) and bool(path.stat().st_mode & 0o222)


def check_warehouse(db: str | os.PathLike[str] | None, *, for_writing: bool) -> bool:
    """Check the path before anything is opened or written; True when a warehouse is there,
    False when a writer will create one (no file, or an empty one). Raises WarehouseError."""
    path = resolve_db_path(db)
    if path.is_dir():
        raise WarehouseError(f"{path} is a folder: expected a warehouse file, such as "
                             f"{path / DEFAULT_DB}")
    if not path.exists():
        if not for_writing:
            raise WarehouseError(f"no warehouse at {path}: {_build_hint(path)}")
        folder = path.parent
        while not folder.exists():  # the nearest folder that exists decides
            folder = folder.parent
        if not folder.is_dir():
            raise WarehouseError(f"cannot create a warehouse at {path}: {folder} is a file, "
                                 "not a folder")
        if not _writable(folder):
            raise WarehouseError(f"cannot create a warehouse at {path}: the folder {folder} "
                                 "is read-only (expected a folder you can write)")
        return False
    if not stat.S_ISREG(path.stat().st_mode):
        raise WarehouseError(f"{path} is not a regular file: expected a DuckDB warehouse file")
    try:
        with path.open("rb") as f:
            header = f.read(12)
    except OSError as exc:
        raise WarehouseError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not header:
        if not for_writing:
            raise WarehouseError(f"{path} is empty, not a warehouse: {_build_hint(path)}")
    elif header[8:12] != DUCKDB_MAGIC:
        raise WarehouseError(f"{path} is not a warehouse: expected a DuckDB database file "
                             "(data files such as CSVs are given to `cspkit ingest`, not --db)")
    if for_writing:
        if not _writable(path):
            raise WarehouseError(f"{path} is read-only: an ingest needs a warehouse file it "
                                 "can replace (make it writable or give another --db)")
        if not _writable(path.parent):
            raise WarehouseError(f"cannot write beside {path}: the folder "
                                 f"{path.parent.resolve()} is read-only (an ingest writes a "
                                 "new copy there and swaps it in)")
    return bool(header)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def _newer(path: Path | str, version: int) -> WarehouseError:
    where = f" {path}" if str(path) else ""
    return WarehouseError(
        f"the warehouse{where} has schema version {version}, newer than this cspkit "
        f"understands ({SCHEMA_VERSION}); upgrade cspkit"
    )


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply the migrations this database has not seen; returns the resulting version."""
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise _newer("", current)
    for number in range(current + 1, SCHEMA_VERSION + 1):
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(MIGRATIONS[number - 1])
            if number == 3:  # the hierarchy became a table: fill it from the links held
                rebuild_lsoa_geography(con, successions=False)
            if number == 4:  # former districts: found in the links held, then followed
                derive_successions(con)
                rebuild_lsoa_geography(con)
            con.execute(
                "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(number)]
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return SCHEMA_VERSION


# --------------------------------------------------------------------------- writers


def _sibling(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def _lock_holder(fd: int) -> str:
    raw = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return raw if raw.isdigit() else "unknown"


class _Busy(Exception):
    """The thing waited for is held; `holder` names who holds it, for the messages."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


def _bounded_wait(attempt: Callable[[], T], wait: float, on_wait: OnWait,
                  waiting: Callable[[str], str], gave_up: Callable[[str], str]) -> T:
    """`attempt()` until it stops raising _Busy: says once what it waits for, and after
    `wait` seconds gives up with a WarehouseError."""
    deadline = time.monotonic() + wait
    told = False
    while True:
        try:
            return attempt()
        except _Busy as busy:
            if time.monotonic() >= deadline:
                raise WarehouseError(gave_up(busy.holder)) from None
            if not told:
                on_wait(waiting(busy.holder))
                told = True
            time.sleep(min(POLL, max(deadline - time.monotonic(), 0.01)))


@contextmanager
def _writer_lock(path: Path, wait: float, on_wait: OnWait) -> Iterator[None]:
    """Exclusive while held: one writer per warehouse. flock is released by the kernel when
    the holder dies, so a killed ingest never leaves the warehouse locked."""
    lock = _sibling(path, ".lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)  # the umask decides who shares it
    except PermissionError:
        try:  # another user's lock file: flock works on a read-only fd too
            fd = os.open(lock, os.O_RDONLY)
        except OSError as exc:
            raise WarehouseError(f"cannot open the lock file {lock}: {exc.strerror}") from exc
    except OSError as exc:
        raise WarehouseError(f"cannot open the lock file {lock}: {exc.strerror}") from exc
    def attempt() -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _Busy(_lock_holder(fd)) from None

    try:
        _bounded_wait(
            attempt, wait, on_wait,
            lambda pid: f"waiting for another ingest (pid {pid}) to finish with {path}...",
            lambda pid: (f"another ingest (pid {pid}) is still writing {path}; gave up after "
                         f"waiting {wait:g} s (set {LOCK_WAIT_ENV} to wait longer)"))
        # Never deleted: removing a lock file another process has open would split the lock.
        with suppress(OSError):  # who holds it, for those who wait (not if read-only)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def _remove_leftovers(path: Path) -> None:
    """Copies left by writers that died. Called with the lock held, which proves their owners
    are gone (flock dies with its process), whatever their pids now name."""
    for leftover in path.parent.glob(f"{_glob_escape(path.name)}.writing-*"):
        _remove(leftover)


def _remove(path: Path) -> None:
    """A file, or the folder DuckDB spills to (`<file>.tmp`), if there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with suppress(FileNotFoundError):
            path.unlink()


def _glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


@contextmanager
def _shared_file_lock(path: Path, wait: float, on_wait: OnWait) -> Iterator[int]:
    """A read lock on the warehouse file itself, the kind DuckDB takes: it lets readers in but
    keeps out a process opening the file read-write in place (e.g. `connect()` in a notebook),
    which could change it while we copy or be overwritten by our swap. Yields the fd to copy
    from: closing any other fd of this file in this process would drop the lock (POSIX)."""
    fd = os.open(path, os.O_RDONLY)

    def attempt() -> None:
        try:
            fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise
            raise _Busy("another program") from None

    try:
        _bounded_wait(
            attempt, wait, on_wait,
            lambda _: f"waiting for another program that has {path} open for writing to "
                      "close it...",
            lambda _: (f"{path} is held open for writing by another program; gave up after "
                       f"waiting {wait:g} s (close it, or set {LOCK_WAIT_ENV})"))
        yield fd
    finally:
        os.close(fd)


def _copy_from_fd(src_fd: int, dst: Path) -> None:
    size = os.fstat(src_fd).st_size
    with dst.open("xb") as out:
        offset = 0
        while offset < size:
            try:
                sent = os.copy_file_range(src_fd, out.fileno(), size - offset, offset)
            except OSError:  # e.g. across file systems on old kernels: plain copy
                sent = 0
            if sent == 0:
                break
            offset += sent
        # Plain reads from the same fd: closing any other fd of this file would drop our lock.
        while offset < size:
            chunk = os.pread(src_fd, min(1 << 24, size - offset), offset)
            if not chunk:
                break
            out.write(chunk)
            offset += len(chunk)


def _fsync_path(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def writer(db: str | os.PathLike[str] | None = None, *, wait: float | None = None,
           on_wait: OnWait | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to a private copy of the warehouse, in one open transaction: on success it
    is committed and swapped in atomically; on any failure the warehouse is left as it was.
    Waits up to `wait` seconds (default $CSPKIT_LOCK_WAIT, else 10 min) for another writer,
    telling `on_wait` (default: stderr) once."""
    path = resolve_db_path(db)
    if path.is_symlink():  # swap in beside the real file, keeping the link
        path = path.resolve()
    wait = lock_wait() if wait is None else wait
    on_wait = on_wait or _tell
    check_warehouse(path, for_writing=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _writer_lock(path, wait, on_wait):
        _remove_leftovers(path)
        exists = check_warehouse(path, for_writing=True)  # another writer may have made it
        copy = _sibling(path, f".writing-{os.getpid()}")
        try:
            with _shared_file_lock(path, wait, on_wait) if exists else _no_fd() as src_fd:
                if src_fd is not None:
                    _copy_from_fd(src_fd, copy)
                    shutil.copymode(path, copy)
                    wal = _sibling(path, ".wal")  # left by an in-place writer that crashed
                    if wal.exists():
                        shutil.copyfile(wal, _sibling(copy, ".wal"))
                yield from _work_in(copy)
                _fsync_path(copy)
                os.replace(copy, path)
                _fsync_path(path.parent, directory=True)
                with suppress(FileNotFoundError):
                    _sibling(path, ".wal").unlink()  # replayed into the copy; stale now
        except BaseException:
            for leftover in (copy, _sibling(copy, ".wal"), _sibling(copy, ".tmp")):
                _remove(leftover)
            raise


@contextmanager
def _no_fd() -> Iterator[None]:
    yield None


def _work_in(copy: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    try:
        con = duckdb.connect(str(copy))
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open the warehouse copy {copy}: {_first_line(exc)}"
                             ) from exc
    try:
        migrate(con)
        con.execute("BEGIN TRANSACTION")
        _IN_WRITER.add(con)
        try:
            yield con
        except BaseException:
            with suppress(duckdb.Error):
                con.execute("ROLLBACK")
            raise
        finally:
            _IN_WRITER.discard(con)
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    finally:
        con.close()


# --------------------------------------------------------------------------- readers


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _attach(path: Path, wait: float, on_wait: OnWait) -> duckdb.DuckDBPyConnection:
    def attempt() -> duckdb.DuckDBPyConnection:
        # A private in-memory instance with the file attached: duckdb.connect(path) would
        # reuse this process's open instance for the path, pinned to an older snapshot.
        con = duckdb.connect()
        try:
            con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS warehouse "
                        "(READ_ONLY)")
            con.execute("USE warehouse")
            return con
        except duckdb.Error as exc:
            con.close()
            message = str(exc)
            if "Could not set lock" not in message:
                raise WarehouseError(f"cannot open the warehouse at {path}: "
                                     f"{_first_line(exc)}") from exc
            pid = re.search(r"\(PID (\d+)\)", message)
            raise _Busy(f"another program (pid {pid.group(1)})" if pid
                        else "another program") from None

    return _bounded_wait(
        attempt, wait, on_wait,
        lambda holder: f"waiting for {holder}, which has {path} open for writing, to close "
                       "it...",
        lambda holder: (f"{path} is held open for writing by {holder}, not through an ingest; "
                        f"gave up after waiting {wait:g} s (close it, or set "
                        f"{LOCK_WAIT_ENV})"))


def open_reader(db: str | os.PathLike[str] | None = None, *, wait: float | None = None,
                on_wait: OnWait | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the last committed snapshot of the warehouse. Never waits for
    a writer; waits up to `wait` seconds only for a program holding the file open in place."""
    path = resolve_db_path(db)
    wait = lock_wait() if wait is None else wait
    on_wait = on_wait or _tell
    check_warehouse(path, for_writing=False)
    con = _attach(path, wait, on_wait)
    version = schema_version(con)
    if version == SCHEMA_VERSION:
        return con
    con.close()
    if version > SCHEMA_VERSION:
        raise _newer(path, version)
    # Older: never migrate in place (a writer may be copying the file): upgrade through the
    # writer path, as an ingest would, then read the result.
    try:
        with writer(path, wait=wait, on_wait=on_wait):
            pass
    except WarehouseError as exc:
        raise WarehouseError(f"the warehouse {path} needs upgrading to schema version "
                             f"{SCHEMA_VERSION} and cannot be: {exc}") from exc
    return _attach(path, wait, on_wait)


def reader_cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor of a reader for one thread (a connection is not shared between threads),
    reading the same snapshot: `USE` is per connection, so it is said again."""
    cursor = con.cursor()
    cursor.execute("USE warehouse")
    return cursor


def snapshot_token(db: str | os.PathLike[str] | None = None) -> tuple[int, int] | None:
    """Changes whenever a writer swaps in a new snapshot: (inode, mtime_ns), or None if there is
    no warehouse. A long-lived reader takes it before opening and reopens when it differs."""
    try:
        st = os.stat(resolve_db_path(db))
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns)


# --------------------------------------------------------------------------- in place


def connect(db: str | os.PathLike[str] | None = None, read_only: bool = False
            ) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating if needed) the warehouse at `db`, in place: for one
    process alone (tests, notebooks). `read_only=True` is `open_reader(db)`."""
    if read_only:
        return open_reader(db)
    path = resolve_db_path(db)
    if not check_warehouse(path, for_writing=True) and path.exists():
        path.unlink()  # an empty file: DuckDB refuses it, a new warehouse takes its place
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open the warehouse at {path}: {_first_line(exc)}"
                             ) from exc
    migrate(con)
    return con


def in_private_copy(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `con` is a writer's connection to its private copy of the warehouse (the only
    place `commit_point` may commit)."""
    return con in _IN_WRITER


def commit_point(con: duckdb.DuckDBPyConnection) -> None:
    """Commit the work done so far in a writer's private copy and open a new transaction, so
    DuckDB can release what it holds for the open transaction (its appended rows stay in
    memory until commit, whatever the memory_limit). Safe only there: nothing is swapped in
    until the writer ends well, and on any failure the whole copy is deleted. A connection
    opened in place has no copy, and committing there would leave half a load behind if a
    later step failed: refused with a ValueError."""
    if con not in _IN_WRITER:
        raise ValueError("commit_point is for a writer's private copy only: a connection "
                         "opened in place keeps one transaction around a load")
    con.execute("COMMIT")
    con.execute("BEGIN TRANSACTION")


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: a failed ingest leaves the warehouse exactly as it was. Inside an open
    transaction (a `writer`'s) it joins that one, which commits or rolls back for both."""
    if con in _IN_WRITER:
        yield con
        return
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")


_DATABASE_PATHS: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, str] = (
    weakref.WeakKeyDictionary())


def warehouse_state(con: duckdb.DuckDBPyConnection) -> tuple[str, tuple[object, ...]]:
    """What identifies the warehouse's contents: its file ('' in memory) and its ingest log's
    state (last ingest id, ingests), which changes whenever something is ingested. Facts
    memoised about the warehouse are keyed by it. One small query (the file is read once per
    connection): it is asked often."""
    path = _DATABASE_PATHS.get(con)
    if path is None:
        row = con.execute("SELECT path FROM duckdb_databases() "
                          "WHERE database_name = current_database()").fetchone()
        path = _DATABASE_PATHS[con] = str(row[0]) if row and row[0] is not None else ""
    state = con.execute("SELECT max(ingest_id), count(*) FROM ingests").fetchone()
    return path, tuple(state) if state else (None, 0)
