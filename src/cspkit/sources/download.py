"""Downloading a public file to a local cache, resumably and verifiably, and remembering where
it came from.

A cached file ``NAME`` has a manifest beside it, ``NAME.source.json``: the URL it came from,
its sha256 and size (and, for a file assembled from many requests, a key saying what was
asked for). A file is reused, with no request at all, when its manifest names the same URL
(and key) and its bytes still hash to the recorded sha256; anything else is fetched afresh.

A download goes to ``NAME.part`` first. If the connection drops, the next attempt (or the
next run) asks for the rest with ``Range`` and ``If-Range`` (the ETag or Last-Modified of the
first response, kept in ``NAME.part.json``), so a changed file is never spliced onto an old
one; a server that answers 200 instead of 206 restarts it from zero. Transient failures
(dropped connections, timeouts, HTTP 5xx, 408, 429) are retried with backoff; only attempts
that add no bytes count towards giving up. The file is renamed into place only when every
announced byte has arrived.

Knows nothing of the warehouse: `cspkit.setup` records URL and checksum in the ingest log.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cspkit.errors import CspkitError
from cspkit.sources.limits import IngestLimits, current_limits, format_bytes, raise_hint

Progress = Callable[[str, int, int | None], None]

USER_AGENT = "cspkit (setup downloader)"
# Module-level so tests can shrink them.
_CHUNK = 1 << 20
_MAX_ATTEMPTS = 5
_BACKOFF_BASE = 1.0
_BACKOFF_CAP = 30.0


class DownloadError(CspkitError):
    """A download the user can act on: the message names the URL and what went wrong."""


class _Transient(Exception):
    """Worth another attempt (resuming what has arrived)."""


class _Restart(Exception):
    """The partial file cannot be continued: start again from zero."""


@dataclass
class Cached:
    path: Path
    url: str
    sha256: str
    bytes: int
    fetched: bool   # False: an earlier download was verified and reused


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".source.json")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached(path: Path, url: str, key: str | None = None) -> Cached | None:
    """The verified earlier download of `url` (and `key`) at `path`, or None."""
    meta = read_json(manifest_path(path))
    if not path.is_file() or meta.get("url") != url or meta.get("key") != key:
        return None
    if path.stat().st_size != meta.get("bytes") or sha256_file(path) != meta.get("sha256"):
        return None
    return Cached(path, url, str(meta["sha256"]), int(meta["bytes"]), fetched=False)


def record(path: Path, url: str, key: str | None = None) -> Cached:
    """Write the manifest of a complete file at `path` that came from `url`."""
    sha, size = sha256_file(path), path.stat().st_size
    write_json(manifest_path(path), {"url": url, "key": key, "sha256": sha, "bytes": size})
    return Cached(path, url, sha, size, fetched=True)


def download(url: str, path: Path, *, progress: Progress | None = None,
             timeout: float = 60.0, limits: IngestLimits | None = None) -> Cached:
    """`url` at `path`: reused if already downloaded and intact, else fetched (resuming any
    partial download). Raises DownloadError."""
    hit = cached(path, url)
    if hit:
        return hit
    limits = limits or current_limits()
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    fetch_part(url, part, path.name, progress, timeout, limits)
    os.replace(part, path)
    sidecar(part).unlink(missing_ok=True)
    return record(path, url)


def get_bytes(url: str, *, timeout: float = 60.0, limit: int | None = None) -> bytes:
    """The whole body of `url` held in memory (a small response such as one page of an API),
    retried like a download. Raises DownloadError."""
    limit = limit or current_limits().max_download_bytes
    failures, last = 0, ""
    while True:
        try:
            return _get_once(url, timeout, limit)
        except _Transient as exc:
            last = str(exc)
        failures += 1
        if failures >= _MAX_ATTEMPTS:
            raise DownloadError(f"{url} failed after {failures} attempts: {last}")
        _sleep(failures)


def file_name_of(url: str) -> str:
    """The file name a URL publishes (ONS addresses keep it in the ``uri`` parameter)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    path = query.get("uri", [parts.path])[0]
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) or "download"


# --- internals ---------------------------------------------------------------------------------

def _get_once(url: str, timeout: float, limit: int) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT,
                                                   "Accept-Encoding": "identity"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            total = int_or_none(response.headers.get("Content-Length"))
            if total is not None and total > limit:
                raise DownloadError(_over_limit(url, total, limit))
            body = response.read(limit + 1)
            if len(body) > limit:
                raise DownloadError(_over_limit(url, len(body), limit))
            if total is not None and len(body) != total:
                raise _Transient(f"connection closed after {len(body)} of {total} bytes")
            return body
    except urllib.error.HTTPError as exc:
        _http_error(url, exc)
    except (OSError, http.client.HTTPException) as exc:
        _network_error(url, exc)
    except ValueError as exc:
        raise DownloadError(f"'{url}' is not a usable URL ({exc})") from exc
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Expect:
    """What one kind of download must look like, for `fetch_part`: `check_head(chunk, url)`
    raises on a first chunk that is not the file (an error page served with status 200) before
    a resumable partial file is truncated; `not_found(url)` words an HTTP 404; `error` is the
    exception the caller's users see."""

    error: type[CspkitError] = DownloadError
    user_agent: str = USER_AGENT
    check_head: Callable[[bytes, str], None] | None = None
    not_found: Callable[[str], str] | None = None
    refuse_html: str | None = None   # message for a response of type text/html, if refused


def fetch_part(url: str, part: Path, label: str, progress: Progress | None, timeout: float,
               limits: IngestLimits, expect: Expect = Expect()) -> None:
    """Bring `part` to the complete bytes of `url`, resuming what is already there (Range +
    If-Range), retrying transient failures with backoff; only attempts that add no bytes
    count towards giving up. Raises `expect.error`."""
    failures = 0
    best = part.stat().st_size if part.exists() else 0
    last = ""
    while True:
        try:
            _attempt(url, part, label, progress, timeout, limits, expect)
            return
        except _Restart:
            part.unlink(missing_ok=True)
            sidecar(part).unlink(missing_ok=True)
            last = "the server could not continue the partial download"
        except _Transient as exc:
            last = str(exc)
        size = part.stat().st_size if part.exists() else 0
        # Only new bytes count as progress: a server that keeps restarting must not loop forever.
        failures = 0 if size > best else failures + 1
        best = max(best, size)
        if failures >= _MAX_ATTEMPTS:
            kept = f"; {size} bytes kept, run again to resume" if size else ""
            raise expect.error(f"download of {url} failed after {failures} attempts: "
                               f"{last}{kept}")
        _sleep(failures)


def _attempt(url: str, part: Path, label: str, progress: Progress | None,
             timeout: float, limits: IngestLimits, expect: Expect) -> None:
    """One request; returns when `part` is complete, else raises _Transient, _Restart or
    `expect.error`."""
    meta = read_json(sidecar(part)) if part.exists() else {}
    have = part.stat().st_size if part.exists() else 0
    same = meta.get("url") == url
    total = meta.get("total") if same else None
    if have and total is not None and have == total:
        return   # an earlier run got every byte; verification is the caller's
    headers = {"User-Agent": expect.user_agent, "Accept-Encoding": "identity"}
    if have:
        validator = meta.get("validator") if same else None
        if not validator or (total is not None and have > total):
            raise _Restart   # without a validator a resumed file could mix two versions
        headers["Range"] = f"bytes={have}-"
        headers["If-Range"] = validator
    done = have
    error = expect.error
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                    timeout=timeout) as response:
            if expect.refuse_html and response.headers.get_content_type() == "text/html":
                # Not our file; keep any partial download so a later run can still resume.
                raise error(expect.refuse_html.format(url=url))
            if response.status == 206:
                start, total = _content_range(response.headers.get("Content-Range"))
                if start != have or (meta.get("total") is not None and total != meta["total"]):
                    raise _Restart
                _check_announced(url, total, limits, error)
                mode = "ab"
                chunk = response.read(_CHUNK)
            elif response.status == 200:
                # Full body: a first download, or the server ignored or refused Range.
                total = int_or_none(response.headers.get("Content-Length"))
                _check_announced(url, total, limits, error)
                # Look before truncating: an error page must not destroy a resumable file.
                chunk = response.read(_CHUNK)
                if expect.check_head:
                    expect.check_head(chunk, url)
                write_json(sidecar(part), {"url": url, "total": total,
                                            "validator": _validator(response)})
                done, mode = 0, "wb"
            else:
                raise error(f"{url}: unexpected HTTP status {response.status}")
            # Never read past what was announced; without an announcement, past the limit.
            ceiling = limits.max_download_bytes if total is None else total
            if progress:
                progress(label, done, total)
            with open(part, mode) as out:
                while chunk:
                    if done + len(chunk) > ceiling:
                        out.close()
                        part.unlink(missing_ok=True)
                        sidecar(part).unlink(missing_ok=True)
                        raise error(_too_long(url, total, limits))
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(label, done, total)
                    # One byte past the ceiling is enough to know the body is too long.
                    chunk = response.read(max(1, min(_CHUNK, ceiling - done + 1)))
    except urllib.error.HTTPError as exc:
        if exc.code == 404 and expect.not_found:
            raise error(expect.not_found(url)) from exc
        if exc.code == 416:
            raise _Restart from exc   # our partial file is longer than the server's file
        _http_error(url, exc, error)
    except (OSError, http.client.HTTPException) as exc:
        _network_error(url, exc, error)
    except ValueError as exc:
        raise error(f"'{url}' is not a usable URL ({exc})") from exc
    if total is not None and done != total:
        raise _Transient(f"connection closed after {done} of {total} bytes")


def _check_announced(url: str, total: int | None, limits: IngestLimits,
                     error: type[CspkitError]) -> None:
    # Refused before a byte is written: a server may announce anything.
    if total is not None and total > limits.max_download_bytes:
        raise error(f"{url}: the server announces {format_bytes(total)}, over the limit "
                    f"of {format_bytes(limits.max_download_bytes)} for one download "
                    f"(max_download_bytes); {raise_hint('max_download_bytes')}")


def _too_long(url: str, total: int | None, limits: IngestLimits) -> str:
    if total is None:
        return (f"{url}: the server announced no size and sent more than "
                f"{format_bytes(limits.max_download_bytes)} (max_download_bytes); "
                f"the download was stopped and its partial file deleted; "
                f"{raise_hint('max_download_bytes')}")
    return (f"{url}: the server sent more than the {format_bytes(total)} it "
            f"announced; the download was stopped and its partial file deleted")


def _http_error(url: str, exc: urllib.error.HTTPError,
                error: type[CspkitError] = DownloadError) -> None:
    if exc.code in (408, 429) or exc.code >= 500:
        raise _Transient(f"HTTP {exc.code} {exc.reason}") from exc
    raise error(f"{url}: HTTP {exc.code} {exc.reason}") from exc


def _network_error(url: str, exc: BaseException,
                   error: type[CspkitError] = DownloadError) -> None:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror):
        host = urllib.parse.urlsplit(url).hostname
        raise error(f"cannot reach {host} ({reason}); check the network") from exc
    raise _Transient(f"{type(reason).__name__}: {reason}" if str(reason)
                     else type(reason).__name__) from exc


def _over_limit(url: str, size: int, limit: int) -> str:
    return (f"{url}: {format_bytes(size)} is over the limit of {format_bytes(limit)} for one "
            f"download (max_download_bytes); {raise_hint('max_download_bytes')}")


def _content_range(value: str | None) -> tuple[int, int | None]:
    match = re.fullmatch(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*", value or "")
    if not match:
        raise _Restart
    return int(match[1]), None if match[3] == "*" else int(match[3])


def _validator(response: http.client.HTTPResponse) -> str | None:
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):   # If-Range needs a strong validator
        return etag
    return response.headers.get("Last-Modified")


def _sleep(failures: int) -> None:
    time.sleep(min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** max(failures - 1, 0)))


def sidecar(path: Path) -> Path:
    """The partial download's notes (URL, announced size, validator) beside `path`."""
    return path.with_name(path.name + ".json")


def int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
    os.replace(tmp, path)
