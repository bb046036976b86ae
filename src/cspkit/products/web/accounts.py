"""Local accounts, sessions that expire, and CSRF protection.

Accounts live in a SQLite database beside the warehouse (`<data_dir>/accounts.sqlite3`):
names, argon2id password hashes and roles (viewer | partner | admin; auth.py says what each
may see). Signing in creates a server-side session: a random token in an HttpOnly,
SameSite=Strict cookie, of which the database keeps only a SHA-256 digest, valid until it has
been idle for `idle` seconds or has lived `absolute` seconds, whichever comes first. Signing
out, removing the account or changing its password ends its sessions.

Every unsafe request (POST, PUT, PATCH, DELETE) must carry the CSRF token of its session: forms
in a hidden `csrf_token` field (the first field, so an upload need not be buffered whole),
scripts in an `X-CSRF-Token` header (pages carry it in `<meta name="csrf-token">`). The token
is an HMAC of the session cookie under a server secret; the public gets a random anonymous
cookie instead (a signed double-submit), so public forms are protected the same way.
Attempts to sign in are throttled per name and per client address.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from cspkit.errors import CspkitError
from cspkit.products.web.auth import User

DB_NAME = "accounts.sqlite3"
ROLES = ("viewer", "partner", "admin")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"
MIN_PASSWORD = 10
SESSION_COOKIE = "cspkit_session"
ANON_COOKIE = "cspkit_anon"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_LIMIT = 1 << 20          # an urlencoded form larger than this is refused (413)

# argon2id (RFC 9106's second recommended option: 64 MiB, 3 passes, 4 lanes).
_HASHER = PasswordHasher(time_cost=3, memory_cost=65536, parallelism=4, type=Type.ID)
_DUMMY_HASH = _HASHER.hash("not a password of anyone's")

router = APIRouter()


class AccountError(CspkitError):
    """A request about accounts that cannot be done as asked (unknown name, bad role ...)."""


# --------------------------------------------------------------------------- the database


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


@contextmanager
def _connect(data_dir: str | Path) -> Iterator[sqlite3.Connection]:
    path = db_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA journal_mode = WAL")
        con.executescript(_SCHEMA)
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


# --------------------------------------------------------------------------- throttling


@dataclass
class Throttle:
    """At most `per_name` failed sign-ins for one name, and `per_address` from one client
    address, within `window` seconds; beyond that every attempt is refused until the oldest
    failure leaves the window (a correct password too, so guessing cannot go on)."""

    per_name: int = 5
    per_address: int = 20
    window: float = 900.0
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def wait(self, name: str, address: str, now: float) -> float:
        """Seconds until an attempt is allowed (0: now)."""
        with self._lock:
            waits = [0.0]
            for key, limit in ((f"name:{name.lower()}", self.per_name),
                               (f"addr:{address}", self.per_address)):
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(times[0] + self.window - now)
            return max(waits)

    def failed(self, name: str, address: str, now: float) -> None:
        with self._lock:
            for key in (f"name:{name.lower()}", f"addr:{address}"):
                self._recent(key, now).append(now)
            if len(self._failures) > 100_000:      # bounded memory under a flood
                self._failures.clear()

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(f"name:{name.lower()}", None)


# --------------------------------------------------------------------------- sessions


@dataclass
class Accounts:
    """The app's accounts: `app.state.accounts`. `clock` may be replaced (tests)."""

    data_dir: Path
    idle: float = 2 * 3600.0         # a session unused this long has ended
    absolute: float = 12 * 3600.0    # and none outlives this, however busy
    clock: Callable[[], float] = time.time
    throttle: Throttle = field(default_factory=Throttle)
    _secret: bytes | None = None

    @property
    def secret(self) -> bytes:
        if self._secret is None:
            with _connect(self.data_dir) as con:
                row = con.execute("SELECT value FROM meta WHERE key = 'secret'").fetchone()
                if row is None:
                    row = (secrets.token_hex(32),)
                    con.execute("INSERT INTO meta VALUES ('secret', ?)", row)
            self._secret = bytes.fromhex(row[0])
        return self._secret

    def csrf_for(self, kind: str, cookie: str) -> str:
        return hmac.new(self.secret, f"{kind}:{cookie}".encode(), hashlib.sha256).hexdigest()

    def start_session(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with _connect(self.data_dir) as con:
            con.execute("DELETE FROM sessions WHERE last_seen < ? OR created < ?",
                        (now - self.idle, now - self.absolute))
            con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                        (_digest(token), user.name, now, now))
        return token

    def end_session(self, token: str) -> None:
        with _connect(self.data_dir) as con:
            con.execute("DELETE FROM sessions WHERE token_digest = ?", (_digest(token),))

    def session_user(self, token: str) -> User | None:
        """The account a session token belongs to, if the session has not expired; marks it
        used (at most once a minute, so reading a page rarely writes)."""
        now = self.clock()
        digest = _digest(token)
        with _connect(self.data_dir) as con:
            row = con.execute(
                "SELECT s.created, s.last_seen, u.name, u.role FROM sessions s "
                "JOIN users u ON u.name = s.name WHERE s.token_digest = ?",
                (digest,)).fetchone()
            if row is None:
                return None
            created, last_seen, name, role = row
            if now - last_seen > self.idle or now - created > self.absolute:
                con.execute("DELETE FROM sessions WHERE token_digest = ?", (digest,))
                return None
            if now - last_seen > 60:
                con.execute("UPDATE sessions SET last_seen = ? WHERE token_digest = ?",
                            (now, digest))
        return User(name, role)


def accounts_of(app: Any) -> Accounts:
    return app.state.accounts  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- middleware

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _cookies(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            for part in value.decode("latin-1").split(";"):
                name, _, val = part.strip().partition("=")
                if name and name not in found:
                    found[name] = val
    return found


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def cookie_header(name: str, value: str, *, secure: bool, max_age: int | None = None) -> str:
    parts = [f"{name}={value}", "Path=/", "HttpOnly", "SameSite=Strict"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


class _Forbidden(Exception):
    pass


class _TooLarge(Exception):
    pass


async def _form_token(scope: Scope, receive: Receive) -> tuple[str | None, list[Message]]:
    """Read the request body only as far as the `csrf_token` field; returns it (or None) and
    the messages read, to be replayed to the application."""
    kind = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
    read: list[Message] = []
    if kind == "application/x-www-form-urlencoded":
        body = b""
        while True:
            message = await receive()
            read.append(message)
            body += message.get("body", b"")
            if len(body) > FORM_LIMIT:
                raise _TooLarge
            if not message.get("more_body", False) or message["type"] != "http.request":
                break
        values = urllib.parse.parse_qs(body.decode("latin-1"), max_num_fields=1000)
        return (values.get(CSRF_FIELD) or [None])[0], read
    if kind == "multipart/form-data":
        from python_multipart.multipart import MultipartParser, parse_options_header

        _, options = parse_options_header(_header(scope, b"content-type") or "")
        boundary = options.get(b"boundary")
        if not boundary:
            return None, read
        state: dict[str, Any] = {"field": "", "name": None, "value": b"", "token": None,
                                 "done": False}

        def on_header_field(data: bytes, start: int, end: int) -> None:
            state["field"] += data[start:end].decode("latin-1")

        def on_header_value(data: bytes, start: int, end: int) -> None:
            if state["field"].lower() == "content-disposition":
                _, opts = parse_options_header(data[start:end])
                name = opts.get(b"name")
                state["name"] = name.decode("latin-1") if name else None

        def on_header_end() -> None:
            state["field"] = ""

        def on_part_begin() -> None:
            state.update(name=None, value=b"")

        def on_part_data(data: bytes, start: int, end: int) -> None:
            if state["name"] == CSRF_FIELD:
                state["value"] += data[start:end][:256]

        def on_part_end() -> None:
            if state["name"] == CSRF_FIELD:
                state["token"] = state["value"].decode("latin-1")
                state["done"] = True
            elif state["name"] is not None:
                state["done"] = True   # the token must come first; it did not

        parser = MultipartParser(boundary, {   # type: ignore[arg-type]
            "on_part_begin": on_part_begin, "on_header_field": on_header_field,
            "on_header_value": on_header_value, "on_header_end": on_header_end,
            "on_part_data": on_part_data, "on_part_end": on_part_end})
        while not state["done"]:
            message = await receive()
            read.append(message)
            try:
                parser.write(message.get("body", b""))
            except Exception:
                return None, read
            if not message.get("more_body", False) or message["type"] != "http.request":
                break
        return state["token"], read
    return None, read


class SessionMiddleware:
    """Sets `request.state.user` and `request.state.csrf_token`, refuses an unsafe request
    without the right CSRF token (403), and gives the public its anonymous cookie."""

    def __init__(self, app: ASGIApp, accounts: Accounts) -> None:
        self.app = app
        self.accounts = accounts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        accounts = self.accounts
        cookies = _cookies(scope)
        user: User | None = None
        clear_session = False
        session = cookies.get(SESSION_COOKIE)
        if session:
            if len(session) <= 128:
                user = await anyio.to_thread.run_sync(accounts.session_user, session)
            if user is None:
                clear_session = True
        anon = cookies.get(ANON_COOKIE, "")
        new_anon = None
        if user is not None and session:
            csrf = accounts.csrf_for("session", session)
        else:
            if not re.fullmatch(r"[A-Za-z0-9_-]{32,64}", anon):
                anon = new_anon = secrets.token_urlsafe(32)
            csrf = accounts.csrf_for("anon", anon)
        state = scope.setdefault("state", {})
        state["user"] = user
        state["csrf_token"] = csrf
        state["session_token"] = session if user is not None else None

        secure = scope.get("scheme") == "https"
        extra: list[tuple[bytes, bytes]] = []
        if new_anon is not None:
            extra.append((b"set-cookie",
                          cookie_header(ANON_COOKIE, new_anon, secure=secure).encode()))
        if clear_session:
            extra.append((b"set-cookie", cookie_header(SESSION_COOKIE, "", secure=secure,
                                                       max_age=0).encode()))

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start" and extra:
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        if scope["method"] in UNSAFE:
            given = _header(scope, CSRF_HEADER.encode())
            replay: list[Message] = []
            try:
                if given is None and new_anon is None:
                    given, replay = await _form_token(scope, receive)
            except _TooLarge:
                await _refuse(send_with_cookies, 413, "the form is too large")
                return
            if given is None or new_anon is not None or not hmac.compare_digest(
                    given.encode("latin-1", "replace"), csrf.encode()):
                await _refuse(send_with_cookies, 403,
                              "this form or request is missing its security token or the token "
                              "has expired: reload the page and try again")
                return
            if replay:
                pending = list(replay)

                async def replaying() -> Message:
                    if pending:
                        return pending.pop(0)
                    return await receive()

                await self.app(scope, replaying, send_with_cookies)
                return
        await self.app(scope, receive, send_with_cookies)


async def _refuse(send: Send, status: int, message: str) -> None:
    import json

    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def install(app: FastAPI, *, idle: float | None = None, absolute: float | None = None) -> None:
    """Accounts over `state.data_dir`, and the session and CSRF middleware."""
    accounts = Accounts(Path(app.state.web.data_dir))
    if idle is not None:
        accounts.idle = idle
    if absolute is not None:
        accounts.absolute = absolute
    app.state.accounts = accounts
    app.add_middleware(SessionMiddleware, accounts=accounts)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- routes


class Me(BaseModel):
    name: str | None
    role: str | None
    may_see_restricted: bool
    csrf_token: str


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return "/"


@router.get("/api/me", response_model=Me, tags=["accounts"],
            summary="Who is signed in, and the CSRF token for scripts")
def me(request: Request) -> Me:
    from cspkit.products.web.auth import current_user, may_see_restricted

    user = current_user(request)
    return Me(name=user.name if user else None, role=user.role if user else None,
              may_see_restricted=may_see_restricted(user),
              csrf_token=getattr(request.state, "csrf_token", ""))


@router.get("/login", include_in_schema=False)
def login_page(request: Request, next: str | None = None) -> Response:
    from cspkit.products.web.templating import page

    return page(request, "login.html.j2", title="Sign in", active="", error=None,
                next=_safe_next(next), name="")


@router.post("/login", include_in_schema=False)
def login(request: Request, name: str = Form("", max_length=200),
          password: str = Form("", max_length=1000),
          next: str = Form("/", max_length=2000)) -> Response:
    from cspkit.products.web.templating import page

    accounts = accounts_of(request.app)
    address = _client_address(request)
    now = accounts.clock()
    wait = accounts.throttle.wait(name, address, now)
    if wait > 0:
        minutes = max(1, round(wait / 60))
        response = page(request, "login.html.j2", title="Sign in", active="", status=429,
                        error=f"Too many failed attempts. Try again in about {minutes} "
                              f"minute{'s' if minutes != 1 else ''}.",
                        next=_safe_next(next), name=name)
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    user = verify(accounts.data_dir, name, password) if name and password else None
    if user is None:
        accounts.throttle.failed(name, address, now)
        return page(request, "login.html.j2", title="Sign in", active="", status=401,
                    error="That name and password do not match an account.",
                    next=_safe_next(next), name=name)
    accounts.throttle.succeeded(name)
    old = getattr(request.state, "session_token", None)
    if old:
        accounts.end_session(old)
    token = accounts.start_session(user)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.headers.append("set-cookie", cookie_header(
        SESSION_COOKIE, token, secure=request.url.scheme == "https",
        max_age=int(accounts.absolute)))
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> Response:
    accounts = accounts_of(request.app)
    token = getattr(request.state, "session_token", None)
    if token:
        accounts.end_session(token)
    response = RedirectResponse("/", status_code=303)
    response.headers.append("set-cookie", cookie_header(
        SESSION_COOKIE, "", secure=request.url.scheme == "https", max_age=0))
    return response
