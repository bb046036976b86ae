"""Derived reference rows: population apportioned to 2021 LSOAs and LSOA -> ward links derived
from boundaries. Small hand-made cases pin the rules; the demo files check totals against an
independent pandas computation."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cspkit.store.derive import (
    APPORTIONED_SOURCE,
    apportion_population,
    derive_ward_links,
    refresh_derived,
)
from cspkit.store.warehouse import connect, transaction
from tests.sources.reference.helpers import (
    BEDFORDSHIRE,
    BOUNDARIES,
    CENSUS,
    CENTROIDS,
    CHANGES,
    EAST_CAMBS,
    WD23,
    ingest,
    raw_csv,
    scalar,
)


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(tmp_path / "w.duckdb")
    yield connection
    connection.close()


def apportioned(con: duckdb.DuckDBPyConnection, year: int = 2011) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in con.execute(
        "SELECT code, persons, households FROM population WHERE vintage = '2021' AND "
        "method = 'apportioned' AND year = ? ORDER BY code", [year]).fetchall()}


def test_apportionment_rules(con: duckdb.DuckDBPyConnection) -> None:
    changes = [("A", "A", "U"),                     # unchanged
               ("S", "S1", "S"), ("S", "S2", "S"),  # split in two
               ("M1", "M", "M"), ("M2", "M", "M"),  # two merged
               ("X1", "Y1", "X"), ("X1", "Y2", "X"), ("X2", "Y2", "X"),  # irregular
               ("P", "P", "U"),                     # 2021 figure published: kept
               ("Q1", "Q", "M"), ("Q2", "Q", "M")]  # one source missing: no figure
    published = [("A", "2011", 100, 40), ("S", "2011", 300, 100), ("M1", "2011", 10, 4),
                 ("M2", "2011", 20, 6), ("X1", "2011", 50, 20), ("X2", "2011", 7, 3),
                 ("P", "2011", 80, 30), ("P", "2021", 85, 31), ("Q1", "2011", 5, 2)]
    with transaction(con):
        con.executemany("INSERT INTO lsoa_changes VALUES (?, ?, ?, 'test')", changes)
        con.executemany("INSERT INTO population VALUES (?, ?, 2011, ?, ?, 'published', 'test')",
                        published)
        made = apportion_population(con)
    expected = {"A": (100, 40), "M": (30, 10), "S1": (150, 50), "S2": (150, 50),
                "Y1": (25, 10), "Y2": (32, 13)}
    assert apportioned(con) == expected and made == len(expected)
    assert scalar(con, "SELECT persons FROM population WHERE code = 'P' AND vintage = '2021'"
                  ) == 85
    assert scalar(con, "SELECT DISTINCT source FROM population WHERE method = 'apportioned'"
                  ) == f"{APPORTIONED_SOURCE} (from test)"
    # Running it again rebuilds the same rows.
    with transaction(con):
        apportion_population(con)
        refresh_derived(con)
    assert apportioned(con) == expected
    assert scalar(con, "SELECT count(*) FROM population") == len(published) + len(expected)


def test_apportioned_census_keeps_district_totals(con: duckdb.DuckDBPyConnection) -> None:
    ingest(con, CHANGES, CENSUS)
    changes = raw_csv(CHANGES).rename(columns={"F_LSOA11CD": "lsoa11", "LSOA21CD": "lsoa21"})
    census = pd.read_csv(CENSUS, dtype=str, keep_default_na=False)
    persons = census.set_index("LSOA Code")["Persons"].str.replace(",", "").astype(float)
    # A district kept its boundary if every 2011 LSOA feeding its 2021 LSOAs feeds only them.
    lads_of_11 = changes.groupby("lsoa11")["LAD22CD"].nunique()
    straddling = set(changes.loc[changes["lsoa11"].isin(lads_of_11[lads_of_11 > 1].index),
                                 "LAD22CD"])
    stored = con.execute(
        """SELECT l.parent_code, sum(p.persons) FROM population p JOIN area_links l
             ON l.child_code = p.code AND l.child_vintage = '2021' AND l.parent_level = 'lad'
           WHERE p.method = 'apportioned' AND p.year = 2011 GROUP BY 1""").df()
    stored = stored.set_index("parent_code").iloc[:, 0]
    checked = 0
    for lad, group in changes.groupby("LAD22CD"):
        if lad in straddling:
            continue
        expected = persons[group["lsoa11"].unique()].sum()
        assert stored[lad] == pytest.approx(expected, abs=1e-6), lad
        checked += 1
    assert checked > 300
    assert stored[EAST_CAMBS] == pytest.approx(83_818)
    assert [round(stored[lad]) for lad in BEDFORDSHIRE] == [
        round(persons[changes.loc[changes["LAD22CD"] == lad, "lsoa11"].unique()].sum())
        for lad in BEDFORDSHIRE]
    # Nothing is lost or made up over England and Wales either.
    assert scalar(con, "SELECT sum(persons) FROM population WHERE method = 'apportioned'"
                  ) == pytest.approx(persons.sum())
    assert scalar(con, "SELECT count(*) FROM population WHERE method = 'apportioned'") == (
        changes["lsoa21"].nunique())


def bedfordshire_wards(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT child_code, parent_code FROM area_links "
                            "WHERE method = 'derived' AND parent_level = 'ward'").fetchall())


def test_ward_links_derived_from_boundaries(con: duckdb.DuckDBPyConnection) -> None:
    ingest(con, BOUNDARIES / "lsoa21", BOUNDARIES / "ward2025", CENTROIDS)
    raw = raw_csv(WD23)
    raw = raw[raw["LAD23CD"].isin(BEDFORDSHIRE)]
    best_fit = dict(zip(raw["LSOA21CD"], raw["WD23CD"], strict=True))
    derived = bedfordshire_wards(con)
    assert set(derived) == set(best_fit) and len(derived) == 417
    # ONS best-fit is itself by population-weighted centroid: all but one agree.
    assert sum(derived[c] == best_fit[c] for c in best_fit) >= 416
    assert scalar(con, "SELECT DISTINCT parent_vintage FROM area_links WHERE method = "
                  "'derived'") == "2025"
    # Without centroids, a point inside each LSOA polygon stands in.
    with transaction(con):
        con.execute("DELETE FROM area_centroids")
        assert derive_ward_links(con) == 417
    by_polygon = bedfordshire_wards(con)
    assert sum(by_polygon[c] == best_fit[c] for c in best_fit) >= 400
    assert "representative point" in str(scalar(
        con, "SELECT DISTINCT source FROM area_links WHERE method = 'derived'"))
    # Once the official lookup is loaded, nothing is derived any more.
    ingest(con, WD23)
    assert bedfordshire_wards(con) == {}
