"""The dashboard application: `create_app(db)` builds it, `WebState` is everything it holds.

The app only reads the warehouse (SnapshotReader: never blocks or is blocked by an ingest);
the admin's upload runs the CLI's own ingest pipeline as a writer. Results are cached per
snapshot. Every response carries a Content-Security-Policy that allows nothing outside the app
itself, so a page can never fetch a script, font or tile from elsewhere.

The JSON API keeps each answer as bytes per snapshot, query and reader's access (`json_api`):
a repeated request is served from memory on the event loop, with no database query, thread or
re-serialisation. With `warm=True` (what `cspkit serve` does unless --no-warm) a background
thread computes the public default views of every district held when the app starts
(`warm_up`), at low priority, so the first visitor does not wait for them.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import threading
from collections.abc import AsyncIterator, Callable, Hashable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import TypeAdapter
from starlette.types import ASGIApp, Message, Receive, Send
from starlette.types import Scope as AsgiScope

from cspkit.errors import AreaNotFound, CspkitError
from cspkit.products.web.auth import withheld_for
from cspkit.products.web.cache import MISSING, ResultCache
from cspkit.products.web.context import BadRequest, NotFound, Scope, scope
from cspkit.products.web.snapshots import SnapshotReader, Token
from cspkit.store.areas import HeldDistrict, districts_held

T = TypeVar("T")
log = logging.getLogger(__name__)
GZIP_MIN = 1024                 # bytes of JSON worth compressing
# Build one view's data: (cursor, snapshot token, the sources withheld from the reader) -> data.
Build = Callable[[duckdb.DuckDBPyConnection, "Token | None", frozenset[str]], Any]

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
SECURITY_HEADERS = ((b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"))


@dataclass
class WebState:
    reader: SnapshotReader
    cache: ResultCache
    db_path: Path
    data_dir: Path                      # accounts database, built reports, uploads
    extras: dict[str, Any] = field(default_factory=dict)   # per-feature state (reports ...)

    def cached(self, token: Token | None, key: tuple[Hashable, ...],
               compute: Callable[[], T]) -> T:
        return self.cache.get((token, *key), compute)

    def districts(self) -> list[HeldDistrict]:
        with self.reader.cursor() as (con, token):
            return self.cached(token, ("districts",), lambda: districts_held(con))

    def withheld(self, may_see: bool, con: duckdb.DuckDBPyConnection, token: Token | None
                 ) -> frozenset[str]:
        """The restricted sources withheld from a reader who may (not) see them: a query of
        the ingest log, made once per snapshot."""
        return self.cached(token, ("withheld", may_see),
                           lambda: withheld_for(None, con) if not may_see else frozenset())

    def scope(self, con: duckdb.DuckDBPyConnection, token: Token | None, area: str | None,
              period: str | None) -> Scope:
        """`context.scope` once per snapshot and query (a bad one raises and is not kept)."""
        return self.cached(token, ("scope", area, period), lambda: scope(con, area, period))

    def answer(self, con: duckdb.DuckDBPyConnection, token: Token | None,
               key: tuple[Hashable, ...], may_see: bool, build: Build,
               encode: Callable[[Any], bytes]) -> Encoded:
        """One API answer as JSON bytes (and gzipped), built and encoded once per snapshot,
        key and access to restricted sources."""
        def compute() -> Encoded:
            return Encoded.of(encode(build(con, token, self.withheld(may_see, con, token))))
        return self.cached(token, ("json", may_see, *key), compute)


@dataclass(frozen=True)
class Encoded:
    """An answer's JSON, and the same compressed for a client that accepts gzip (a JSON of
    blocks and SVG shrinks five-fold: less to send and to read)."""
    body: bytes
    gzipped: bytes | None

    @classmethod
    def of(cls, body: bytes) -> Encoded:
        return cls(body, gzip.compress(body, 5) if len(body) >= GZIP_MIN else None)

    def response(self, request: Request) -> Response:
        if self.gzipped is not None and "gzip" in request.headers.get("accept-encoding", ""):
            return JSONBytes(self.gzipped, headers={"Content-Encoding": "gzip",
                                                    "Vary": "Accept-Encoding"})
        headers = {"Vary": "Accept-Encoding"} if self.gzipped is not None else None
        return JSONBytes(self.body, headers=headers)


def state(request: Request) -> WebState:
    return request.app.state.web  # type: ignore[no-any-return]


def warehouse(request: Request) -> Iterator[tuple[duckdb.DuckDBPyConnection, Token | None]]:
    """Dependency: a cursor on the newest snapshot, and its token, for one request."""
    with state(request).reader.cursor() as pair:
        yield pair


Warehouse = Depends(warehouse)


class JSONBytes(Response):
    """JSON already encoded (kept in the cache as bytes)."""
    media_type = "application/json"


def encode_json(data: Any) -> bytes:
    """As FastAPI answers a dict with no response model (JSONResponse's compact form)."""
    return json.dumps(jsonable_encoder(data), ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode("utf-8")


def encoder(model: Any) -> Callable[[Any], bytes]:
    """As FastAPI answers with `response_model=model`: validated against the model (extra
    keys dropped) and dumped, once, when the answer is cached. The route keeps the model
    in its decorator, so OpenAPI documents it; returning bytes skips the per-request
    re-validation."""
    adapter: TypeAdapter[Any] = TypeAdapter(model)
    return lambda data: adapter.dump_json(adapter.validate_python(data))


def cached_answer(request: Request, may_see: bool, key: tuple[Hashable, ...]
                  ) -> Response | None:
    """The answer `json_api` keeps for `key` on the newest snapshot, if it holds one."""
    web = state(request)
    found = web.cache.peek((web.reader.token(), "json", may_see, *key))
    return None if found is MISSING else found.response(request)  # type: ignore[no-any-return]


async def json_api(request: Request, may_see: bool, key: tuple[Hashable, ...], build: Build,
                   encode: Callable[[Any], bytes] = encode_json) -> Response:
    """Answer an API request from the cache when it holds it (on the event loop: no thread,
    no query, no serialisation), else build it in a worker thread on the newest snapshot.
    `may_see`: whether the reader may see restricted sources (`auth.may_see_restricted`);
    `key` must hold everything else the answer depends on apart from the snapshot."""
    found = cached_answer(request, may_see, key)
    if found is not None:
        return found
    web = state(request)

    def work() -> Encoded:
        with web.reader.cursor() as (con, token):
            return web.answer(con, token, key, may_see, build, encode)

    return (await run_in_threadpool(work)).response(request)


# What the warm-up computes for one district: (state, cursor, token, district code).
Warmer = Callable[[WebState, duckdb.DuckDBPyConnection, "Token | None", str], None]


class WarmUp:
    """Computes the public default views of every district held (the modules' `warm`
    functions), in one background thread at low priority: it waits while requests are being
    served, so it never delays one by more than the item it is computing, and stops between
    items when the app stops."""

    def __init__(self, web: WebState, warmers: list[Warmer],
                 districts: Sequence[str] | None = None) -> None:
        self.web = web
        self.warmers = warmers
        self.districts = list(districts) if districts is not None else None
        self.stop = threading.Event()
        self.done = threading.Event()
        self.busy = 0                  # requests in flight (the middleware counts them)
        self.thread = threading.Thread(target=self._run, name="cspkit-warm-up", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def close(self, timeout: float = 5.0) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join(timeout)

    def _idle(self) -> bool:
        """Wait until no request is in flight; False when the app is stopping."""
        while self.busy > 0 and not self.stop.is_set():
            self.stop.wait(0.05)
        return not self.stop.is_set()

    def _run(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)  # this thread only
        except (AttributeError, OSError):
            pass
        try:
            codes = self.districts
            if codes is None:
                codes = [d.code for d in self.web.districts()]
            for code in codes:
                for warm in self.warmers:
                    if not self._idle():
                        return
                    try:
                        with self.web.reader.cursor() as (con, token):
                            warm(self.web, con, token, code)
                    except CspkitError as exc:   # e.g. no full year held: said to its visitor
                        log.info("warm-up of %s: %s", code, exc)
                    except Exception:   # a view that fails now fails for its visitor too
                        log.exception("warm-up of %s failed", code)
        except Exception:
            log.exception("warm-up stopped")
        finally:
            self.done.set()


def default_data_dir(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".web")


def create_app(db: str | os.PathLike[str] | None = None, *,
               data_dir: str | os.PathLike[str] | None = None, warm: bool = False,
               warm_districts: Sequence[str] | None = None) -> FastAPI:
    """The dashboard over the warehouse `db`. `warm=True`: when the app starts (its lifespan),
    compute the public default views of every district held (or of `warm_districts`, codes)
    in the background (WarmUp)."""
    from cspkit.products.web import (
        accounts,
        custom_area,
        data,
        explorer,
        overview,
        places,
        reports,
    )

    reader = SnapshotReader(db)
    folder = Path(data_dir) if data_dir else default_data_dir(reader.path)
    folder.mkdir(parents=True, exist_ok=True)
    web = WebState(reader=reader, cache=ResultCache(512), db_path=reader.path,
                   data_dir=folder)
    warm_up = (WarmUp(web, [overview.warm, explorer.warm, places.warm], warm_districts)
               if warm else None)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm_up is not None:
            warm_up.start()
        try:
            yield
        finally:
            if warm_up is not None:
                warm_up.close()

    app = FastAPI(title="cspkit dashboard",
                  description="The partnership's community safety dashboard: the measures, "
                              "tests and disclosure control of the strategic assessment, "
                              "served from the warehouse.",
                  version="1", lifespan=lifespan)
    app.state.web = web
    app.state.warm_up = warm_up
    app.mount("/static", StaticFiles(packages=[("cspkit.products.web", "static")]),
              name="static")

    app.add_middleware(SecurityHeaders, warm_up=warm_up)  # type: ignore[arg-type]

    @app.get("/api/status", tags=["status"],
             summary="The warm-up's progress and the result cache's counts",
             responses={200: {"description": "warm_up: off, running or done; cache: hits, "
                                             "misses, entries and size of the result cache"}})
    async def api_status() -> dict[str, Any]:
        progress = ("off" if warm_up is None else
                    "done" if warm_up.done.is_set() else "running")
        return {"warm_up": progress, "cache": web.cache.stats()}
    _error_handlers(app)
    accounts.install(app)
    for module in (overview, explorer, places, custom_area, reports, data, accounts):
        app.include_router(module.router)
    return app


class SecurityHeaders:
    """Every response's Content-Security-Policy, nosniff and referrer policy (unless the
    response set its own); counts the requests in flight for the warm-up. Plain ASGI (no
    BaseHTTPMiddleware task and body stream per request)."""

    def __init__(self, app: ASGIApp, warm_up: WarmUp | None = None) -> None:
        self.app = app
        self.warm_up = warm_up

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        warm_up = self.warm_up
        if warm_up is None:
            await self.app(scope, receive, with_headers)
            return
        warm_up.busy += 1                 # the warm-up waits while requests are served
        try:
            await self.app(scope, receive, with_headers)
        finally:
            warm_up.busy -= 1


def _error_handlers(app: FastAPI) -> None:
    def answer(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": message}, status_code=status)
        from cspkit.products.web.templating import page
        return page(request, "error.html.j2", title="Problem", active="", status=status,
                    message=message)

    @app.exception_handler(AreaNotFound)
    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: Exception) -> Response:
        return answer(request, 404, str(exc))

    @app.exception_handler(BadRequest)
    @app.exception_handler(CspkitError)
    async def bad_request(request: Request, exc: Exception) -> Response:
        return answer(request, 422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"detail": exc.errors()}, status_code=422)
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        return answer(request, 422, problems)
