"""How much one input may cost: bytes on disk, bytes unpacked, archive members, download size.

A hostile or broken file (a zip bomb, a link to ``/dev/zero``, a server that never stops
sending) is refused with an error naming the file and the limit, instead of filling the disk or
memory. The defaults are far above real data (a data.police.uk monthly archive unpacks to a few
GB at a ratio of 10-15x); each can be changed with an environment variable:

=============================== ========= ========================================================
variable                        default   what it bounds
=============================== ========= ========================================================
CSPKIT_MAX_FILE_BYTES           4 GiB     one input file on disk
CSPKIT_MAX_ARCHIVE_TOTAL_BYTES  8 GiB     everything unpacked from one zip (nested zips included)
CSPKIT_MAX_COMPRESSION_RATIO    250       unpacked / packed size, per member and per archive
CSPKIT_MAX_ARCHIVE_MEMBERS      50000     files in one zip (nested zips included)
CSPKIT_MAX_ARCHIVE_DEPTH        2         zips inside zips: 1 = a zip's own files only
CSPKIT_MAX_FIELD_BYTES          1 MiB     one CSV field
CSPKIT_MAX_DOWNLOAD_BYTES       4 GiB     one download (announced size or bytes received)
CSPKIT_MAX_YAML_BYTES           1 MiB     a YAML schema or settings file
CSPKIT_MAX_INGEST_MEMORY        256 MiB   DuckDB's memory parsing a file over 64 MB, and writing
                                          (each spills to disk beyond it)
=============================== ========= ========================================================

Sizes take a plain number of bytes or a unit: ``500MB``, ``2GiB``, ``64k`` (K, M, G and T are
powers of 1024 either way).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields

from cspkit.errors import CspkitError

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30

ENV_PREFIX = "CSPKIT_"
# Below this many unpacked bytes a member's compression ratio is not checked: a small file of
# repeated text can legitimately compress very well, and it cannot hurt.
RATIO_FLOOR_BYTES = 1 * MiB

_UNITS = {"": 1, "k": KiB, "m": MiB, "g": GiB, "t": 1 << 40}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class IngestLimits:
    """Resource bounds for reading inputs; see the module docstring for each one."""

    max_file_bytes: int = 4 * GiB
    max_archive_total_bytes: int = 8 * GiB
    max_compression_ratio: float = 250.0
    max_archive_members: int = 50_000
    max_archive_depth: int = 2
    max_field_bytes: int = 1 * MiB
    max_download_bytes: int = 4 * GiB
    max_yaml_bytes: int = 1 * MiB
    max_ingest_memory: int = 256 * MiB


def env_name(setting: str) -> str:
    """The environment variable that overrides `setting` (``max_file_bytes`` ->
    ``CSPKIT_MAX_FILE_BYTES``)."""
    return ENV_PREFIX + setting.upper()


def raise_hint(setting: str) -> str:
    """What to tell a user who hit `setting` and trusts the file."""
    return f"set {env_name(setting)} to raise the limit if the file is trusted"


def current_limits() -> IngestLimits:
    """The defaults with any ``CSPKIT_MAX_*`` environment variables applied (read on every
    call, so a change to the environment takes effect at once)."""
    changed: dict[str, int | float] = {}
    for spec in fields(IngestLimits):
        raw = os.environ.get(env_name(spec.name))
        if raw is None or not raw.strip():
            continue
        if spec.name == "max_compression_ratio":
            changed[spec.name] = _positive_number(raw, spec.name)
        elif spec.name in ("max_archive_members", "max_archive_depth"):
            changed[spec.name] = int(_positive_number(raw, spec.name, whole=True))
        else:
            changed[spec.name] = parse_size(raw, env_name(spec.name))
    return IngestLimits(**changed)  # type: ignore[arg-type]


def parse_size(text: str, what: str) -> int:
    """``'2GiB'`` -> 2147483648; a CspkitError naming `what` if it is not a size."""
    match = _SIZE.fullmatch(text)
    if not match:
        raise CspkitError(f"{what}={text!r} is not a size (expected bytes, e.g. 500MB or "
                          f"2GiB)")
    value = int(float(match[1]) * _UNITS[match[2].lower()])
    if value <= 0:
        raise CspkitError(f"{what}={text!r} must be more than 0")
    return value


def format_bytes(count: float) -> str:
    """1536 -> '1.5 KiB': sizes in messages."""
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if abs(count) < 1024 or unit == "GiB":
            return f"{count:,.0f} bytes" if unit == "bytes" else f"{count:,.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def _positive_number(text: str, setting: str, whole: bool = False) -> float:
    try:
        value = int(text) if whole else float(text)
    except ValueError:
        value = 0
    if not value > 0:
        kind = "a whole number" if whole else "a number"
        raise CspkitError(f"{env_name(setting)}={text!r} must be {kind} above 0")
    return value
