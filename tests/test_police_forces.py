"""The police forces: names, ids, and which force polices each district."""

from __future__ import annotations

import duckdb

from cspkit.demo import demo_data_dir
from cspkit.police_forces import (
    FORCE_OF_COUNTY,
    FORCE_OF_DISTRICT,
    FORCES,
    force_id_from_name,
    force_of_district,
)

WARD_LOOKUP = ("Ward_to_Local_Authority_District_to_County_to_Region_to_Country_(May_2023)_"
               "Lookup_in_United_Kingdom.csv.gz")


def test_every_district_of_england_and_wales_has_one_force() -> None:
    path = demo_data_dir() / "geography" / "lookups" / WARD_LOOKUP
    rows = duckdb.connect().execute(
        f"""SELECT DISTINCT LAD23CD, LAD23NM, CTY23CD, RGN23CD FROM read_csv('{path}')
            WHERE CTRY23CD IN ('E92000001', 'W92000004')""").fetchall()
    assert len(rows) == 318   # 296 English districts and 22 Welsh principal areas (2023)
    forces = {code: force_of_district(code, county, region) for code, _, county, region in rows}
    assert None not in forces.values(), [n for c, n, _, _ in rows if forces[c] is None]
    assert set(forces.values()) <= set(FORCES)
    # every territorial force of England and Wales polices somewhere
    assert set(FORCES) - set(forces.values()) == {"btp", "northern-ireland"}
    names = {name: forces[code] for code, name, _, _ in rows}
    assert names["Newcastle upon Tyne"] == "northumbria"
    assert names["Bedford"] == names["Luton"] == "bedfordshire"
    assert names["City of London"] == "city-of-london"
    assert names["Westminster"] == "metropolitan"
    assert names["East Cambridgeshire"] == names["Peterborough"] == "cambridgeshire"
    assert names["Darlington"] == "durham" and names["Hartlepool"] == "cleveland"
    assert names["South Gloucestershire"] == "avon-and-somerset"
    assert names["Cardiff"] == "south-wales" and names["Newport"] == "gwent"


def test_the_tables_name_only_known_forces() -> None:
    assert set(FORCE_OF_DISTRICT.values()) | set(FORCE_OF_COUNTY.values()) <= set(FORCES)


def test_force_names() -> None:
    assert force_id_from_name("Bedfordshire Police") == "bedfordshire"
    assert force_id_from_name("Devon & Cornwall Police") == "devon-and-cornwall"
    assert force_id_from_name("nowhere") is None
