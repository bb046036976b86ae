"""Paths given on the command line, checked before any work starts, so that a mistyped --out or
--polygon gives one line naming the option, the path and what was expected, not a traceback
after minutes of work."""

from __future__ import annotations

import os
from pathlib import Path

from cspkit.errors import CspkitError


def _writable(folder: Path) -> bool:
    # os.access, not a trial write: a check must leave nothing behind.
    return os.access(folder, os.W_OK | os.X_OK)


def output_folder(path: Path, option: str = "--out") -> Path:
    """`path` if it is a folder that can be written into, or one that can be made (its nearest
    existing parent is a writable folder); otherwise a CspkitError."""
    expected = "a folder to write into, new or existing"
    if path.exists() and not path.is_dir():
        raise CspkitError(f"{option} {path}: is a file, not a folder (expected {expected})")
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise CspkitError(f"{option} {path}: {existing} is a file, not a folder "
                          f"(expected {expected})")
    if not _writable(existing):
        where = "the folder" if existing == path else f"its parent {existing}"
        raise CspkitError(f"{option} {path}: {where} is not writable (expected {expected})")
    return path


def input_file(path: Path, option: str, expected: str) -> Path:
    """`path` if it is a readable file; otherwise a CspkitError naming `option`."""
    if not path.exists():
        raise CspkitError(f"{option} {path}: no such file (expected {expected})")
    if not path.is_file():
        raise CspkitError(f"{option} {path}: is a folder, not a file (expected {expected})")
    if not os.access(path, os.R_OK):
        raise CspkitError(f"{option} {path}: cannot be read (expected {expected})")
    return path
