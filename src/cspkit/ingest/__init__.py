"""The ingest pipeline: one flow for every kind of source (see `pipeline`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

import duckdb

from cspkit.ingest.pipeline import run_ingest
from cspkit.ingest.registry import SOURCES, PartnerSource, PoliceSource, ReferenceSource, source
from cspkit.ingest.report import IngestReport

__all__ = ["SOURCES", "IngestReport", "PartnerSource", "PoliceSource", "ReferenceSource",
           "ingest_partner", "ingest_police", "ingest_reference", "run_ingest", "source"]

Paths = Sequence[str | os.PathLike[str]]
OnFile = Callable[[str, int, int], None] | None


def ingest_police(con: duckdb.DuckDBPyConnection, paths: Paths, *, run_id: str,
                  replace: bool = False, skip_unknown: bool = False,
                  on_file: OnFile = None, source_urls: Mapping[str, str] | None = None,
                  commit_chunks: bool | None = None) -> IngestReport:
    """data.police.uk street, outcomes and stop-and-search files. `source_urls`: path -> the
    URL it was downloaded from, for the ingest log. `commit_chunks`: see `run_ingest` (by
    default, yes in a writer's private copy, no elsewhere)."""
    return run_ingest(con, PoliceSource(), paths, run_id=run_id, replace=replace,
                      skip_unknown=skip_unknown, on_file=on_file, source_urls=source_urls,
                      commit_chunks=commit_chunks)


def ingest_reference(con: duckdb.DuckDBPyConnection, paths: Paths, *, run_id: str,
                     kind: str | None = None, edition: str | None = None,
                     skip_unknown: bool = False, on_file: OnFile = None,
                     source_urls: Mapping[str, str] | None = None) -> IngestReport:
    """ONS geography, population and the Indices of Deprivation. `source_urls`: path -> the
    URL it was downloaded from, for the ingest log."""
    return run_ingest(con, ReferenceSource(kind, edition), paths, run_id=run_id,
                      skip_unknown=skip_unknown, on_file=on_file, source_urls=source_urls)


def ingest_partner(con: duckdb.DuckDBPyConnection, paths: Paths, *, schema: str, run_id: str,
                   on_file: OnFile = None) -> IngestReport:
    """A partner's files through a declared schema."""
    return run_ingest(con, PartnerSource(schema), paths, run_id=run_id, on_file=on_file)
