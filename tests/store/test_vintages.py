"""Which LSOA edition police files carry, decided from their codes, whichever loads first."""

from __future__ import annotations

from pathlib import Path

from cspkit.ingest import ingest_police, ingest_reference
from cspkit.store import transaction

HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
          "LSOA name,Crime type,Last outcome category,Context")
# A tiny ONS LSOA 2011 <-> 2021 change lookup: one unchanged LSOA, one 2011 LSOA split in two.
LOOKUP = """\ufeffF_LSOA11CD,LSOA11NM,LSOA21CD,LSOA21NM,CHGIND,LAD22CD,LAD22NM,LAD22NMW,ObjectId
E01000001,Town 001A,E01000001,Town 001A,U,E06000099,Town,,1
E01000002,Town 001B,E01035001,Town 001E,S,E06000099,Town,,2
E01000002,Town 001B,E01035002,Town 001F,S,E06000099,Town,,3
"""


def street(path: Path, month: str, codes: list[str]) -> Path:
    rows = [HEADER] + [f"id{i},{month},Bedfordshire Police,Bedfordshire Police,-0.4,52.1,X,"
                       f"{code},Town,Burglary,," for i, code in enumerate(codes)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def load_reference(con, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    lookup = tmp_path / "LSOA_(2011)_to_LSOA_(2021)_to_LAD_(2022)_Lookup.csv"
    lookup.write_text(LOOKUP, encoding="utf-8")
    with transaction(con):
        ingest_reference(con, [str(lookup)], run_id="ref")


def load_police(con, *paths: Path) -> None:  # type: ignore[no-untyped-def]
    with transaction(con):
        ingest_police(con, [str(p) for p in paths], run_id="police")


def vintages(con) -> dict[str, str | None]:  # type: ignore[no-untyped-def]
    return dict(con.execute("SELECT strftime(month, '%Y-%m'), lsoa_vintage FROM ingests "
                            "WHERE kind = 'police-street' ORDER BY month").fetchall())


def test_codes_decide_the_edition(warehouse, tmp_path):
    load_reference(warehouse, tmp_path)
    new = street(tmp_path / "2023-01-bedfordshire-street.csv", "2023-01",
                 ["E01035001", "E01000001"])
    old = street(tmp_path / "2018-01-bedfordshire-street.csv", "2018-01",
                 ["E01000002", "E01000001"])
    # Only unchanged codes: takes the edition the force's other files use.
    same = street(tmp_path / "2023-02-bedfordshire-street.csv", "2023-02", ["E01000001"])
    load_police(warehouse, new, same)
    load_police(warehouse, old)
    assert vintages(warehouse) == {"2018-01": "2011", "2023-01": "2021", "2023-02": "2021"}
    rows = warehouse.execute(
        "SELECT lsoa_code, lsoa_vintage FROM events ORDER BY month, lsoa_code").fetchall()
    assert rows == [("E01000001", "2011"), ("E01000002", "2011"), ("E01000001", "2021"),
                    ("E01035001", "2021"), ("E01000001", "2021")]


def test_events_loaded_before_their_geography_are_resolved_later(warehouse, tmp_path):
    path = street(tmp_path / "2023-01-bedfordshire-street.csv", "2023-01", ["E01035002"])
    load_police(warehouse, path)
    assert vintages(warehouse) == {"2023-01": None}
    load_reference(warehouse, tmp_path)
    assert vintages(warehouse) == {"2023-01": "2021"}
    assert warehouse.execute("SELECT lsoa_vintage FROM events").fetchone() == ("2021",)


def test_codes_outside_the_geography_have_no_edition(warehouse, tmp_path):
    load_reference(warehouse, tmp_path)
    path = street(tmp_path / "2023-01-bedfordshire-street.csv", "2023-01",
                  ["E01035001", "W01000999"])
    load_police(warehouse, path)
    rows = dict(warehouse.execute("SELECT lsoa_code, lsoa_vintage FROM events").fetchall())
    assert rows == {"E01035001": "2021", "W01000999": None}


# Rows copied from the ONS lookups shipped in the package, with their headers: two Corby LSOAs
# of 2011, one unchanged in 2021 and one split (so a file of them is on 2011 LSOAs). Corby
# became part of North Northamptonshire in 2021.
CORBY_2019 = """FID,LSOA11CD,LSOA11NM,WD19CD,WD19NM,LAD19CD,LAD19NM
15576,E01026949,Corby 005A,E05010265,Central,E07000150,Corby
15757,E01026977,Corby 003C,E05010274,Stanion & Corby Village,E07000150,Corby
"""
CORBY_CHANGES = """\ufeffF_LSOA11CD,LSOA11NM,LSOA21CD,LSOA21NM,CHGIND,LAD22CD,LAD22NM,LAD22NMW,ObjectId
E01026949,Corby 005A,E01026949,North Northamptonshire 005A,U,E06000061,North Northamptonshire,,8412
E01026977,Corby 003C,E01035397,North Northamptonshire 006G,S,E06000061,North Northamptonshire,,8427
E01026977,Corby 003C,E01035398,North Northamptonshire 006H,S,E06000061,North Northamptonshire,,8486
"""


def test_police_data_on_2011_lsoas_counts_in_the_district_that_exists_now(warehouse, tmp_path):
    from cspkit.measures.areas import select_area

    files = []
    for name, text in (("Lower_Layer_Super_Output_Area_(2011)_to_Ward_(2019)_Lookup.csv",
                        CORBY_2019),
                       ("LSOA_(2011)_to_LSOA_(2021)_to_LAD_(2022)_Lookup.csv", CORBY_CHANGES)):
        files.append(tmp_path / name)
        files[-1].write_text(text, encoding="utf-8")
    with transaction(warehouse):
        ingest_reference(warehouse, [str(f) for f in files], run_id="ref")
    load_police(warehouse, street(tmp_path / "2019-01-northamptonshire-street.csv", "2019-01",
                                  ["E01026949", "E01026977", "E01026977"]))
    assert vintages(warehouse) == {"2019-01": "2011"}
    area = select_area(warehouse, "Corby")
    assert (area.code, area.name) == ("E06000061", "North Northamptonshire")
    rows = warehouse.execute(
        """SELECT g.lad_code, g.ward_code, count(*) FROM events e
           JOIN lsoa_geography g ON g.lsoa_code = e.lsoa_code AND g.lsoa_vintage = e.lsoa_vintage
           GROUP BY ALL ORDER BY 2""").fetchall()
    # The district is today's; the wards are the 2019 wards the 2011 lookup gives.
    assert rows == [("E06000061", "E05010265", 1), ("E06000061", "E05010274", 2)]
