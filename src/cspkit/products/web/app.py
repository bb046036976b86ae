"""The dashboard application: `create_app(db)` builds it, `WebState` is everything it holds.

The app only reads the warehouse (SnapshotReader: never blocks or is blocked by an ingest);
the admin's upload runs the CLI's own ingest pipeline as a writer. Results are cached per
snapshot. Every response carries a Content-Security-Policy that allows nothing outside the app
itself, so a page can never fetch a script, font or tile from elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from cspkit.errors import AreaNotFound, CspkitError
from cspkit.products.web.cache import ResultCache
from cspkit.products.web.context import BadRequest, NotFound
from cspkit.products.web.snapshots import SnapshotReader, Token
from cspkit.store.areas import HeldDistrict, districts_held

T = TypeVar("T")

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
       "script-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
       "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")


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


def state(request: Request) -> WebState:
    return request.app.state.web  # type: ignore[no-any-return]


def warehouse(request: Request) -> Iterator[tuple[duckdb.DuckDBPyConnection, Token | None]]:
    """Dependency: a cursor on the newest snapshot, and its token, for one request."""
    with state(request).reader.cursor() as pair:
        yield pair


Warehouse = Depends(warehouse)


def default_data_dir(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".web")


def create_app(db: str | os.PathLike[str] | None = None, *,
               data_dir: str | os.PathLike[str] | None = None) -> FastAPI:
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
    app = FastAPI(title="cspkit dashboard",
                  description="The partnership's community safety dashboard: the measures, "
                              "tests and disclosure control of the strategic assessment, "
                              "served from the warehouse.",
                  version="1")
    app.state.web = WebState(reader=reader, cache=ResultCache(), db_path=reader.path,
                             data_dir=folder)
    app.mount("/static", StaticFiles(packages=[("cspkit.products.web", "static")]),
              name="static")

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    _error_handlers(app)
    accounts.install(app)
    for module in (overview, explorer, places, custom_area, reports, data, accounts):
        app.include_router(module.router)
    return app


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
