"""The police forces of data.police.uk: their ids (as used in file names and the API) and names.

Shared knowledge, not a file format: parsers and the store both use it.
"""

from __future__ import annotations

import re

FORCES: dict[str, str] = {
    "avon-and-somerset": "Avon and Somerset Constabulary",
    "bedfordshire": "Bedfordshire Police",
    "btp": "British Transport Police",
    "cambridgeshire": "Cambridgeshire Constabulary",
    "cheshire": "Cheshire Constabulary",
    "city-of-london": "City of London Police",
    "cleveland": "Cleveland Police",
    "cumbria": "Cumbria Constabulary",
    "derbyshire": "Derbyshire Constabulary",
    "devon-and-cornwall": "Devon & Cornwall Police",
    "dorset": "Dorset Police",
    "durham": "Durham Constabulary",
    "dyfed-powys": "Dyfed-Powys Police",
    "essex": "Essex Police",
    "gloucestershire": "Gloucestershire Constabulary",
    "greater-manchester": "Greater Manchester Police",
    "gwent": "Gwent Police",
    "hampshire": "Hampshire Constabulary",
    "hertfordshire": "Hertfordshire Constabulary",
    "humberside": "Humberside Police",
    "kent": "Kent Police",
    "lancashire": "Lancashire Constabulary",
    "leicestershire": "Leicestershire Police",
    "lincolnshire": "Lincolnshire Police",
    "merseyside": "Merseyside Police",
    "metropolitan": "Metropolitan Police Service",
    "norfolk": "Norfolk Constabulary",
    "north-wales": "North Wales Police",
    "north-yorkshire": "North Yorkshire Police",
    "northamptonshire": "Northamptonshire Police",
    "northern-ireland": "Police Service of Northern Ireland",
    "northumbria": "Northumbria Police",
    "nottinghamshire": "Nottinghamshire Police",
    "south-wales": "South Wales Police",
    "south-yorkshire": "South Yorkshire Police",
    "staffordshire": "Staffordshire Police",
    "suffolk": "Suffolk Constabulary",
    "surrey": "Surrey Police",
    "sussex": "Sussex Police",
    "thames-valley": "Thames Valley Police",
    "warwickshire": "Warwickshire Police",
    "west-mercia": "West Mercia Police",
    "west-midlands": "West Midlands Police",
    "west-yorkshire": "West Yorkshire Police",
    "wiltshire": "Wiltshire Police",
}

_NOISE = {"police", "constabulary", "service", "of", "the"}


def force_id_from_name(name: str | None) -> str | None:
    """'Cambridgeshire Constabulary' -> 'cambridgeshire'; None when it is no force we know."""
    if not name:
        return None
    for force_id, force_name in FORCES.items():
        if name.strip().lower() == force_name.lower():
            return force_id
    words = [w for w in re.split(r"[^a-z]+", name.lower().replace("&", "and")) if w]
    slug = "-".join(w for w in words if w not in _NOISE)
    if slug == "british-transport":
        return "btp"
    return slug if slug in FORCES else None


def force_name(force_id: str) -> str:
    return FORCES.get(force_id, force_id)


# Which force polices a district, for the time before any police data is held (`cspkit setup`
# must know which force's archive to download; afterwards store.forces derives the links from
# where the data falls). No ONS "LAD to Community Safety Partnership to Police Force Area" lookup
# ships with cspkit, so this is the police area definition of the Police Act 1996, Schedule 1
# (as amended), keyed by the GSS codes of the shipped May 2023 ward-to-district-to-county
# lookup: a two-tier or metropolitan county (E10/E11/E13) names the force of all its districts;
# unitary authorities and Welsh principal areas, which have no county there, are listed one by
# one. A district in neither table falls back to its region (London only). Every district of
# England and Wales in that lookup is covered (tests/test_police_forces.py checks).
FORCE_OF_COUNTY: dict[str, str] = {
    "E10000003": "cambridgeshire", "E10000007": "derbyshire", "E10000008": "devon-and-cornwall",
    "E10000011": "sussex", "E10000012": "essex", "E10000013": "gloucestershire",
    "E10000014": "hampshire", "E10000015": "hertfordshire", "E10000016": "kent",
    "E10000017": "lancashire", "E10000018": "leicestershire", "E10000019": "lincolnshire",
    "E10000020": "norfolk", "E10000024": "nottinghamshire", "E10000025": "thames-valley",
    "E10000028": "staffordshire", "E10000029": "suffolk", "E10000030": "surrey",
    "E10000031": "warwickshire", "E10000032": "sussex", "E10000034": "west-mercia",
    # counties abolished in 2023 (kept: an older lookup may still name them)
    "E10000006": "cumbria", "E10000023": "north-yorkshire", "E10000027": "avon-and-somerset",
    "E10000021": "northamptonshire", "E10000002": "thames-valley", "E10000009": "dorset",
    "E11000001": "greater-manchester", "E11000002": "merseyside", "E11000003": "south-yorkshire",
    "E11000005": "west-midlands", "E11000006": "west-yorkshire", "E11000007": "northumbria",
    "E13000001": "metropolitan", "E13000002": "metropolitan",
}
FORCE_OF_DISTRICT: dict[str, str] = {
    # the City of London has its own force, though Inner London is the Met's
    "E09000001": "city-of-london",
    # North East
    "E06000001": "cleveland", "E06000002": "cleveland", "E06000003": "cleveland",
    "E06000004": "cleveland", "E06000005": "durham", "E06000047": "durham",
    "E06000057": "northumbria",
    # North West
    "E06000006": "cheshire", "E06000007": "cheshire", "E06000049": "cheshire",
    "E06000050": "cheshire", "E06000008": "lancashire", "E06000009": "lancashire",
    "E06000063": "cumbria", "E06000064": "cumbria",
    # Yorkshire and The Humber
    "E06000010": "humberside", "E06000011": "humberside", "E06000012": "humberside",
    "E06000013": "humberside", "E06000014": "north-yorkshire", "E06000065": "north-yorkshire",
    # East Midlands
    "E06000015": "derbyshire", "E06000016": "leicestershire", "E06000017": "leicestershire",
    "E06000018": "nottinghamshire", "E06000061": "northamptonshire",
    "E06000062": "northamptonshire",
    # West Midlands
    "E06000019": "west-mercia", "E06000020": "west-mercia", "E06000051": "west-mercia",
    "E06000021": "staffordshire",
    # East of England
    "E06000031": "cambridgeshire", "E06000032": "bedfordshire", "E06000055": "bedfordshire",
    "E06000056": "bedfordshire", "E06000033": "essex", "E06000034": "essex",
    # South East
    "E06000035": "kent", "E06000036": "thames-valley", "E06000037": "thames-valley",
    "E06000038": "thames-valley", "E06000039": "thames-valley", "E06000040": "thames-valley",
    "E06000041": "thames-valley", "E06000042": "thames-valley", "E06000060": "thames-valley",
    "E06000043": "sussex", "E06000044": "hampshire", "E06000045": "hampshire",
    "E06000046": "hampshire",
    # South West
    "E06000022": "avon-and-somerset", "E06000023": "avon-and-somerset",
    "E06000024": "avon-and-somerset", "E06000025": "avon-and-somerset",
    "E06000066": "avon-and-somerset", "E06000026": "devon-and-cornwall",
    "E06000027": "devon-and-cornwall", "E06000052": "devon-and-cornwall",
    "E06000053": "devon-and-cornwall", "E06000030": "wiltshire", "E06000054": "wiltshire",
    "E06000058": "dorset", "E06000059": "dorset",
    # Wales
    "W06000001": "north-wales", "W06000002": "north-wales", "W06000003": "north-wales",
    "W06000004": "north-wales", "W06000005": "north-wales", "W06000006": "north-wales",
    "W06000008": "dyfed-powys", "W06000009": "dyfed-powys", "W06000010": "dyfed-powys",
    "W06000023": "dyfed-powys", "W06000011": "south-wales", "W06000012": "south-wales",
    "W06000013": "south-wales", "W06000014": "south-wales", "W06000015": "south-wales",
    "W06000016": "south-wales", "W06000024": "south-wales", "W06000018": "gwent",
    "W06000019": "gwent", "W06000020": "gwent", "W06000021": "gwent", "W06000022": "gwent",
}
FORCE_OF_REGION: dict[str, str] = {"E12000007": "metropolitan"}


def force_of_district(lad_code: str, county_code: str | None = None,
                      region_code: str | None = None) -> str | None:
    """The data.police.uk force id policing a district (None when the tables do not know it):
    the district's own entry, else its county's, else its region's."""
    return (FORCE_OF_DISTRICT.get(lad_code)
            or (FORCE_OF_COUNTY.get(county_code) if county_code else None)
            or (FORCE_OF_REGION.get(region_code) if region_code else None))
