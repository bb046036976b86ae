"""Area facts: the batched population lookup gives, area by area, exactly what `population`
gives one area at a time (the second method is the reference)."""

from __future__ import annotations

import pytest

from cspkit.measures import areas as areas_module
from cspkit.measures.areas import (
    age_structures,
    children,
    custom_area,
    population,
    populations,
    select_area,
)


@pytest.mark.parametrize("district, years", [("Bedford", [2019, 2023, 2030]),
                                             ("East Cambridgeshire", [2018, 2019])])
def test_populations_equal_one_at_a_time(demo_warehouse, district, years):
    con = demo_warehouse
    lad = select_area(con, district)
    wards = children(con, lad, "ward")
    assert len(wards) > 10
    vintage = areas_module.events_vintage(con, lad)
    some = sorted({c for w in wards[:3] for c, in con.execute(
        "SELECT lsoa_code FROM lsoa_geography WHERE ward_code = ? AND lsoa_vintage = ?",
        [w.code, vintage]).fetchall()})
    # A custom area, one listing a code of no edition held in `vintage`, and the district
    # itself (which has a published figure as well as LSOA sums).
    other = "2011" if vintage == "2021" else "2021"
    foreign = con.execute(
        """SELECT lsoa_code FROM lsoa_geography WHERE lsoa_vintage = ? AND lsoa_code NOT IN
           (SELECT lsoa_code FROM lsoa_geography WHERE lsoa_vintage = ?) LIMIT 1""",
        [other, vintage]).fetchone()
    selections = [*wards, lad, custom_area(con, "three wards", some)]
    if foreign:
        selections.append(custom_area(con, "with a foreign code", [*some[:4], foreign[0]]))
    for year in years:
        areas_module._MEMO.clear()
        batch = populations(con, selections, year, vintage)
        areas_module._MEMO.clear()
        for area in selections:
            assert batch[area] == population(con, area, year, vintage), (area.name, year)
    assert populations(con, [], 2023, vintage) == {}


def test_populations_are_memoised_for_population(demo_warehouse):
    con = demo_warehouse
    ward = children(con, select_area(con, "Bedford"), "ward")[0]
    areas_module._MEMO.clear()
    batch = populations(con, [ward], 2022, "2021")
    assert population(con, ward, 2022, "2021") is batch[ward]


def test_snapshot_reads_the_ingest_state_once(demo_warehouse):
    """Inside `snapshot` the memo key is the state read on entry; outside, it is read again
    each time (so a fact memoised before an ingest is not served after it)."""
    con = demo_warehouse
    outside = areas_module._memo_prefix(con)
    with areas_module.snapshot(con):
        held = areas_module._SNAPSHOTS.get()
        assert held is not None and held[id(con)] == outside
        assert areas_module._memo_prefix(con) is held[id(con)]
    assert areas_module._SNAPSHOTS.get() is None
    assert areas_module._memo_prefix(con) == outside


def test_custom_area_of_a_districts_lsoas_takes_the_districts_published_figure(
        demo_warehouse):
    """All of Bedford's LSOAs listed as a custom area are Bedford: the same published mid-2022
    figure (not the census 2021 sum of LSOAs); one LSOA fewer is a different place."""
    con = demo_warehouse
    bedford = select_area(con, "Bedford")
    codes = [c for (c,) in con.execute(
        "SELECT lsoa_code FROM lsoa_geography WHERE lad_code = ? AND lsoa_vintage = '2021'",
        [bedford.code]).fetchall()]
    whole = population(con, custom_area(con, "All of Bedford", codes), 2023)
    named = population(con, bedford, 2023)
    assert (whole.persons, whole.households, whole.year) == (
        named.persons, named.households, named.year)
    assert whole.persons == 187_466 and whole.year == 2022 and "published" in whole.source
    fewer = population(con, custom_area(con, "Most of Bedford", codes[1:]), 2023)
    assert fewer.year == 2021 and "sum of" in fewer.source


def test_age_structure_of_the_nearest_year_held(demo_warehouse, mid2022_population):
    """Bedford's residents aged 0-17, 18-64 and 65+ come from the mid-2022 single years of age
    for 2023 (the nearest held) and from mid-2019 for 2019; they add up to the year's total."""
    found = age_structures(demo_warehouse, ["E06000055", "E99999999"], 2023)
    assert set(found) == {"E06000055"}
    bedford = found["E06000055"]
    assert bedford.year == 2022 and bedford.persons == mid2022_population["E06000055"]
    assert len(bedford.bands) == 91               # single years 0 .. 89 and 90+
    assert bedford.share(0, 17) * bedford.persons == pytest.approx(42_333)
    assert bedford.share(65, None) == pytest.approx(31_935 / 187_466)
    assert bedford.share(0, 64) == pytest.approx((42_333 + 113_198) / 187_466)
    assert bedford.share(0, 200) is None          # not a range the held ages make up
    assert age_structures(demo_warehouse, ["E06000055"], 2019)["E06000055"].year == 2019
