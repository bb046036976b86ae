"""What a reference parser is given besides its table; it reports back a `Parsed`."""

from __future__ import annotations

from dataclasses import dataclass, field

from cspkit.sources.parsed import HeldGeography, Parsed, Rejected

LoadResult = Parsed
__all__ = ["HeldGeography", "LoadContext", "LoadResult", "Rejected"]


@dataclass(frozen=True)
class LoadContext:
    source: str                  # the file's name, stored as the source of every row
    edition: str | None = None   # deprivation edition named by the user
    held: HeldGeography = field(default_factory=HeldGeography)
