"""Reading the warehouse from a long-lived server without ever blocking an ingest.

The warehouse's readers-beside-writers design (store.warehouse): a reader attaches the last
committed snapshot read-only and a writer swaps a new file in atomically. The server keeps one
reader per snapshot; each request gets its own cursor (a DuckDB connection is not shared
between threads). When `snapshot_token` changes, new requests get a reader of the new
snapshot and the old one is closed once its last request has finished.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from cspkit.store import open_reader, reader_cursor, resolve_db_path, snapshot_token

Token = tuple[int, int]


@dataclass
class _Snapshot:
    con: duckdb.DuckDBPyConnection
    token: Token | None
    users: int = 0
    retired: bool = False


class SnapshotReader:
    """`with reader.cursor() as (con, token):` a connection to the newest committed snapshot,
    and the token that names it (cache keys include it, so a new ingest is never served stale
    results)."""

    def __init__(self, db: str | os.PathLike[str] | None = None) -> None:
        self.path: Path = resolve_db_path(db)
        self._lock = threading.Lock()
        self._current: _Snapshot | None = None

    def token(self) -> Token | None:
        return snapshot_token(self.path)

    @contextmanager
    def cursor(self) -> Iterator[tuple[duckdb.DuckDBPyConnection, Token | None]]:
        snapshot = self._acquire()
        try:
            cursor = reader_cursor(snapshot.con)
            try:
                yield cursor, snapshot.token
            finally:
                cursor.close()
        finally:
            self._release(snapshot)

    def _acquire(self) -> _Snapshot:
        token = snapshot_token(self.path)
        with self._lock:
            current = self._current
            if current is None or current.token != token:
                # Token first, then open: if a swap lands in between, the next request sees a
                # newer token and reopens, so nothing older than the token is ever kept.
                fresh = _Snapshot(open_reader(self.path), token)
                if current is not None:
                    current.retired = True
                    if current.users == 0:
                        current.con.close()
                self._current = current = fresh
            current.users += 1
            return current

    def _release(self, snapshot: _Snapshot) -> None:
        with self._lock:
            snapshot.users -= 1
            if snapshot.retired and snapshot.users == 0:
                snapshot.con.close()

    def close(self) -> None:
        with self._lock:
            if self._current is not None:
                self._current.retired = True
                if self._current.users == 0:
                    self._current.con.close()
                self._current = None
