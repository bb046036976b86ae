"""`focus_on`: a document's questions read its force's events held apart, with the same
answers as reading every event (checked on the demo warehouse: Bedfordshire and
Cambridgeshire, so areas inside and outside the focus)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from cspkit.measures.areas import (
    area_events,
    area_lsoas,
    children,
    events_vintage,
    events_vintages,
    focus_on,
    forget,
    months_covered,
    select_area,
)
from cspkit.measures.comparisons import family_rates
from cspkit.measures.counts import counts
from cspkit.measures.periods import parse_period
from cspkit.measures.places import vulnerable_places
from cspkit.measures.series import monthly_counts
from cspkit.measures.settings import Settings
from cspkit.store import connect
from cspkit.store.tables import FOCUS_TABLE, warehouse

YEAR = parse_period("2023")


@pytest.fixture()
def pair(demo_warehouse_path: Path) -> Iterator[tuple[duckdb.DuckDBPyConnection,
                                                       duckdb.DuckDBPyConnection]]:
    """Two read-only connections to the demo warehouse: one focused, one not."""
    plain = connect(demo_warehouse_path, read_only=True)
    focused = connect(demo_warehouse_path, read_only=True)
    yield plain, focused
    plain.close()
    focused.close()


def _answers(con: duckdb.DuckDBPyConnection, area_name: str) -> dict[str, object]:
    forget()   # area facts are memoised per warehouse file: each answer must be computed
    area = select_area(con, area_name)
    ward = children(con, area, "ward")[0]
    period = YEAR if area_name == "Bedford" else parse_period("2018-08..2019-03")
    return {
        "counts": counts(con, area, period, total=True),
        "ward counts": counts(con, ward, period),
        "series": monthly_counts(con, area, period=period, by_category=True),
        "months": sorted(months_covered(con, area)),
        "places": vulnerable_places(con, area.code, period),
    }


def test_focused_answers_equal_unfocused(pair):
    plain, focused = pair
    bedford = select_area(focused, "Bedford")
    focus_on(focused, bedford)
    assert warehouse(focused).has_focus and not warehouse(plain).has_focus
    for name in ("Bedford", "Cambridge"):     # inside the focus, and outside it
        want, got = _answers(plain, name), _answers(focused, name)
        for key, value in want.items():
            if isinstance(value, pd.DataFrame):
                pd.testing.assert_frame_equal(got[key], value, obj=f"{name} {key}")
            else:
                assert got[key] == value, f"{name} {key}"


def test_focus_holds_every_event_of_the_force_area(pair):
    plain, focused = pair
    bedford = select_area(focused, "Bedford")
    focus_on(focused, bedford)
    # Independently: every event whose LSOA lies in a district of Bedfordshire police.
    want = plain.execute(
        "SELECT count(*) FROM events WHERE lsoa_code IN (SELECT lsoa_code FROM lsoa_geography "
        "WHERE force_code = (SELECT any_value(force_code) FROM lsoa_geography "
        "WHERE lad_code = 'E06000055'))").fetchone()[0]
    held = focused.execute(f"SELECT count(*) FROM {FOCUS_TABLE}").fetchone()[0]
    assert held == want > 100_000
    wh = warehouse(focused)
    assert wh.covers(area_lsoas(focused, bedford))
    assert not wh.covers(area_lsoas(focused, select_area(focused, "Cambridge")))
    # Questions about Bedford read the held rows; about Cambridge, every event.
    assert FOCUS_TABLE in str(area_events(focused, bedford, "police.uk").compile())
    cambridge = select_area(focused, "Cambridge")
    assert FOCUS_TABLE not in str(area_events(focused, cambridge, "police.uk").compile())


def test_refocus_replaces_the_held_rows(pair):
    plain, focused = pair
    focus_on(focused, select_area(focused, "Bedford"))
    cambridge = select_area(focused, "Cambridge")
    focus_on(focused, cambridge)
    wh = warehouse(focused)
    assert wh.covers(area_lsoas(focused, cambridge))
    assert not wh.covers(area_lsoas(focused, select_area(focused, "Bedford")))
    pd.testing.assert_frame_equal(counts(focused, cambridge, parse_period("2018-08..2019-03")),
                                  counts(plain, cambridge, parse_period("2018-08..2019-03")))


def test_family_rates_one_pass_equals_member_by_member(demo_warehouse):
    """Similar districts' counts come from one grouped pass; the family's figures equal those
    summed from each member's own counts."""
    area = select_area(demo_warehouse, "Bedford")
    family = [select_area(demo_warehouse, n) for n in ("Central Bedfordshire", "Luton")]
    issues = [("All crime", ["All crime (excluding ASB)"]), ("Burglary", ["Burglary"])]
    frame = family_rates(demo_warehouse, area, YEAR, [area, *family], issues,
                         settings=Settings(similar_min_with_data=1))
    assert frame.attrs["enough"] and len(frame.attrs["with_data"]) == 2
    for issue, categories in issues:
        row = frame[frame["issue"] == issue].iloc[0]
        want = 0
        for member in family:
            table = counts(demo_warehouse, member, YEAR, total=True)
            want += int(table.loc[table["category"].isin(categories), "count"].sum())
        assert row["family_count"] == want > 1000



def test_events_vintages_in_one_pass_equal_each_alone(demo_warehouse):
    areas = [select_area(demo_warehouse, n)
             for n in ("Bedford", "Luton", "Cambridge", "Central Bedfordshire")]
    forget()
    together = events_vintages(demo_warehouse, areas)
    forget()
    alone = {a: events_vintage(demo_warehouse, a) for a in areas}
    assert together == alone
    # Bedfordshire's data is on 2021 LSOAs, Cambridgeshire's on 2011 (SOURCES.md).
    assert [together[a] for a in areas] == ["2021", "2021", "2011", "2021"]
