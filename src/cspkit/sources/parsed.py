"""What a parser makes of one file, whatever its kind: canonical rows for the warehouse's tables,
the rows it rejected (with line, column and reason), and facts about the file.

Parsers fill this and know nothing of the warehouse; the ingest pipeline hands it to the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

# (line or feature index, column, reason, raw text)
Rejected = tuple[int | None, str | None, str, str | None]
# (code, level, name or None, edition or None)
AreaRow = tuple[str, str, str | None, str | None]
# (child_code, child_edition, parent_code, parent_level, parent_edition, method)
LinkRow = tuple[str, str, str, str, str, str]
# Rows in memory, or (a very large file) spilled to a Parquet file.
Rows = pa.Table | Path


@dataclass
class Parsed:
    """One file's rows: `tables` maps a canonical table name (events, indicators, population,
    area_geometry ...) to its rows; `areas` and `links` name the areas the file describes."""

    rows_in: int = 0
    rows_loaded: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    tables: dict[str, Rows] = field(default_factory=dict)
    areas: list[AreaRow] = field(default_factory=list)
    links: list[LinkRow] = field(default_factory=list)
    # Names in files whose names are not authoritative (upper-case country names in
    # population tables) only fill gaps.
    rename_areas: bool = True
    lsoa_vintage: str | None = None
    notes: list[str] = field(default_factory=list)
    force: str | None = None       # police files: whose data this is
    month: str | None = None       # and for which month (YYYY-MM)
    control_characters: int = 0    # removed from text fields
    # The text of given lines, for rows the pipeline rejects whole (duplicate coverage).
    raw: Callable[[Sequence[int]], dict[int, str]] | None = None

    def reject(self, line: int | None, column: str | None, reason: str,
               raw: str | None) -> None:
        self.rejected.append((line, column, reason, raw))

    def add_table(self, name: str, rows: pa.Table) -> None:
        held = self.tables.get(name)
        self.tables[name] = rows if held is None else pa.concat_tables(
            [held, rows], promote_options="default")  # type: ignore[list-item]

    def merge(self, other: Parsed) -> None:
        """Add another sheet's result to this file's."""
        self.rows_in += other.rows_in
        self.rows_loaded += other.rows_loaded
        self.rejected += other.rejected
        for name, rows in other.tables.items():
            assert isinstance(rows, pa.Table)
            self.add_table(name, rows)
        self.areas += other.areas
        self.links += other.links
        self.rename_areas = self.rename_areas and other.rename_areas
        self.lsoa_vintage = self.lsoa_vintage or other.lsoa_vintage
        self.notes += [n for n in other.notes if n not in self.notes]
        self.control_characters += other.control_characters

    @property
    def note(self) -> str | None:
        return "; ".join(self.notes) if self.notes else None


@dataclass(frozen=True)
class HeldGeography:
    """What the warehouse already holds, for parsers that check codes against it (given to
    them by the pipeline): nothing held means nothing is checked."""

    vintages: dict[str, frozenset[str]] = field(default_factory=dict)   # code -> editions
    names: dict[str, str] = field(default_factory=dict)                 # LSOA code -> name
    areas: frozenset[str] = frozenset()
    levels: frozenset[str] = frozenset()


def table_of(columns: dict[str, list[object]], types: dict[str, pa.DataType] | None = None
             ) -> pa.Table:
    """Python columns as an Arrow table (text unless a type is given)."""
    types = types or {}
    return pa.table({k: pa.array(v, types.get(k, pa.string())) for k, v in columns.items()})
