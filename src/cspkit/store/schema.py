"""The warehouse schema, as an ordered list of migrations.

Each migration is applied once, in order, inside one transaction; the number of the last one
applied is recorded in ``meta.schema_version``. Never edit a released migration: append a new one.
"""

from __future__ import annotations

from cspkit.store.geography import HIERARCHY_SQL

MIGRATIONS: list[str] = [
    # 1: the canonical model (DESIGN.md): geography, population, deprivation, events, indicators,
    #    and the ingest log with its quarantine.
    """
    CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR);

    -- Every area once, by its ONS GSS code (codes change when boundaries change, so a code is a
    -- boundary). level: lsoa | ward | lad | county | force | region | country.
    CREATE TABLE areas (
        code VARCHAR PRIMARY KEY,
        level VARCHAR NOT NULL,
        name VARCHAR,
        source VARCHAR
    );
    -- Which geography editions an area belongs to (an unchanged LSOA is in both 2011 and 2021).
    CREATE TABLE area_vintages (
        code VARCHAR NOT NULL,
        vintage VARCHAR NOT NULL,
        PRIMARY KEY (code, vintage)
    );
    -- The hierarchy. child_vintage says which edition of the child the lookup was made for (an
    -- LSOA 2011 -> ward 2019 lookup vs an LSOA 2021 -> ward 2023 one); method is 'official',
    -- 'best-fit' (ONS best-fit lookups) or 'derived' (made here, e.g. centroid in polygon).
    CREATE TABLE area_links (
        child_code VARCHAR NOT NULL,
        child_vintage VARCHAR NOT NULL,
        parent_code VARCHAR NOT NULL,
        parent_level VARCHAR NOT NULL,
        parent_vintage VARCHAR NOT NULL,
        method VARCHAR NOT NULL,
        source VARCHAR,
        PRIMARY KEY (child_code, child_vintage, parent_code, parent_vintage)
    );
    -- ONS LSOA 2011 <-> 2021 lookup. change: U unchanged, S split, M merged, X irregular.
    CREATE TABLE lsoa_changes (
        lsoa11_code VARCHAR NOT NULL,
        lsoa21_code VARCHAR NOT NULL,
        change VARCHAR NOT NULL,
        source VARCHAR,
        PRIMARY KEY (lsoa11_code, lsoa21_code)
    );
    CREATE TABLE area_geometry (
        code VARCHAR NOT NULL,
        vintage VARCHAR NOT NULL,
        level VARCHAR NOT NULL,
        geometry_wkb BLOB NOT NULL,      -- WGS84 lon/lat, rings as published
        min_lon DOUBLE, min_lat DOUBLE, max_lon DOUBLE, max_lat DOUBLE,
        centroid_lon DOUBLE, centroid_lat DOUBLE,
        area_km2 DOUBLE,
        source VARCHAR,
        PRIMARY KEY (code, vintage)
    );
    CREATE TABLE area_centroids (
        code VARCHAR NOT NULL,
        vintage VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,           -- 'population-weighted' | 'geometric'
        lon DOUBLE, lat DOUBLE, easting DOUBLE, northing DOUBLE,
        source VARCHAR,
        PRIMARY KEY (code, vintage, kind)
    );
    CREATE TABLE area_attributes (
        code VARCHAR NOT NULL,
        attribute VARCHAR NOT NULL,      -- e.g. 'rural_urban_2011'
        value VARCHAR,
        source VARCHAR,
        PRIMARY KEY (code, attribute)
    );

    -- Residents (and households where published) by area, vintage of its geography and year.
    -- method: 'published' or 'apportioned' (carried to another LSOA vintage through
    -- lsoa_changes); apportioned rows are rebuilt whenever reference data changes.
    CREATE TABLE population (
        code VARCHAR NOT NULL,
        vintage VARCHAR NOT NULL,
        year INTEGER NOT NULL,
        persons DOUBLE,
        households DOUBLE,
        method VARCHAR NOT NULL,
        source VARCHAR,
        PRIMARY KEY (code, vintage, year)
    );

    -- English Indices of Deprivation, long format. edition: '2019' (2011 LSOAs), '2025' (2021
    -- LSOAs), ... domain: imd, income, employment, education, health, crime, barriers,
    -- living_environment, idaci, idaopi. rank 1 = most deprived.
    CREATE TABLE imd (
        lsoa_code VARCHAR NOT NULL,
        lsoa_vintage VARCHAR NOT NULL,
        edition VARCHAR NOT NULL,
        domain VARCHAR NOT NULL,
        score DOUBLE,
        rank INTEGER,
        decile INTEGER,
        source VARCHAR,
        PRIMARY KEY (lsoa_code, edition, domain)
    );
    -- District summaries (IoD File 10): one value per district x domain x summary measure.
    CREATE TABLE imd_district (
        lad_code VARCHAR NOT NULL,
        edition VARCHAR NOT NULL,
        domain VARCHAR NOT NULL,
        measure VARCHAR NOT NULL,
        value DOUBLE,
        source VARCHAR,
        PRIMARY KEY (lad_code, edition, domain, measure)
    );

    CREATE SEQUENCE ingest_id_seq START 1;
    -- One row per file (or archive member) offered to an ingest, whatever happened to it.
    -- status: loaded | unchanged (same bytes already loaded) | duplicate-coverage (another file
    -- already covers this force and month) | replaced (superseded by a later --replace load).
    CREATE TABLE ingests (
        ingest_id INTEGER PRIMARY KEY DEFAULT nextval('ingest_id_seq'),
        run_id VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        file VARCHAR NOT NULL,
        sha256 VARCHAR NOT NULL,
        bytes BIGINT,
        force VARCHAR,
        month DATE,
        lsoa_vintage VARCHAR,
        status VARCHAR NOT NULL,
        rows_in BIGINT NOT NULL DEFAULT 0,
        rows_loaded BIGINT NOT NULL DEFAULT 0,
        rows_quarantined BIGINT NOT NULL DEFAULT 0,
        note VARCHAR,
        loaded_at TIMESTAMP NOT NULL DEFAULT current_timestamp
    );
    CREATE TABLE quarantine (
        ingest_id INTEGER NOT NULL,
        file VARCHAR NOT NULL,
        line_no BIGINT,
        column_name VARCHAR,
        reason VARCHAR NOT NULL,
        raw VARCHAR
    );

    -- Record-level incidents from any source (police.uk crimes and ASB; later fire, ED ...).
    -- month is the first day of the month; event_date/time where the source has them.
    -- lsoa_vintage: '2011' | '2021' | NULL (unlocated, or a code in no geography we hold).
    CREATE SEQUENCE event_id_seq START 1;
    CREATE TABLE events (
        event_id BIGINT DEFAULT nextval('event_id_seq'),   -- no index: bulk loads stay fast
        ingest_id INTEGER NOT NULL,
        line_no BIGINT,
        source VARCHAR NOT NULL,
        force VARCHAR,
        month DATE NOT NULL,
        event_date DATE,
        event_time TIME,
        category VARCHAR NOT NULL,
        subcategory VARCHAR,
        record_id VARCHAR,
        lsoa_code VARCHAR,
        lsoa_name VARCHAR,
        lsoa_vintage VARCHAR,
        lon DOUBLE,
        lat DOUBLE,
        location VARCHAR,
        located BOOLEAN NOT NULL,
        outcome VARCHAR,
        context VARCHAR,
        attributes VARCHAR             -- JSON object of source-specific fields
    );
    -- Aggregate partner figures: area x period x indicator x value.
    CREATE TABLE indicators (
        ingest_id INTEGER NOT NULL,
        source VARCHAR NOT NULL,
        indicator VARCHAR NOT NULL,
        area_code VARCHAR NOT NULL,
        period_start DATE NOT NULL,
        period_end DATE NOT NULL,
        period_label VARCHAR,
        value DOUBLE,
        unit VARCHAR,
        attributes VARCHAR
    );

    CREATE TABLE police_outcomes (
        ingest_id INTEGER NOT NULL,
        line_no BIGINT,
        force VARCHAR,
        month DATE NOT NULL,
        crime_id VARCHAR,
        lsoa_code VARCHAR,
        lsoa_vintage VARCHAR,
        lon DOUBLE,
        lat DOUBLE,
        location VARCHAR,
        outcome VARCHAR NOT NULL
    );
    CREATE TABLE stop_search (
        ingest_id INTEGER NOT NULL,
        line_no BIGINT,
        force VARCHAR,
        month DATE NOT NULL,          -- the month of the file it was published in
        searched_at TIMESTAMPTZ,
        search_type VARCHAR,
        policing_operation VARCHAR,
        lon DOUBLE,
        lat DOUBLE,
        gender VARCHAR,
        age_range VARCHAR,
        self_defined_ethnicity VARCHAR,
        officer_defined_ethnicity VARCHAR,
        legislation VARCHAR,
        object_of_search VARCHAR,
        outcome VARCHAR,
        outcome_linked BOOLEAN,
        removal_of_clothing BOOLEAN
    );
    """,
    # 2: the LSOA hierarchy as measures use it. For each LSOA of each edition: the ward from the
    #    newest ward lookup made for that edition (official or best-fit before derived), its
    #    district, the district's county, region and police force. Events join on
    #    (lsoa_code, lsoa_vintage).
    f"CREATE VIEW lsoa_geography AS {HIERARCHY_SQL};",
    # 3: lsoa_geography becomes a table, rebuilt whenever links change (store.geography): as a
    #    view its window functions ran again inside every measure query.
    """
    DROP VIEW lsoa_geography;
    CREATE TABLE lsoa_geography (
        lsoa_code VARCHAR NOT NULL, lsoa_vintage VARCHAR NOT NULL, lsoa_name VARCHAR,
        ward_code VARCHAR, ward_name VARCHAR, ward_vintage VARCHAR, ward_method VARCHAR,
        lad_code VARCHAR, lad_name VARCHAR, county_code VARCHAR, county_name VARCHAR,
        region_code VARCHAR, region_name VARCHAR, force_code VARCHAR, force_name VARCHAR,
        PRIMARY KEY (lsoa_code, lsoa_vintage)
    );
    """,
    # 4: residents by age (single years from the mid-year estimates; bands where a table
    #    publishes bands), beside `population`'s all-ages figures. age_to NULL is open-ended
    #    (90+); a single year has age_to = age_from.
    """
    CREATE TABLE population_age (
        code VARCHAR NOT NULL,
        vintage VARCHAR NOT NULL,
        year INTEGER NOT NULL,
        age_from INTEGER NOT NULL,
        age_to INTEGER,
        persons DOUBLE,
        method VARCHAR NOT NULL,
        source VARCHAR,
        PRIMARY KEY (code, vintage, year, age_from)
    );
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
