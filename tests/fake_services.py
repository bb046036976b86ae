"""Local stand-ins (127.0.0.1 only) for the public services `cspkit setup` downloads from,
answering in their real formats:

- data.police.uk: the archive list page (``/data/archive/``) and monthly archives
  (``/data/archive/YYYY-MM.zip``, laid out ``YYYY-MM/YYYY-MM-<force>-<kind>.csv``);
- ONS Open Geography Portal ArcGIS feature layers (``/arcgis/<layer>/FeatureServer/0/query``):
  ``where=FIELD IN ('..', ...)``, ``resultOffset``/``resultRecordCount``, ``f=geojson``, at
  most ``max_page`` features a page, later pages announced with
  ``properties.exceededTransferLimit``; errors as HTTP 200 with ``{"error": {...}}``;
- plain files (the ONS population workbook): any other path in ``files``.

Static files honour Range/If-Range with a strong ETag. The server misbehaves on request: hang
up part way through a body (``drop``), answer 503 (``fail``), or answer an ArcGIS error.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    range: str | None
    status: int = 0


@dataclass
class Layer:
    field: str                       # the code property queried (LSOA21CD, WD23CD)
    features: list[dict[str, Any]]
    max_page: int = 25               # the layer's maxRecordCount
    top_level: bool = False          # exceededTransferLimit at the top (as f=json puts it)
    body: bytes | None = None        # answer every query with this instead


@dataclass
class State:
    base_url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)       # URL path -> body
    layers: dict[str, Layer] = field(default_factory=dict)      # layer name -> features
    archive_months: list[str] = field(default_factory=list)     # on the list page
    drop: dict[str, int] = field(default_factory=dict)          # path prefix -> bytes, once
    fail: dict[str, int] = field(default_factory=dict)          # path prefix -> 503s to send
    down_after_drop: set[str] = field(default_factory=set)      # paths that answer 503 once
    down: set[str] = field(default_factory=set)                 # ... they have been dropped
    arcgis_error: int = 0                                       # next N queries fail
    requests: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def gets(self, prefix: str) -> list[Seen]:
        return [r for r in self.requests if r.method == "GET" and r.path.startswith(prefix)]

    def _take(self, table: dict[str, int], path: str) -> int | None:
        with self.lock:
            for prefix, value in table.items():
                if path.startswith(prefix):
                    if table is self.fail:
                        if value <= 0:
                            return None
                        table[prefix] = value - 1
                        return value
                    del table[prefix]
                    return value
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: State


class QuietHandler(BaseHTTPRequestHandler):
    """A stand-in server's handler: HTTP/1.1, no log lines, HEAD and GET both to `serve`."""

    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # keep pytest output quiet
        pass

    def do_HEAD(self) -> None:
        self.serve(head=True)

    def do_GET(self) -> None:
        self.serve(head=False)

    def serve(self, head: bool) -> None:
        raise NotImplementedError


class _Handler(QuietHandler):
    server: _Server

    def _send(self, seen: Seen, status: int, body: bytes, ctype: str, head: bool,
              extra: dict[str, str] | None = None) -> None:
        seen.status = status
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if head:
            return
        cut = self.server.state._take(self.server.state.drop, seen.path)
        if cut is not None and seen.method == "GET":
            if seen.path in self.server.state.down_after_drop:
                self.server.state.down.add(seen.path)
            self.wfile.write(body[:cut])   # announce it all, send part, hang up
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def serve(self, head: bool) -> None:
        state = self.server.state
        parts = urlsplit(self.path)
        seen = Seen(self.command, parts.path, parse_qs(parts.query),
                    self.headers.get("Range"))
        state.requests.append(seen)
        if parts.path in state.down or state._take(state.fail, parts.path) is not None:
            self._send(seen, 503, b"busy", "text/plain", head)
            return
        if parts.path == "/data/archive/":
            links = "".join(f'<a href="/data/archive/{m}.zip">{m}</a>\n'
                            for m in state.archive_months)
            self._send(seen, 200, f"<html><body>{links}</body></html>".encode(),
                       "text/html", head)
            return
        match = re.fullmatch(r"/arcgis/([^/]+)/FeatureServer/0/query", parts.path)
        if match and match[1] in state.layers:
            self._query(seen, state.layers[match[1]], seen.query, head)
            return
        body = state.files.get(parts.path)
        if body is None:
            self._send(seen, 404, b"not found", "text/plain", head)
            return
        self._static(seen, body, head)

    def _static(self, seen: Seen, body: bytes, head: bool) -> None:
        etag = f'"{len(body):x}"'
        ctype = "application/zip" if seen.path.endswith(".zip") else "application/octet-stream"
        wanted = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if wanted and (if_range is None or if_range == etag):
            start = int(re.fullmatch(r"bytes=(\d+)-", wanted)[1])   # type: ignore[index]
            self._send(seen, 206, body[start:], ctype, head,
                       {"ETag": etag, "Accept-Ranges": "bytes",
                        "Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"})
            return
        self._send(seen, 200, body, ctype, head, {"ETag": etag, "Accept-Ranges": "bytes"})

    def _query(self, seen: Seen, layer: Layer, query: dict[str, list[str]], head: bool) -> None:
        state = self.server.state
        with state.lock:
            failing = state.arcgis_error > 0
            state.arcgis_error -= 1 if failing else 0
        where = query.get("where", [""])[0]
        match = re.fullmatch(rf"{layer.field} IN \(((?:'[^']*'(?:, )?)+)\)", where)
        if failing or not match or query.get("f") != ["geojson"]:
            error = {"error": {"code": 400, "message": "Cannot perform query. Invalid query "
                               "parameters.", "details": ["'where' parameter is invalid"]}}
            self._send(seen, 200, json.dumps(error).encode(), "application/json", head)
            return
        if layer.body is not None:
            self._send(seen, 200, layer.body, "text/html", head)
            return
        codes = set(re.findall(r"'([^']*)'", match[1]))
        hits = [f for f in layer.features if f["properties"][layer.field] in codes]
        offset = int(query.get("resultOffset", ["0"])[0])
        count = min(int(query.get("resultRecordCount", ["1000"])[0]), layer.max_page)
        page = hits[offset:offset + count]
        body: dict[str, Any] = {"type": "FeatureCollection", "features": page}
        if offset + count < len(hits):
            if layer.top_level:
                body["exceededTransferLimit"] = True
            else:
                body["properties"] = {"exceededTransferLimit": True}
        self._send(seen, 200, json.dumps(body).encode(), "application/geo+json", head)


@contextmanager
def serve() -> Iterator[State]:
    """A running stand-in server; its address is ``state.base_url``."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = State(base_url=f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
