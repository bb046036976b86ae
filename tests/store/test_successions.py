"""Former districts, from the real ONS lookups shipped in the package (the demo warehouse loads
all four: LSOA 2011 -> LAD 2018 and 2019, LSOA 2011 -> 2021 -> LAD 2022, LSOA 2021 -> LAD 2023),
and a SYNTHETIC split, since none of the shipped editions splits a district."""

from __future__ import annotations

import pytest

from cspkit.errors import AreaNotFound
from cspkit.ingest import ingest_reference
from cspkit.measures.areas import select_area
from cspkit.store import transaction
from cspkit.store.areas import district_history, resolve_area
from cspkit.store.successions import fate, former_districts


@pytest.mark.parametrize(("query", "code", "name", "year"), [
    ("Aylesbury Vale", "E06000060", "Buckinghamshire", 2020),
    ("E07000150", "E06000061", "North Northamptonshire", 2021),    # Corby
    ("allerdale", "E06000063", "Cumberland", 2023),
    ("Waveney", "E07000244", "East Suffolk", 2019),
    ("Christchurch", "E06000058", "Bournemouth, Christchurch and Poole", 2019),
])
def test_a_former_district_resolves_to_its_successor(demo_warehouse, query, code, name, year):
    area = resolve_area(demo_warehouse, query)
    assert (area.code, area.name, area.level) == (code, name, "lad")
    assert area.notice is not None
    assert f"became part of {name} ({code}) in {year}; using {name}" in area.notice


def test_the_notice_reads_as_the_user_sees_it(demo_warehouse):
    assert resolve_area(demo_warehouse, "Aylesbury Vale").notice == (
        "Aylesbury Vale (E07000004) became part of Buckinghamshire (E06000060) in 2020; "
        "using Buckinghamshire")


def test_a_chain_is_followed_to_the_district_that_exists_now(demo_warehouse):
    # Taunton Deane exists only in the 2018 lookup (LAD18 codes).
    area = resolve_area(demo_warehouse, "Taunton Deane")
    assert (area.code, area.name) == ("E06000066", "Somerset")
    assert area.notice == (
        "Taunton Deane (E07000190) became part of Somerset West and Taunton (E07000246) in "
        "2019, which became part of Somerset (E06000066) in 2023; using Somerset")
    became = fate(demo_warehouse, "E07000190")
    assert became is not None and [s.code for s in became.steps] == ["E07000246"]


def test_successions_record_editions_and_shares(demo_warehouse):
    rows = demo_warehouse.execute(
        """SELECT old_code, old_edition, new_code, new_edition, change, share, lsoas, year
           FROM district_successions WHERE old_code IN ('E07000004', 'E07000190', 'E07000246')
           ORDER BY old_code""").fetchall()
    assert rows == [
        ("E07000004", "2019", "E06000060", "2022", "merged", 1.0, 127, 2020),
        ("E07000190", "2018", "E07000246", "2019", "merged", 1.0, 67, 2019),
        ("E07000246", "2022", "E06000066", "2023", "merged", 1.0, 91, 2023),
    ]
    # Districts that continue (a few LSOAs moving at the 2021 LSOA revision) are no successions.
    kept = demo_warehouse.execute(
        "SELECT count(*) FROM district_successions WHERE old_code IN "
        "('E07000241', 'E07000242', 'E08000037', 'E07000009')").fetchone()
    assert kept == (0,)
    splits = demo_warehouse.execute(
        "SELECT count(*) FROM district_successions WHERE change = 'split'").fetchone()
    assert splits == (0,)


def test_a_current_district_lists_its_former_districts(demo_warehouse):
    former = former_districts(demo_warehouse, "E06000066")
    assert {name for _, name, _, _ in former} == {
        "Taunton Deane", "West Somerset", "Somerset West and Taunton", "Mendip", "Sedgemoor",
        "South Somerset"}
    lines = district_history(demo_warehouse, resolve_area(demo_warehouse, "Somerset"))
    assert "includes the former district Mendip (E07000187, until 2023)" in lines
    assert district_history(demo_warehouse, resolve_area(demo_warehouse, "Bedford")) == []


def test_a_former_district_can_be_looked_at_as_itself(demo_warehouse):
    area = resolve_area(demo_warehouse, "Corby", follow_successors=False)
    assert (area.code, area.notice) == ("E07000150", None)
    assert district_history(demo_warehouse, area) == [
        "no longer exists: Corby (E07000150) became part of North Northamptonshire "
        "(E06000061) in 2021"]


def test_measures_take_the_successor(demo_warehouse):
    assert select_area(demo_warehouse, "Aylesbury Vale").code == "E06000060"
    # The 2011 LSOAs of Aylesbury Vale (2019 lookup) count in Buckinghamshire, with its region.
    rows = demo_warehouse.execute(
        """SELECT DISTINCT lad_code, region_name FROM lsoa_geography
           WHERE lsoa_code = 'E01017663' AND lsoa_vintage = '2011'""").fetchall()
    assert rows == [("E06000060", "South East")]
    held = demo_warehouse.execute(
        "SELECT count(*) FROM lsoa_geography WHERE lad_code = 'E07000004'").fetchone()
    assert held == (0,)


# SYNTHETIC: made-up LSOA codes and a made-up district E07999999 that is split between two
# districts of the next edition; a merged one beside it for contrast.
SPLIT_2019 = """LSOA11CD,LSOA11NM,LAD19CD,LAD19NM
E01999901,Oldshire 001A,E07999999,Oldshire SYNTHETIC
E01999902,Oldshire 001B,E07999999,Oldshire SYNTHETIC
E01999903,Oldshire 001C,E07999999,Oldshire SYNTHETIC
E01999904,Smallton 001A,E07999998,Smallton SYNTHETIC
"""
SPLIT_2023 = """LSOA11CD,LSOA11NM,LAD23CD,LAD23NM
E01999901,Oldshire 001A,E06999991,Northshire SYNTHETIC
E01999902,Oldshire 001B,E06999991,Northshire SYNTHETIC
E01999903,Oldshire 001C,E06999992,Southshire SYNTHETIC
E01999904,Smallton 001A,E06999992,Southshire SYNTHETIC
"""


@pytest.fixture
def split(warehouse, tmp_path):
    paths = []
    for name, text in (("lookup_2019_SYNTHETIC.csv", SPLIT_2019),
                       ("lookup_2023_SYNTHETIC.csv", SPLIT_2023)):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    with transaction(warehouse):
        ingest_reference(warehouse, paths, run_id="t")
    return warehouse


def test_a_split_district_is_reported_as_split_not_mapped_to_one(split):
    rows = split.execute("SELECT old_code, new_code, change, round(share, 3) FROM "
                         "district_successions ORDER BY 1, 2").fetchall()
    assert rows == [("E07999998", "E06999992", "merged", 1.0),
                    ("E07999999", "E06999991", "split", 0.667),
                    ("E07999999", "E06999992", "split", 0.333)]
    with pytest.raises(AreaNotFound) as raised:
        resolve_area(split, "Oldshire SYNTHETIC")
    assert str(raised.value) == (
        "Oldshire SYNTHETIC (E07999999) was split by the 2023 district edition between "
        "Northshire SYNTHETIC (E06999991, 67% of its LSOAs), Southshire SYNTHETIC (E06999992, "
        "33% of its LSOAs): no one district holds it now; name one of them instead.")
    assert resolve_area(split, "Smallton SYNTHETIC").code == "E06999992"
    # Its LSOAs keep the district they were given: no one successor takes them all.
    lads = split.execute("SELECT DISTINCT lad_code FROM lsoa_geography "
                         "WHERE lsoa_code = 'E01999903'").fetchall()
    assert lads == [("E06999992",)]
    lines = district_history(split, resolve_area(split, "Southshire SYNTHETIC"))
    assert "includes part of the former district Oldshire SYNTHETIC (E07999999)" in lines
