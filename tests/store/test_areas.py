"""Areas resolve by code or by name, case-insensitively, with helpful errors."""

from __future__ import annotations

import pytest

from cspkit.errors import AreaNotFound
from cspkit.ingest import ingest_reference
from cspkit.store import transaction
from cspkit.store.areas import resolve_area

LOOKUP = """LSOA11CD,LSOA11NM,WD19CD,WD19NM,LAD19CD,LAD19NM
E01018000,East Cambridgeshire 001A,E05011568,Littleport,E07000009,East Cambridgeshire
E01018001,East Cambridgeshire 001B,E05011569,Soham North,E07000009,East Cambridgeshire
E01017500,Bedford 001A,E05008770,Soham North,E06000055,Bedford
"""


@pytest.fixture
def geography(warehouse, tmp_path):
    path = tmp_path / "Lower_Layer_Super_Output_Area_(2011)_to_Ward_(2019)_Lookup.csv"
    path.write_text(LOOKUP, encoding="utf-8")
    with transaction(warehouse):
        ingest_reference(warehouse, [str(path)], run_id="t")
    return warehouse


@pytest.mark.parametrize("query", ["East Cambridgeshire", "east cambridgeshire",
                                   "  EAST CAMBRIDGESHIRE ", "E07000009", "e07000009"])
def test_by_name_or_code(geography, query):
    area = resolve_area(geography, query)
    assert (area.code, area.name, area.level) == ("E07000009", "East Cambridgeshire", "lad")


def test_a_ward_by_name(geography):
    assert resolve_area(geography, "littleport").code == "E05011568"


def test_close_matches_are_suggested(geography):
    with pytest.raises(AreaNotFound, match="Did you mean: East Cambridgeshire"):
        resolve_area(geography, "East Cambridgshire")


def test_an_ambiguous_name_lists_the_candidates(geography):
    with pytest.raises(AreaNotFound) as caught:
        resolve_area(geography, "Soham North")
    assert "E05011569" in str(caught.value) and "E05008770" in str(caught.value)


def test_an_empty_warehouse_says_what_to_do(warehouse):
    with pytest.raises(AreaNotFound, match="cspkit demo"):
        resolve_area(warehouse, "Bedford")
