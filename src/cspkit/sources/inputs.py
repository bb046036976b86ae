"""Turning what a user names on the command line into files a loader can read.

A path may be a file, a folder (searched recursively) or a zip archive (its members are taken
as if they were files, e.g. data.police.uk's ``YYYY-MM/YYYY-MM-<force>-street.csv`` layout).
Zip members are extracted to a private temporary folder so DuckDB can read them by path.

Nothing is trusted before it is bounded (see `cspkit.sources.limits`): only regular files are
read (not a link to ``/dev/zero`` or a named pipe), and each file's size is checked. An archive's
member count, declared sizes, compression ratios and nesting are checked before anything is
extracted, and the bytes really unpacked are counted as they are written, so a zip bomb or a
header that lies about a member's size stops with an error naming ``archive!member`` and the
limit. Extraction folders live under ``<temp>/cspkit-work-<user>/<pid>-<random>``: removed when
the work ends, however it ends, and a killed run's folder is removed by the next run.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cspkit.errors import InputError
from cspkit.sources.limits import (
    RATIO_FLOOR_BYTES,
    IngestLimits,
    current_limits,
    format_bytes,
    raise_hint,
)

DATA_SUFFIXES = (".csv", ".csv.gz", ".xlsx", ".xls", ".geojson", ".geojson.gz", ".json",
                 ".json.gz", ".gpkg", ".zip", ".shp")


@dataclass(frozen=True)
class InputFile:
    """One readable file: `display` is what we call it in messages and the ingest log
    (``archive.zip!2022-01/2022-01-bedfordshire-street.csv`` for a zip member); `path` is a
    local path to its bytes (a temporary copy for zip members)."""

    display: str
    path: Path

    @property
    def name(self) -> str:
        return self.display.replace("\\", "/").rsplit("/", 1)[-1].rsplit("!", 1)[-1]

    def sha256(self) -> str:
        digest = hashlib.sha256()
        with open(self.path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()

    def size(self) -> int:
        return self.path.stat().st_size

    def head_bytes(self, limit: int = 65536) -> bytes:
        """The first bytes of the file's content (decompressed for .gz)."""
        if self.path.suffix == ".gz":
            try:
                with gzip.open(self.path, "rb") as handle:
                    return handle.read(limit)
            except (OSError, EOFError, zlib.error) as exc:
                raise InputError(self.display, f"not a readable gzip file ({exc})",
                                 expected="a gzip-compressed CSV") from exc
        with open(self.path, "rb") as handle:
            return handle.read(limit)


_CHUNK = 1 << 20
_ZIP_EXPECTED = "a complete .zip file"


def _is_data_file(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(DATA_SUFFIXES) and not os.path.basename(lower).startswith((".", "~$"))


@contextmanager
def expand_inputs(paths: Iterable[str | os.PathLike[str]],
                  member_filter: tuple[str, ...] | None = None, *,
                  limits: IngestLimits | None = None) -> Iterator[list[InputFile]]:
    """Yield the files under `paths` (folders walked, zips opened), sorted by name within each
    argument. `member_filter` limits zip members and folder files to these suffixes. `limits`
    defaults to `current_limits()`; breaking one raises InputError."""
    limits = limits or current_limits()
    suffixes = member_filter or DATA_SUFFIXES
    with work_dir() as tmp:
        found: list[InputFile] = []
        for raw in paths:
            path = Path(raw)
            if not path.exists() and not path.is_symlink():
                raise InputError(str(path), "no such file or folder")
            if path.is_dir():
                # Hidden entries (a downloader's .archives/, editor files) are not data.
                children = (p for p in path.rglob("*") if not p.is_dir() and not any(
                    part.startswith(".") for part in p.relative_to(path).parts))
                for child in sorted(children):
                    if child.name.lower().endswith(suffixes) and _is_data_file(child.name):
                        found.extend(_expand_file(child, tmp, suffixes, limits))
            else:
                found.extend(_expand_file(path, tmp, suffixes, limits))
        yield found


def _expand_file(path: Path, tmp: Path, suffixes: tuple[str, ...],
                 limits: IngestLimits) -> list[InputFile]:
    check_regular_file(path, limits)
    if path.suffix.lower() == ".zip":
        return list(_zip_members(path, str(path), tmp, suffixes, limits,
                                 ArchiveBudget(limits), depth=1))
    return [InputFile(str(path), path)]


def check_regular_file(path: Path, limits: IngestLimits, display: str | None = None) -> int:
    """The size of `path`, after making sure it is a regular file (following links) no larger
    than `limits.max_file_bytes`: a device, a named pipe or a socket never ends, so reading
    one would fill the disk or hang."""
    display = display or str(path)
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        broken = " (a link to a file that does not exist)" if path.is_symlink() else ""
        raise InputError(display, f"no such file{broken}") from exc
    except OSError as exc:
        raise InputError(display, f"cannot be read ({exc.strerror or exc})") from exc
    if not stat.S_ISREG(info.st_mode):
        kind = _file_kind(info.st_mode)
        if path.is_symlink():
            kind = f"a link to {os.path.realpath(path)}, which is {kind}"
        raise InputError(display, f"is {kind}, not a regular file",
                         expected="a data file, a folder or a .zip archive")
    if info.st_size > limits.max_file_bytes:
        raise InputError(display, _over("the file", info.st_size, "max_file_bytes",
                                        limits.max_file_bytes))
    return info.st_size


def _file_kind(mode: int) -> str:
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def _over(what: str, size: float, setting: str, limit: float, *, ratio: bool = False) -> str:
    shown = (f"{size:,.0f} to 1", f"{limit:,.0f} to 1") if ratio else \
        (format_bytes(size), format_bytes(limit))
    if setting in ("max_archive_members", "max_archive_depth"):
        shown = (f"{size:,.0f}", f"{limit:,.0f}")
    return (f"{what} is {shown[0]}, over the limit of {shown[1]} ({setting}); "
            f"{raise_hint(setting)}")


# --- archives ----------------------------------------------------------------------------------

class ArchiveBudget:
    """What one archive (with any zips nested in it) may still unpack: members and real
    bytes, counted as they are extracted."""

    def __init__(self, limits: IngestLimits) -> None:
        self.limits = limits
        self.members = 0
        self.bytes = 0

    def add_members(self, count: int, display: str) -> None:
        self.members += count
        if self.members > self.limits.max_archive_members:
            raise InputError(display, _over("the number of files in the archive",
                                            self.members, "max_archive_members",
                                            self.limits.max_archive_members))

    def check_declared(self, declared: int, display: str) -> None:
        if self.bytes + declared > self.limits.max_archive_total_bytes:
            raise InputError(display, _over("the unpacked size declared by the archive",
                                            self.bytes + declared, "max_archive_total_bytes",
                                            self.limits.max_archive_total_bytes))

    def spend(self, count: int, display: str) -> None:
        self.bytes += count
        if self.bytes > self.limits.max_archive_total_bytes:
            raise InputError(display, _over("the unpacked size so far", self.bytes,
                                            "max_archive_total_bytes",
                                            self.limits.max_archive_total_bytes))


def open_zip(path: Path, display: str, limits: IngestLimits) -> zipfile.ZipFile:
    """Open `path` as a zip archive, refusing one whose directory lists more members than
    `limits.max_archive_members` before zipfile reads that directory into memory."""
    try:
        with open(path, "rb") as handle:
            # zipfile's own reader of the end record; private, but unchanged since Python 2.
            end = zipfile._EndRecData(handle)  # type: ignore[attr-defined]
    except OSError as exc:
        raise InputError(display, f"cannot be read ({exc.strerror or exc})") from exc
    if end and end[zipfile._ECD_ENTRIES_TOTAL] > limits.max_archive_members:  # type: ignore[attr-defined]
        raise InputError(display, _over("the number of files in the archive",
                                        end[zipfile._ECD_ENTRIES_TOTAL],  # type: ignore[attr-defined]
                                        "max_archive_members", limits.max_archive_members))
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise InputError(display, f"not a readable zip archive ({exc}); it may be truncated "
                         "or still downloading", expected=_ZIP_EXPECTED) from exc


def check_archive(infos: list[zipfile.ZipInfo], packed_bytes: int, display: str,
                  budget: ArchiveBudget) -> None:
    """Refuse, before extracting anything, an archive whose `infos` (the members to be
    extracted) are too many, declare too much in all, or declare a bomb's ratio."""
    limits = budget.limits
    budget.add_members(len(infos), display)
    declared = sum(i.file_size for i in infos)
    budget.check_declared(declared, display)
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR_BYTES and ratio > limits.max_compression_ratio:
            raise InputError(f"{display}!{info.filename}", _over(
                "the member's compression ratio", ratio, "max_compression_ratio",
                limits.max_compression_ratio, ratio=True))
    # Many small members, each under the floor, can still add up to a bomb.
    if declared > RATIO_FLOOR_BYTES and declared / max(packed_bytes, 1) > \
            limits.max_compression_ratio:
        raise InputError(display, _over("the archive's compression ratio",
                                        declared / max(packed_bytes, 1),
                                        "max_compression_ratio", limits.max_compression_ratio,
                                        ratio=True))


def extract_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path,
                   display: str, budget: ArchiveBudget) -> int:
    """Copy one member to `target`, counting the bytes really unpacked: more than the header
    declared, or more than the budget allows, stops at once. `display` names the member.
    Returns the bytes written; on any error the partial `target` is removed."""
    written = 0
    try:
        with _open_member(archive, info, display) as src, _create(target, display) as dst:
            while True:
                try:
                    chunk = src.read(_CHUNK)
                except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                    raise InputError(display, f"cannot extract from the zip archive ({exc}); "
                                     "the archive may be truncated or corrupt",
                                     expected=_ZIP_EXPECTED) from exc
                if not chunk:
                    return written
                written += len(chunk)
                if written > info.file_size:
                    raise InputError(display, f"unpacks to more than the "
                                     f"{format_bytes(info.file_size)} its header declares",
                                     expected="an undamaged zip archive")
                budget.spend(len(chunk), display)
                try:
                    dst.write(chunk)
                except OSError as exc:
                    raise _write_error(target, display, exc) from exc
    except BaseException:
        target.unlink(missing_ok=True)
        raise


def _open_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                 display: str) -> zipfile.ZipExtFile:
    try:
        return archive.open(info)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise InputError(display, f"cannot extract from the zip archive ({exc}); the archive "
                         "may be truncated or corrupt", expected=_ZIP_EXPECTED) from exc
    except (NotImplementedError, RuntimeError) as exc:  # an unknown method or a password
        raise InputError(display, f"cannot be extracted ({exc})",
                         expected="a zip archive without a password, compressed with "
                         "deflate") from exc


def _create(target: Path, display: str):  # type: ignore[no-untyped-def]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        return open(target, "wb")
    except OSError as exc:
        raise _write_error(target, display, exc) from exc


def _write_error(target: Path, display: str, exc: OSError) -> InputError:
    if exc.errno == errno.ENOSPC:
        return InputError(display, f"no space left to unpack it in {target.parent}; free "
                          "space there or point TMPDIR at a larger disk")
    return InputError(display, f"cannot be unpacked to {target.parent} "
                      f"({exc.strerror or exc})")


def _zip_members(path: Path, display: str, tmp: Path, suffixes: tuple[str, ...],
                 limits: IngestLimits, budget: ArchiveBudget, depth: int
                 ) -> Iterator[InputFile]:
    """Check, then extract every member (a zipped shapefile needs its sidecar files) and
    yield the data files among them; nested zips are checked and opened in turn. `display`
    names the archive in messages (``outer.zip!inner.zip`` when nested)."""
    with open_zip(path, display, limits) as archive:
        infos = sorted((i for i in archive.infolist() if not i.is_dir()),
                       key=lambda i: i.filename)
        check_archive(infos, path.stat().st_size, display, budget)
        nested = [i for i in infos if _opens_as_zip(i.filename, suffixes)]
        if nested and depth >= limits.max_archive_depth:
            raise InputError(f"{display}!{nested[0].filename}", _over(
                "the depth of zips inside zips", depth + 1, "max_archive_depth",
                limits.max_archive_depth))
        target_root = tmp / hashlib.sha1(display.encode()).hexdigest()[:10]
        for info in infos:
            target = target_root / info.filename
            if not target.resolve().is_relative_to(target_root.resolve()):
                raise InputError(f"{display}!{info.filename}",
                                 "a zip member points outside the archive")
            extract_member(archive, info, target, f"{display}!{info.filename}", budget)
    for info in infos:
        name = info.filename
        base = name.rsplit("/", 1)[-1]
        if not (base.lower().endswith(suffixes) and _is_data_file(base)):
            continue
        target = target_root / name
        if _opens_as_zip(name, suffixes):
            yield from _zip_members(target, f"{display}!{name}", tmp, suffixes, limits,
                                    budget, depth + 1)
        else:
            yield InputFile(f"{display}!{name}", target)


def _opens_as_zip(name: str, suffixes: tuple[str, ...]) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.lower().endswith(".zip") and base.lower().endswith(suffixes) \
        and _is_data_file(base)



# --- gzip --------------------------------------------------------------------------------------

def gunzip(file: InputFile, target: Path, limits: IngestLimits | None = None) -> Path:
    """Decompress the .gz `file` to `target`, bounded like a zip member (see `gunzip_bytes`).
    The partial `target` is removed on any error."""
    try:
        with _create(target, file.display) as dst:
            for chunk in _gunzip_chunks(file, limits or current_limits()):
                try:
                    dst.write(chunk)
                except OSError as exc:
                    raise _write_error(target, file.display, exc) from exc
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def gunzip_bytes(file: InputFile, limits: IngestLimits | None = None) -> bytes:
    """The decompressed bytes of the .gz `file`: at most ``max_file_bytes``, and refused once
    past 1 MiB at a compression ratio over ``max_compression_ratio`` (a gzip bomb)."""
    return b"".join(_gunzip_chunks(file, limits or current_limits()))


def _gunzip_chunks(file: InputFile, limits: IngestLimits) -> Iterator[bytes]:
    packed = max(file.size(), 1)
    done = 0
    try:
        with gzip.open(file.path, "rb") as src:
            while chunk := src.read(_CHUNK):
                done += len(chunk)
                if done > limits.max_file_bytes:
                    raise InputError(file.display, _over(
                        "the decompressed file", done, "max_file_bytes", limits.max_file_bytes))
                if done > RATIO_FLOOR_BYTES and done / packed > limits.max_compression_ratio:
                    raise InputError(file.display, _over(
                        "the compression ratio", done / packed, "max_compression_ratio",
                        limits.max_compression_ratio, ratio=True))
                yield chunk
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(file.display, f"not a readable gzip file ({exc})",
                         expected="a complete gzip-compressed file") from exc


# --- temporary folders -------------------------------------------------------------------------

def work_root() -> Path:
    """The parent of every extraction folder: ``<temp>/cspkit-work-<uid>`` (one per user, so
    users sharing /tmp neither collide nor can clean each other's)."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    root = Path(tempfile.gettempdir()) / ("cspkit-work" if uid is None else f"cspkit-work-{uid}")
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(root)
    except OSError as exc:
        raise InputError(str(root), f"cannot create the temporary folder "
                         f"({exc.strerror or exc}); set TMPDIR to a writable folder") from exc
    if not stat.S_ISDIR(info.st_mode) or (uid is not None and info.st_uid != uid):
        # Someone else's folder or a planted link: use a fresh private folder instead.
        return Path(tempfile.mkdtemp(prefix="cspkit-work-"))
    return root


def remove_stale_work_dirs(root: Path) -> list[Path]:
    """Remove the extraction folders (named ``<pid>-<random>``) of runs that were killed:
    those whose process is no longer running. Returns what was removed."""
    removed = []
    try:
        children = list(root.iterdir())
    except OSError:
        return removed
    for child in children:
        pid_text = child.name.split("-", 1)[0]
        if not pid_text.isdigit() or _pid_alive(int(pid_text)):
            continue
        shutil.rmtree(child, ignore_errors=True)
        removed.append(child)
    return removed


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt" or pid <= 0:
        # On Windows os.kill(pid, 0) would terminate the process: never guess there.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # e.g. PermissionError: it exists, as another user
    return True


@contextmanager
def work_dir() -> Iterator[Path]:
    """A fresh private folder for extracted files, removed when the block ends (normally or by
    an exception); killed runs' folders are cleared first."""
    root = work_root()
    remove_stale_work_dirs(root)
    path = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=root))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)

def first_line(data: bytes) -> str:
    """The first line of `data` decoded as UTF-8 without a BOM (for recognising headers)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    line = data.split(b"\n", 1)[0].rstrip(b"\r")
    return line.decode("utf-8", errors="replace")


def looks_like_html(data: bytes) -> bool:
    head = data.lstrip()[:512].lower()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:].lstrip()
    return head.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<body"))
