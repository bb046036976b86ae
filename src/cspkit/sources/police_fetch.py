"""Download a force's data.police.uk CSVs for a range of months, resumably and verifiably.

Source: the monthly archive ``https://data.police.uk/data/archive/YYYY-MM.zip``. Each archive
holds, for every force of England, Wales and Northern Ireland, the 36 months ending at YYYY-MM,
laid out as ``YYYY-MM/YYYY-MM-<force>-<kind>.csv`` (kind: street, outcomes, stop-and-search).
The "custom download" form at data.police.uk/data/ is not used: it builds a zip asynchronously
behind a web form, so an unattended tool could neither drive it reliably nor check that what it
got is complete. The archive is a plain static file that supports HTTP range requests, so it can
be fetched unattended, resumed after an interruption and verified.

Steps, per archive needed:

1. Pick archives. The archive list page (``/data/archive/``) is read if reachable, so only
   published archives are asked for; otherwise the URL is computed from the month.
2. Download to ``dest/.archives/YYYY-MM.zip.part`` in chunks. A sidecar
   ``YYYY-MM.zip.part.json`` keeps the ETag/Last-Modified of the first response, so a later
   attempt (or a later run) can resume with ``Range`` + ``If-Range``; if the server answers 200
   instead of 206 (no range support, or the file changed) the download restarts from zero.
   Transient failures (dropped connections, timeouts, 5xx) are retried with backoff, resuming.
   Reading stops at the size the server announced (Content-Length, or the Content-Range
   total); a server that announces no size is stopped at ``max_download_bytes`` and its partial
   file deleted. An announced size above that limit is refused before anything is written
   (see `cspkit.sources.limits`; ``CSPKIT_MAX_DOWNLOAD_BYTES`` raises it).
3. Verify: byte count equals the advertised size, the zip opens, and every member extracted is
   read in full so zipfile checks its CRC (and counted: a member that unpacks past its declared
   size or the archive limits stops the extraction, as for any zip). Only then is ``.part``
   renamed to ``.zip``; a corrupt download is deleted rather than left looking complete.
4. Extract the wanted force/months/kinds to ``dest/YYYY-MM/YYYY-MM-<force>-<kind>.csv``, via a
   temporary ``.part`` name (which folder scans ignore) and an atomic rename.
"""

from __future__ import annotations

import difflib
import http.client
import os
import re
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cspkit.errors import CspkitError, InputError
from cspkit.police_forces import force_id_from_name
from cspkit.sources.download import Expect, fetch_part, int_or_none, read_json, sidecar
from cspkit.sources.inputs import ArchiveBudget, check_archive, extract_member, looks_like_html
from cspkit.sources.limits import IngestLimits, current_limits

DEFAULT_BASE_URL = "https://data.police.uk"
KINDS = ("street", "outcomes", "stop-and-search")
ARCHIVE_MONTHS = 36  # months held by one archive, ending at its own month

Progress = Callable[[str, int, int | None], None]

# Chunk size, retries and backoff are download.py's (tests shrink them there).
_LIST_PAGE_LIMIT = 4 << 20  # the list page is a few KB; never read an unbounded body
_USER_AGENT = "cspkit (data.police.uk archive fetcher)"

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
_ARCHIVE_HREF = re.compile(r"(?:^|/)(\d{4})-(\d{2})\.zip$")
# Force ids contain hyphens, so anchor on the kind at the end of the name.
_MEMBER_RE = re.compile(r"(?:^|/)(\d{4}-\d{2})-([a-z0-9-]+?)-(street|outcomes|stop-and-search)"
                        r"\.csv$", re.IGNORECASE)


class FetchError(CspkitError):
    """A download or archive problem the user can act on (message says what and where)."""


def _check_zip_head(chunk: bytes, url: str) -> None:
    # Catch an error page served with status 200 before downloading gigabytes of it.
    if looks_like_html(chunk):
        raise FetchError(f"{url} returned an HTML page instead of a zip archive "
                         f"(is the address right, or is the site down?)")
    if not chunk.startswith(b"PK"):
        raise FetchError(f"{url} returned data that is not a zip archive "
                         f"(it starts {chunk[:8]!r})")


_ARCHIVE = Expect(
    error=FetchError, user_agent=_USER_AGENT, check_head=_check_zip_head,
    not_found=lambda url: (f"no archive at {url} (HTTP 404): data.police.uk may not have "
                           "published it yet, try an earlier end month"),
    refuse_html="{url} returned an HTML page instead of a zip archive (is the address "
                "right, or is the site down?)")


@dataclass
class FetchResult:
    archives: list[Path] = field(default_factory=list)  # archive files downloaded (or reused)
    files: list[Path] = field(default_factory=list)     # extracted CSVs
    missing: list[str] = field(default_factory=list)    # 'YYYY-MM <kind>' wanted but not found
    sources: dict[str, str] = field(default_factory=dict)  # extracted CSV -> its archive's URL


@dataclass
class _Archive:
    month: int          # month index of the archive (see _month_index)
    url: str
    months: list[int]   # wanted months this archive supplies

    @property
    def name(self) -> str:
        return f"{_month_text(self.month)}.zip"


class _Corrupt(Exception):
    """The archive's bytes are wrong: it must be downloaded afresh."""


def fetch_police(force: str, start: str, end: str, dest: Path, *,
                 kinds: tuple[str, ...] = ("street",),
                 base_url: str = DEFAULT_BASE_URL,
                 progress: Progress | None = None,
                 timeout: float = 60.0,
                 limits: IngestLimits | None = None) -> FetchResult:
    """Fetch `force`'s CSVs of `kinds` for months `start`..`end` (YYYY-MM, inclusive) into
    `dest`. Raises FetchError (a CspkitError) with a message fit for the user. `limits`
    (default `current_limits()`) bounds downloads and what is unpacked."""
    limits = limits or current_limits()
    first = _month_index(start, "start")
    last = _month_index(end, "end")
    if first > last:
        raise FetchError(f"start month {start} is after end month {end}")
    kinds = _check_kinds(kinds)
    force_id = _force_id(force)
    dest = Path(dest)

    listed = _list_archives(base_url, timeout)
    plan, uncovered = _plan(first, last, listed, base_url)
    if not plan:
        newest = _month_text(max(listed)) if listed else "none"
        raise FetchError(f"no published data.police.uk archive covers {start}..{end} "
                         f"(newest archive listed: {newest})")

    store = dest / ".archives"
    store.mkdir(parents=True, exist_ok=True)
    result = FetchResult(missing=[f"{_month_text(m)} {k}" for m in uncovered for k in kinds])
    for archive in plan:
        path, files, missing = _fetch_one(archive, store, dest, force_id, kinds, progress,
                                          timeout, limits)
        result.archives.append(path)
        result.files.extend(files)
        result.missing.extend(missing)
        result.sources.update((str(f), archive.url) for f in files)
    result.files.sort()
    result.missing.sort(key=lambda item: (item[:7], KINDS.index(item[8:])))
    return result


def archives_for(start: str, end: str, base_url: str = DEFAULT_BASE_URL
                 ) -> list[tuple[str, str]]:
    """(file name, URL) of the archives that cover `start`..`end` when nothing is known of what
    is published (no request is made): the archive named after the end month, and earlier
    ones for a range longer than one archive holds. What an offline folder must contain."""
    first, last = _month_index(start, "start"), _month_index(end, "end")
    if first > last:
        raise FetchError(f"start month {start} is after end month {end}")
    plan, _ = _plan(first, last, None, base_url)
    return [(archive.name, archive.url) for archive in plan]


def newest_archive(base_url: str = DEFAULT_BASE_URL, timeout: float = 60.0) -> str | None:
    """The month (YYYY-MM) of the newest archive the list page shows, or None if unreachable."""
    listed = _list_archives(base_url, timeout)
    return _month_text(max(listed)) if listed else None


def extract_police(archive: Path, force: str, start: str, end: str, dest: Path, *,
                   kinds: tuple[str, ...] = ("street",), url: str = "",
                   limits: IngestLimits | None = None) -> FetchResult:
    """Take `force`'s CSVs for `start`..`end` from an archive already on disk (named
    YYYY-MM.zip, as data.police.uk names them), as `fetch_police` does after downloading."""
    limits = limits or current_limits()
    first, last = _month_index(start, "start"), _month_index(end, "end")
    match = _ARCHIVE_HREF.search(archive.name)
    if not match:
        raise FetchError(f"{archive}: not named like a data.police.uk archive (YYYY-MM.zip)")
    month = int(match[1]) * 12 + int(match[2]) - 1
    months = list(range(max(first, month - ARCHIVE_MONTHS + 1), min(last, month) + 1))
    kinds = _check_kinds(kinds)
    plan = _Archive(month, url or str(archive), months)
    try:
        staged, missing = _extract(archive, plan, Path(dest), _force_id(force), kinds, limits)
    except _Corrupt as exc:
        raise FetchError(f"{archive} is not a sound zip archive ({exc})") from exc
    result = FetchResult(archives=[archive], missing=missing)
    for tmp, target in staged:
        os.replace(tmp, target)
        result.files.append(target)
        result.sources[str(target)] = plan.url
    return result


# --- arguments ---------------------------------------------------------------------------------

def _month_index(text: str, what: str) -> int:
    """'2024-03' -> a month count, so ranges are plain integer arithmetic."""
    match = _MONTH_RE.match(text.strip()) if isinstance(text, str) else None
    if not match or not 1 <= int(match[2]) <= 12:
        raise FetchError(f"{what} month '{text}' is not a month in the form YYYY-MM "
                         f"(e.g. 2024-03)")
    return int(match[1]) * 12 + int(match[2]) - 1


def _month_text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _check_kinds(kinds: tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(kinds, str):  # a bare string would otherwise be split into letters
        kinds = (kinds,)
    wanted = tuple(dict.fromkeys(k.strip().lower() for k in kinds))
    bad = [k for k in wanted if k not in KINDS]
    if not wanted or bad:
        raise FetchError(f"unknown data kind {', '.join(map(repr, bad)) or '(none given)'}; "
                         f"choose from {', '.join(KINDS)}")
    return wanted


def _force_id(force: str) -> str:
    # Accept a force's name ("Bedfordshire Police") as well as its id; an unknown id is passed
    # through so the archive itself decides (and the error lists what it holds).
    text = force.strip().lower()
    if not text:
        raise FetchError("no police force given (e.g. bedfordshire)")
    return force_id_from_name(force) or text


# --- choosing archives -------------------------------------------------------------------------

def _archive_url(base_url: str, month: int) -> str:
    return f"{base_url.rstrip('/')}/data/archive/{_month_text(month)}.zip"


def _list_archives(base_url: str, timeout: float) -> dict[int, str] | None:
    """Archive month -> URL from the list page, or None when the page is unreachable or lists
    nothing (the caller then computes URLs)."""
    page = f"{base_url.rstrip('/')}/data/archive/"
    request = urllib.request.Request(page, headers={"User-Agent": _USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=min(timeout, 30.0)) as response:
            body = response.read(_LIST_PAGE_LIMIT)
    except (OSError, http.client.HTTPException, ValueError):
        return None
    found: dict[int, str] = {}
    text = body.decode("utf-8", "replace")
    for href in re.findall(r"""href\s*=\s*["']([^"'#?]+)""", text, re.IGNORECASE):
        match = _ARCHIVE_HREF.search(href)
        if match and 1 <= int(match[2]) <= 12:
            found[int(match[1]) * 12 + int(match[2]) - 1] = urllib.parse.urljoin(page, href)
    return found or None


def _plan(first: int, last: int, listed: dict[int, str] | None,
          base_url: str) -> tuple[list[_Archive], list[int]]:
    """The fewest archives covering first..last (oldest first), and the months none covers."""
    plan: list[_Archive] = []
    uncovered: list[int] = []
    month = last
    while month >= first:
        if listed is None:
            # Nothing known about what is published: the archive named after the month.
            chosen: int | None = month
            url = _archive_url(base_url, month)
        else:
            # The earliest listed archive still holding `month` reaches furthest back.
            chosen = min((a for a in listed if month <= a < month + ARCHIVE_MONTHS), default=None)
            url = listed[chosen] if chosen is not None else ""
        if chosen is None:
            uncovered.append(month)  # not published (yet): report, try the month before
            month -= 1
            continue
        low = max(first, chosen - ARCHIVE_MONTHS + 1)
        plan.append(_Archive(chosen, url, list(range(low, month + 1))))
        month = low - 1
    plan.reverse()
    return plan, sorted(uncovered)


# --- one archive: get it, verify it, extract from it -------------------------------------------

def _fetch_one(archive: _Archive, store: Path, dest: Path, force: str, kinds: tuple[str, ...],
               progress: Progress | None, timeout: float,
               limits: IngestLimits) -> tuple[Path, list[Path], list[str]]:
    final = store / archive.name
    part = store / (archive.name + ".part")
    reused = final.exists() and _reusable(final, archive.url, timeout)
    while True:
        if reused:
            size = final.stat().st_size
            _report(progress, archive.name, size, size)
        else:
            _remove(final, sidecar(final))
            _download(archive.url, part, archive.name, progress, timeout, limits)
        source = final if reused else part
        try:
            staged, missing = _extract(source, archive, dest, force, kinds, limits)
        except _Corrupt as exc:
            _remove(source, sidecar(source))
            if reused:
                reused = False  # the cached copy went bad on disk: download it afresh, once
                continue
            raise FetchError(f"archive {archive.name} from {archive.url} is corrupt ({exc}); "
                             f"it has been deleted, run again to download it afresh") from exc
        except FetchError:
            # e.g. unknown force: the archive itself is sound; keep it so a retry is instant.
            if not reused:
                _finalise(part, final)
            raise
        break
    if not reused:
        _finalise(part, final)
    files = []
    for tmp, target in staged:
        os.replace(tmp, target)
        files.append(target)
    return final, files, missing


def _finalise(part: Path, final: Path) -> None:
    os.replace(part, final)
    if sidecar(part).exists():
        os.replace(sidecar(part), sidecar(final))


def _reusable(final: Path, url: str, timeout: float) -> bool:
    """A complete archive is reused when its size matches the server's (or, offline, the size
    recorded when it was downloaded): a republished archive usually changes size."""
    size = final.stat().st_size
    expected = _remote_size(url, timeout)
    if expected is None:
        expected = read_json(sidecar(final)).get("total")
    return expected is None or expected == size


def _remote_size(url: str, timeout: float) -> int | None:
    request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": _USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if response.headers.get_content_type() == "text/html":
                return None
            return int_or_none(response.headers.get("Content-Length"))
    except (OSError, http.client.HTTPException, ValueError):
        return None


def _extract(source: Path, archive: _Archive, dest: Path, force: str,
             kinds: tuple[str, ...], limits: IngestLimits
             ) -> tuple[list[tuple[Path, Path]], list[str]]:
    """Stage the wanted members as ``<target>.part`` files (CRC-checked, and bounded like any
    zip: see `cspkit.sources.inputs.check_archive`) and list the wanted month/kinds the
    archive lacks. Raises _Corrupt, or FetchError (unknown force, a limit exceeded)."""
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise _Corrupt(_not_a_zip(source, exc)) from exc
    staged: list[tuple[Path, Path]] = []
    missing: list[str] = []
    with zf:
        index: dict[tuple[str, str, str], zipfile.ZipInfo] = {}
        for info in zf.infolist():
            match = _MEMBER_RE.search(info.filename)
            if match:
                index[(match[1], match[2].lower(), match[3].lower())] = info
        forces = {f for _, f, _ in index}
        if force not in forces:
            raise _unknown_force(force, forces, archive.name)
        wanted: list[tuple[zipfile.ZipInfo, Path]] = []
        for month in archive.months:
            month_text = _month_text(month)
            for kind in kinds:
                info = index.get((month_text, force, kind))
                if info is None:
                    missing.append(f"{month_text} {kind}")
                else:
                    wanted.append((info, dest / month_text / f"{month_text}-{force}-{kind}.csv"))
        budget = ArchiveBudget(limits)
        name = ""
        try:
            check_archive([info for info, _ in wanted], source.stat().st_size, archive.name,
                          budget)
            for info, target in wanted:
                name = info.filename
                tmp = target.with_name(target.name + ".part")
                staged.append((tmp, target))
                # Reading to the end makes zipfile compare the CRC-32 (BadZipFile if not).
                extract_member(zf, info, tmp, f"{archive.name}!{name}", budget)
        except InputError as exc:
            _remove(*(tmp for tmp, _ in staged))
            if isinstance(exc.__cause__, zipfile.BadZipFile | zlib.error | EOFError):
                raise _Corrupt(f"member {name}: {exc.__cause__}") from exc
            raise FetchError(str(exc)) from exc
    return staged, missing


def _not_a_zip(source: Path, exc: BaseException) -> str:
    with open(source, "rb") as handle:
        head = handle.read(1024)
    if looks_like_html(head):
        return "the server sent an HTML page, not a zip archive"
    return f"not a complete zip archive: {exc}"


def _unknown_force(force: str, forces: set[str], archive_name: str) -> FetchError:
    ordered = sorted(forces)
    close = difflib.get_close_matches(force, ordered, n=3, cutoff=0.6)
    rest = [f for f in ordered if f not in close]
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    return FetchError(f"force '{force}' has no files in archive {archive_name}.{hint} "
                      f"Forces in the archive: {', '.join(close + rest) or '(none)'}")


# --- downloading -------------------------------------------------------------------------------

def _download(url: str, part: Path, label: str, progress: Progress | None,
              timeout: float, limits: IngestLimits) -> None:
    """Bring `part` to the complete bytes of `url`, resuming what is already there."""
    fetch_part(url, part, label, progress, timeout, limits, _ARCHIVE)


# --- small helpers -----------------------------------------------------------------------------

def _report(progress: Progress | None, label: str, done: int, total: int | None) -> None:
    if progress is not None:
        progress(label, done, total)


def _remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
