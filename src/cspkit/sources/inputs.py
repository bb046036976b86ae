"""Turning what a user names on the command line into files a loader can read.

A path may be a file, a folder (searched recursively) or a zip archive (its members are taken
as if they were files, e.g. data.police.uk's ``YYYY-MM/YYYY-MM-<force>-street.csv`` layout).
Zip members are extracted to a private temporary folder so DuckDB can read them by path.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cspkit.errors import InputError

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


def _is_data_file(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(DATA_SUFFIXES) and not os.path.basename(lower).startswith((".", "~$"))


@contextmanager
def expand_inputs(paths: Iterable[str | os.PathLike[str]],
                  member_filter: tuple[str, ...] | None = None) -> Iterator[list[InputFile]]:
    """Yield the files under `paths` (folders walked, zips opened), sorted by name within each
    argument. `member_filter` limits zip members and folder files to these suffixes."""
    tmp = Path(tempfile.mkdtemp(prefix="cspkit-"))
    suffixes = member_filter or DATA_SUFFIXES
    try:
        found: list[InputFile] = []
        for raw in paths:
            path = Path(raw)
            if not path.exists():
                raise InputError(str(path), "no such file or folder")
            if path.is_dir():
                # Hidden entries (a downloader's .archives/, editor files) are not data.
                children = (p for p in path.rglob("*") if p.is_file() and not any(
                    part.startswith(".") for part in p.relative_to(path).parts))
                for child in sorted(children):
                    if child.name.lower().endswith(suffixes) and _is_data_file(child.name):
                        found.extend(_expand_file(child, tmp, suffixes))
            else:
                found.extend(_expand_file(path, tmp, suffixes))
        yield found
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _expand_file(path: Path, tmp: Path, suffixes: tuple[str, ...]) -> list[InputFile]:
    if path.suffix.lower() == ".zip":
        return list(_zip_members(path, tmp, suffixes))
    return [InputFile(str(path), path)]


def _zip_members(path: Path, tmp: Path, suffixes: tuple[str, ...]) -> Iterator[InputFile]:
    """Extract every member (a zipped shapefile needs its sidecar files) and yield the data
    files among them; nested zips are opened in turn."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError(str(path), f"not a readable zip archive ({exc}); it may be truncated "
                         "or still downloading", expected="a complete .zip file") from exc
    with archive:
        names = sorted(n for n in archive.namelist() if not n.endswith("/"))
        target_root = tmp / hashlib.sha1(str(path).encode()).hexdigest()[:10]
        for name in names:
            target = target_root / name
            if not target.resolve().is_relative_to(target_root.resolve()):
                raise InputError(f"{path}!{name}", "a zip member points outside the archive")
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(name) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                raise InputError(f"{path}!{name}", f"cannot extract from the zip archive "
                                 f"({exc}); the archive may be truncated or corrupt",
                                 expected="a complete .zip file") from exc
        for name in names:
            base = name.rsplit("/", 1)[-1]
            if not (base.lower().endswith(suffixes) and _is_data_file(base)):
                continue
            target = target_root / name
            if base.lower().endswith(".zip"):
                yield from _zip_members(target, tmp, suffixes)
            else:
                yield InputFile(f"{path}!{name}", target)


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
