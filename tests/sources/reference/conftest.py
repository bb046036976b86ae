"""Fixtures for the reference-loader tests: a warehouse holding all the shipped reference data
(built once per session: most tests only read it) and fresh empty warehouses."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from cspkit.store.ingest_log import IngestRecord
from cspkit.store.warehouse import connect
from tests.sources.reference.helpers import DEMO, GEOGRAPHY, POPULATION, ingest


@dataclass
class Loaded:
    con: duckdb.DuckDBPyConnection
    records: list[IngestRecord]

    def record(self, name_part: str) -> IngestRecord:
        found = [r for r in self.records if name_part in r.file]
        assert len(found) == 1, f"{name_part}: {[r.file for r in found]}"
        return found[0]


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """Every shipped reference file loaded in one ingest, as `cspkit demo` does."""
    con = connect(tmp_path_factory.mktemp("reference") / "w.duckdb")
    records = ingest(con, GEOGRAPHY, POPULATION, DEMO / "imd2019", DEMO / "imd2025")
    yield Loaded(con, records)
    con.close()


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(tmp_path / "w.duckdb")
    yield con
    con.close()
