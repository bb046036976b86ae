"""The accounts database: a SQLite file beside the warehouse (`<data_dir>/accounts.sqlite3`)
holding account names, argon2id password hashes and roles (viewer | partner | admin), the
server-side sessions (only a SHA-256 digest of each token) and the server's secret. The
dashboard's sign-in, sessions and CSRF (products/web/accounts.py) are built on these queries.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from cspkit.errors import CspkitError


@dataclass(frozen=True)
class User:
    name: str
    role: str            # viewer | partner | admin


DB_NAME = "accounts.sqlite3"
ROLES = ("viewer", "partner", "admin")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
MIN_PASSWORD = 10

# argon2id (RFC 9106's second recommended option: 64 MiB, 3 passes, 4 lanes).
_HASHER = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, type=Type.ID)
_DUMMY_HASH = _HASHER.hash("not a password of anyone's")

class AccountError(CspkitError):
    """A request about accounts that cannot be done as asked (unknown name, bad role ...)."""


def db_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / DB_NAME


_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'partner', 'admin')),
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_digest TEXT PRIMARY KEY,
    name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
    created REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_name ON sessions(name);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


_READY: set[Path] = set()


@contextmanager
def _connect(data_dir: str | Path) -> Iterator[sqlite3.Connection]:
    path = db_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists() or path not in _READY
    con = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        con.execute("PRAGMA foreign_keys = ON")
        if fresh:                            # once per file and process: schema, WAL mode
            con.execute("PRAGMA journal_mode = WAL")
            con.executescript(_SCHEMA)
            _READY.add(path)
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        con.close()
    try:
        path.chmod(0o600)
    except OSError:
        pass


def _check_name(name: str) -> None:
    if not re.fullmatch(NAME_PATTERN, name):
        raise AccountError(f"'{name}' is not a valid account name (letters, digits and . _ @ -, "
                           "up to 64, starting with a letter or digit)")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role '{role}' (expected one of {', '.join(ROLES)})")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def add_user(data_dir: str | Path, name: str, password: str, role: str) -> User:
    """Create an account; refuses a name already taken."""
    _check_name(name)
    _check_role(role)
    _check_password(password)
    digest = hash_password(password)
    with _connect(data_dir) as con:
        if con.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise AccountError(f"an account named '{name}' exists already")
        con.execute("INSERT INTO users VALUES (?, ?, ?, ?)", (name, digest, role, time.time()))
    return User(name, role)


def remove_user(data_dir: str | Path, name: str) -> None:
    """Delete an account and end its sessions."""
    with _connect(data_dir) as con:
        if con.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 0:
            raise AccountError(f"no account named '{name}'")
        con.execute("DELETE FROM sessions WHERE name = ?", (name,))


def set_password(data_dir: str | Path, name: str, password: str) -> None:
    """Change an account's password and end its sessions."""
    _check_password(password)
    digest = hash_password(password)
    with _connect(data_dir) as con:
        if con.execute("UPDATE users SET password_hash = ? WHERE name = ?",
                       (digest, name)).rowcount == 0:
            raise AccountError(f"no account named '{name}'")
        con.execute("DELETE FROM sessions WHERE name = ?", (name,))


def set_role(data_dir: str | Path, name: str, role: str) -> None:
    _check_role(role)
    with _connect(data_dir) as con:
        if con.execute("UPDATE users SET role = ? WHERE name = ?", (role, name)).rowcount == 0:
            raise AccountError(f"no account named '{name}'")


def list_users(data_dir: str | Path) -> list[User]:
    with _connect(data_dir) as con:
        rows = con.execute("SELECT name, role FROM users ORDER BY name").fetchall()
    return [User(name, role) for name, role in rows]


def verify(data_dir: str | Path, name: str, password: str) -> User | None:
    """The account if the password is its own, else None (the time taken does not say
    whether the name exists). Rehashes a hash made with older parameters."""
    with _connect(data_dir) as con:
        row = con.execute("SELECT password_hash, role FROM users WHERE name = ?",
                          (name,)).fetchone()
    if row is None:
        try:
            _HASHER.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        return None
    stored, role = row
    try:
        _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if _HASHER.check_needs_rehash(stored):
        with _connect(data_dir) as con:
            con.execute("UPDATE users SET password_hash = ? WHERE name = ?",
                        (hash_password(password), name))
    return User(name, role)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def server_secret(data_dir: str | Path) -> bytes:
    """The server's random secret (made on first use), kept in the accounts database."""
    with _connect(data_dir) as con:
        row = con.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
        if row is None:
            row = (secrets.token_hex(32),)
            con.execute("INSERT INTO meta VALUES ('secret', ?)", row)
    return bytes.fromhex(row[0])


def add_session(data_dir: str | Path, token: str, name: str, now: float, *,
                idle: float, absolute: float) -> None:
    """Record a session (only its token's digest), clearing expired ones."""
    with _connect(data_dir) as con:
        con.execute("DELETE FROM sessions WHERE last_seen < ? OR created < ?",
                    (now - idle, now - absolute))
        con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                    (_digest(token), name, now, now))


def end_session(data_dir: str | Path, token: str) -> None:
    with _connect(data_dir) as con:
        con.execute("DELETE FROM sessions WHERE token_digest = ?", (_digest(token),))


def session_user(data_dir: str | Path, token: str, now: float, *, idle: float,
                 absolute: float) -> User | None:
    """The account a session token belongs to, if the session has not expired; marks it
    used (at most once a minute, so reading a page rarely writes)."""
    digest = _digest(token)
    with _connect(data_dir) as con:
        row = con.execute(
            "SELECT s.created, s.last_seen, u.name, u.role FROM sessions s "
            "JOIN users u ON u.name = s.name WHERE s.token_digest = ?",
            (digest,)).fetchone()
        if row is None:
            return None
        created, last_seen, name, role = row
        if now - last_seen > idle or now - created > absolute:
            con.execute("DELETE FROM sessions WHERE token_digest = ?", (digest,))
            return None
        if now - last_seen > 60:
            con.execute("UPDATE sessions SET last_seen = ? WHERE token_digest = ?",
                        (now, digest))
    return User(name, role)
