"""ONS lookups: areas, editions, links and LSOA changes, checked against the raw files read with
plain pandas; generic column recognition and bad rows on small crafted files."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tests.sources.reference.conftest import Loaded
from tests.sources.reference.helpers import (
    BEDFORDSHIRE,
    CHANGES,
    EAST_CAMBS,
    WARD_HIERARCHY,
    WD19,
    WD23,
    counts,
    ingest,
    raw_csv,
    scalar,
)


def lsoas_per_lad(con: duckdb.DuckDBPyConnection, child_vintage: str, lad_vintage: str
                  ) -> dict[str, int]:
    return dict(con.execute(
        """SELECT parent_code, count(*) FROM area_links
           WHERE child_vintage = ? AND parent_level = 'lad' AND parent_vintage = ?
           GROUP BY 1""", [child_vintage, lad_vintage]).fetchall())


def test_lsoa21_to_ward23_counts_match_the_raw_file(reference: Loaded) -> None:
    raw = raw_csv(WD23)
    expected = raw.groupby("LAD23CD")["LSOA21CD"].nunique().to_dict()
    got = lsoas_per_lad(reference.con, "2021", "2023")
    assert got == expected
    assert [got[c] for c in BEDFORDSHIRE] == [125, 117, 175]
    wards = dict(reference.con.execute(
        """SELECT parent_code, count(*) FROM area_links WHERE child_vintage = '2021'
           AND parent_level = 'ward' AND parent_vintage = '2023' GROUP BY 1""").fetchall())
    assert wards == raw.groupby("WD23CD")["LSOA21CD"].nunique().to_dict()
    # The file name says best fit.
    assert scalar(reference.con, "SELECT DISTINCT method FROM area_links WHERE "
                  "parent_level = 'ward' AND parent_vintage = '2023'") == "best-fit"
    record = reference.record(WD23.name)
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (len(raw), len(raw), 0)


def test_lsoa11_to_ward19_east_cambridgeshire(reference: Loaded) -> None:
    raw = raw_csv(WD19)
    ec = raw[raw["LAD19CD"] == EAST_CAMBS]
    assert (len(ec), ec["WD19CD"].nunique()) == (50, 14)
    con = reference.con
    lsoas = {r[0] for r in con.execute(
        "SELECT child_code FROM area_links WHERE parent_code = ? AND child_vintage = '2011' "
        "AND parent_vintage = '2019'", [EAST_CAMBS]).fetchall()}
    assert lsoas == set(ec["LSOA11CD"])
    wards = {r[0] for r in con.execute(
        """SELECT DISTINCT parent_code FROM area_links WHERE parent_level = 'ward'
           AND parent_vintage = '2019' AND child_vintage = '2011'
           AND child_code IN (SELECT unnest(?::VARCHAR[]))""", [sorted(lsoas)]).fetchall()}
    assert wards == set(ec["WD19CD"])
    # ward -> LAD comes from the same rows
    assert scalar(con, "SELECT count(*) FROM area_links WHERE parent_code = ? AND "
                  "parent_vintage = '2019' AND child_vintage = '2019'", [EAST_CAMBS]) == 14
    assert scalar(con, "SELECT DISTINCT method FROM area_links WHERE parent_vintage = '2019'"
                  ) == "official"
    assert lsoas_per_lad(con, "2011", "2019") == raw.groupby("LAD19CD").size().to_dict()


def test_ward_hierarchy_skips_blank_counties_and_welsh_regions(reference: Loaded) -> None:
    raw = raw_csv(WARD_HIERARCHY)
    con = reference.con
    county_links = scalar(con, "SELECT count(*) FROM area_links WHERE parent_level = 'county' "
                          "AND child_vintage = '2023' AND child_code IN (SELECT code FROM "
                          "areas WHERE level = 'ward')")
    assert county_links == (raw["CTY23CD"] != "").sum()
    # Outside England RGN23CD repeats the country code: that code is a country, not a region.
    assert scalar(con, "SELECT level FROM areas WHERE code = 'W92000004'") == "country"
    assert scalar(con, "SELECT count(*) FROM area_links WHERE parent_code = 'W92000004' AND "
                  "parent_level = 'region'") == 0
    english = raw[raw["CTRY23CD"] == "E92000001"]
    assert scalar(con, "SELECT count(*) FROM area_links WHERE parent_level = 'region' AND "
                  "child_vintage = '2023' AND child_code IN (SELECT code FROM areas WHERE "
                  "level = 'ward')") == len(english)
    regions = scalar(con, "SELECT count(*) FROM areas WHERE level = 'region'")
    assert regions == english["RGN23CD"].nunique() == 9
    # Unitary authorities have no county; East Cambridgeshire is in Cambridgeshire.
    assert scalar(con, "SELECT parent_code FROM area_links WHERE child_code = ? AND "
                  "parent_level = 'county'", [EAST_CAMBS]) == "E10000003"
    assert scalar(con, "SELECT count(*) FROM area_links WHERE child_code = ? AND "
                  "parent_level = 'county'", ["E06000032"]) == 0
    assert scalar(con, "SELECT name FROM areas WHERE code = 'E92000001'") == "England"


def test_lsoa_change_lookup(reference: Loaded) -> None:
    raw = raw_csv(CHANGES)
    con = reference.con
    got = dict(con.execute("SELECT change, count(*) FROM lsoa_changes GROUP BY 1").fetchall())
    assert got == raw["CHGIND"].value_counts().to_dict()
    assert got == {"U": 33647, "S": 1900, "M": 239, "X": 9}
    vintages = dict(con.execute(
        "SELECT vintage, count(*) FROM area_vintages WHERE code IN (SELECT code FROM areas "
        "WHERE level = 'lsoa') GROUP BY 1").fetchall())
    assert vintages == {"2011": raw["F_LSOA11CD"].nunique(), "2021": raw["LSOA21CD"].nunique()}
    # The district columns describe the 2021 LSOAs.
    assert lsoas_per_lad(con, "2021", "2022") == raw.groupby("LAD22CD")["LSOA21CD"].nunique(
    ).to_dict()
    assert lsoas_per_lad(con, "2021", "2022")[EAST_CAMBS] == 51
    assert lsoas_per_lad(con, "2011", "2022") == {}
    record = reference.record(CHANGES.name)
    assert record.rows_in == record.rows_loaded == len(raw)


def test_generic_columns_bom_prefix_and_lower_case(fresh: duckdb.DuckDBPyConnection,
                                                   tmp_path: Path) -> None:
    path = tmp_path / "lookup.csv"
    path.write_text("\ufeffF_lsoa11cd,lsoa11nm,MSOA11CD,MSOA11NM,WD20CD,LAD20CD,LAD20NM\n"
                    "E01000001,City 001A,E02000001,City 001,E05009288,E09000001,City\n"
                    "E01000002,City 001B,E02000001,City 001,E05009288,E09000001,City\n",
                    encoding="utf-8")
    [record] = ingest(fresh, path)
    assert record.kind == "reference-lookup" and record.rows_loaded == 2
    links = set(fresh.execute("SELECT child_code, parent_code, parent_level, child_vintage, "
                              "parent_vintage, method FROM area_links").fetchall())
    assert ("E01000001", "E02000001", "msoa", "2011", "2011", "official") in links
    assert ("E01000001", "E05009288", "ward", "2011", "2020", "official") in links
    assert ("E02000001", "E09000001", "lad", "2011", "2020", "official") in links
    # MSOAs and wards do not nest in each other.
    assert not [link for link in links if {link[0][:3], link[1][:3]} == {"E02", "E05"}]
    assert scalar(fresh, "SELECT name FROM areas WHERE code = 'E02000001'") == "City 001"
    assert scalar(fresh, "SELECT name FROM areas WHERE code = 'E05009288'") is None


def test_latest_edition_names_an_area_whatever_the_load_order(
        fresh: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    new = tmp_path / "new.csv"
    new.write_text("WD23CD,WD23NM,LAD23CD,LAD23NM\nE05000001,Ward,E07000009,New Name\n")
    old = tmp_path / "old.csv"
    old.write_text("WD19CD,WD19NM,LAD19CD,LAD19NM\nE05000001,Old Ward,E07000009,Old Name\n")
    ingest(fresh, new)
    ingest(fresh, old)
    assert scalar(fresh, "SELECT name FROM areas WHERE code = 'E07000009'") == "New Name"
    assert scalar(fresh, "SELECT name FROM areas WHERE code = 'E05000001'") == "Ward"
    assert scalar(fresh, "SELECT count(*) FROM area_vintages WHERE code = 'E07000009'") == 2


def test_bad_rows_are_quarantined_with_their_line(fresh: duckdb.DuckDBPyConnection,
                                                  tmp_path: Path) -> None:
    path = tmp_path / "lsoa_ward_best_fit.csv"
    path.write_text("LSOA21CD,LSOA21NM,WD23CD,WD23NM,LAD23CD\n"
                    "E01000001,A,E05000001,W,E09000001\n"
                    ",B,E05000001,W,E09000001\n"
                    "E01000003,C,not-a-code,W,E09000001\n"
                    "E01000004,D,E05000001,W,E09000001\n")
    [record] = ingest(fresh, path)
    assert (record.rows_in, record.rows_loaded, record.rows_quarantined) == (4, 2, 2)
    rows = fresh.execute("SELECT line_no, column_name, reason, raw FROM quarantine "
                         "ORDER BY line_no").fetchall()
    assert [(r[0], r[1]) for r in rows] == [(3, "LSOA21CD"), (4, "WD23CD")]
    assert "not-a-code" in rows[1][2] and rows[1][3] == "E01000003,C,not-a-code,W,E09000001"
    assert scalar(fresh, "SELECT DISTINCT method FROM area_links") == "best-fit"
    # LSOA -> ward and LSOA -> LAD for each good row, and the one ward -> LAD link they share.
    assert counts(fresh, ["area_links"]) == {"area_links": 5}
