"""What an ingest did, file by file: one report type for every kind of source."""

from __future__ import annotations

from dataclasses import dataclass, field

from cspkit.store.ingest_log import IngestRecord

# Statuses a file can end with. 'unchanged': the same bytes were loaded before (nothing is
# logged again); 'empty': a header and no data rows (logged, never counted as coverage).
LOADED, UNCHANGED, EMPTY = "loaded", "unchanged", "empty"
# 'skipped': a file of no kind the source knows, left out because the user asked
# (--skip-unknown); nothing of it is logged or written.
SKIPPED = "skipped"
DUPLICATE, REPLACED = "duplicate-coverage", "replaced"


@dataclass
class IngestReport:
    """Every file offered, in the order handled. Invariant, per file and in total:
    rows in = loaded + quarantined."""

    files: list[IngestRecord] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)     # duplicate coverage, in words

    @property
    def records(self) -> list[IngestRecord]:
        """The files logged by this ingest (everything but unchanged and skipped ones)."""
        return [r for r in self.files if r.status not in (UNCHANGED, SKIPPED)]

    @property
    def skipped(self) -> list[IngestRecord]:
        return [r for r in self.files if r.status == SKIPPED]

    @property
    def unchanged(self) -> list[IngestRecord]:
        """Files whose bytes were loaded before (ingest_id: the earlier ingest, 0 when the
        same bytes came twice in this ingest)."""
        return [r for r in self.files if r.status == UNCHANGED]

    @property
    def empty(self) -> list[IngestRecord]:
        return [r for r in self.files if r.status == EMPTY]

    @property
    def rows_in(self) -> int:
        return sum(r.rows_in for r in self.records)

    @property
    def rows_loaded(self) -> int:
        return sum(r.rows_loaded for r in self.records)

    @property
    def rows_quarantined(self) -> int:
        return sum(r.rows_quarantined for r in self.records)

    @property
    def control_characters(self) -> int:
        return sum(r.control_characters for r in self.records)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> IngestRecord:
        return self.files[index]
