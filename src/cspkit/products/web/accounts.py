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
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cspkit.store.accounts import (  # noqa: F401 - the accounts API, re-exported
    DB_NAME,
    MIN_PASSWORD,
    NAME_PATTERN,
    ROLES,
    AccountError,
    User,
    add_session,
    add_user,
    db_path,
    end_session,
    list_users,
    remove_user,
    server_secret,
    session_user,
    set_password,
    set_role,
    verify,
)

SESSION_COOKIE = "cspkit_session"
ANON_COOKIE = "cspkit_anon"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_LIMIT = 1 << 20          # an urlencoded form larger than this is refused (413)

router = APIRouter()


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
            self._secret = server_secret(self.data_dir)
        return self._secret

    def csrf_for(self, kind: str, cookie: str) -> str:
        return hmac.new(self.secret, f"{kind}:{cookie}".encode(), hashlib.sha256).hexdigest()

    def start_session(self, user: User) -> str:
        token = secrets.token_urlsafe(32)
        add_session(self.data_dir, token, user.name, self.clock(), idle=self.idle,
                    absolute=self.absolute)
        return token

    def end_session(self, token: str) -> None:
        end_session(self.data_dir, token)

    def session_user(self, token: str) -> User | None:
        """The account a session token belongs to, if the session has not expired."""
        return session_user(self.data_dir, token, self.clock(), idle=self.idle,
                            absolute=self.absolute)


def accounts_of(app: Any) -> Accounts:
    return app.state.accounts  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- middleware



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
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if user is not None and not any(k.lower() == b"cache-control"
                                                for k, _ in headers):
                    # What a signed-in user sees may hold restricted sources: no shared cache.
                    headers.append((b"cache-control", b"private, no-store"))
                message["headers"] = [*headers, *extra]
            await send(message)

        if scope["method"] in UNSAFE:
            given = _header(scope, CSRF_HEADER.encode())
            replay: list[Message] = []
            try:
                if given is None and new_anon is None:
                    given, replay = await _form_token(scope, receive)
            except _TooLarge:
                await _refuse(scope, receive, send_with_cookies, 413, "The form is too large.")
                return
            if given is None or new_anon is not None or not hmac.compare_digest(
                    given.encode("latin-1", "replace"), csrf.encode()):
                await _refuse(scope, receive, send_with_cookies, 403,
                              "This form or request is missing its security token, or the "
                              "token has expired (after signing in or out, or when a session "
                              "ends). Reload the page and try again.")
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


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int,
                  message: str) -> None:
    """JSON for scripts and the API; the error page, in words, for a browser's form."""
    from fastapi.responses import JSONResponse
    from starlette.requests import Request as StarletteRequest

    from cspkit.products.web.app import CSP

    response: Response
    accept = _header(scope, b"accept") or ""
    if "text/html" in accept and not scope["path"].startswith("/api/"):
        from cspkit.products.web.templating import page

        request = StarletteRequest(scope, receive)
        response = await anyio.to_thread.run_sync(
            lambda: page(request, "error.html.j2", title="Problem",  # type: ignore[arg-type]
                         active="", status=status, message=message))
    else:
        response = JSONResponse({"detail": message}, status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    await response(scope, receive, send)


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
