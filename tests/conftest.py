"""Shared fixtures: the demo data shipped inside the package, and fresh warehouses."""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from cspkit.demo import build_demo, demo_data_dir
from cspkit.store import connect

TABLES = ["areas", "area_vintages", "area_links", "lsoa_changes", "area_geometry", "population",
          "imd", "imd_district", "ingests", "quarantine", "events", "indicators",
          "police_outcomes", "stop_search"]


@pytest.fixture(scope="session")
def demo_dir() -> Path:
    return demo_data_dir()


@pytest.fixture(scope="session")
def bedfordshire_zip(demo_dir: Path) -> Path:
    return demo_dir / "police" / "bedfordshire.zip"


@pytest.fixture(scope="session")
def cambridgeshire_zip(demo_dir: Path) -> Path:
    return demo_dir / "police" / "cambridgeshire.zip"


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(tmp_path / "test.duckdb")
    yield con
    con.close()


def extract(zip_path: Path, member: str, dest: Path) -> Path:
    """Copy one member of a demo archive out to `dest` (keeping its YYYY-MM/ folder)."""
    with zipfile.ZipFile(zip_path) as archive:
        target = dest / member
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(archive.read(member))
    return target


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchone()[0])  # type: ignore[index]
            for t in TABLES}


@pytest.fixture(scope="session")
def demo_warehouse_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The full demo warehouse, built once per session (about 30-40 s). While developing,
    CSPKIT_TEST_DEMO_DB may name a demo warehouse built by this same code to copy instead."""
    path = tmp_path_factory.mktemp("demo_warehouse") / "demo.duckdb"
    prebuilt = os.environ.get("CSPKIT_TEST_DEMO_DB")
    if prebuilt:
        shutil.copyfile(prebuilt, path)
        return path
    con = connect(path)
    try:
        build_demo(con)
    finally:
        con.close()
    return path


@pytest.fixture(scope="session")
def demo_warehouse(demo_warehouse_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(demo_warehouse_path, read_only=True)
    yield con
    con.close()
