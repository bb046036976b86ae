"""What a reference loader is given besides its table, and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass, field

# (line or feature index, column, reason, raw text) as ingest_log.quarantine_rows takes them.
Rejected = tuple[int | None, str | None, str, str | None]


@dataclass(frozen=True)
class LoadContext:
    source: str                  # the file's name, stored as the source of every row
    edition: str | None = None   # deprivation edition named by the user


@dataclass
class LoadResult:
    rows_in: int = 0
    rows_loaded: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    lsoa_vintage: str | None = None
    notes: list[str] = field(default_factory=list)

    def reject(self, line: int | None, column: str | None, reason: str,
               raw: str | None) -> None:
        self.rejected.append((line, column, reason, raw))

    def merge(self, other: LoadResult) -> None:
        """Add another sheet's result to this file's."""
        self.rows_in += other.rows_in
        self.rows_loaded += other.rows_loaded
        self.rejected += other.rejected
        self.lsoa_vintage = self.lsoa_vintage or other.lsoa_vintage
        self.notes += [n for n in other.notes if n not in self.notes]

    @property
    def note(self) -> str | None:
        return "; ".join(self.notes) if self.notes else None
