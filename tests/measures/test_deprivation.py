"""Deprivation measures for East Cambridgeshire (IoD2019, 2011 LSOAs), checked against the
MHCLG files read with pandas and events joined to deciles in pandas."""

from __future__ import annotations

import pandas as pd
import pytest

from cspkit.demo import demo_data_dir
from cspkit.measures.areas import select_area
from cspkit.measures.deprivation import (
    district_summary,
    events_by_decile,
    extremes,
    lsoa_deprivation,
)
from cspkit.measures.periods import parse_period

EAST_CAMBS = "E07000009"
FILE_2 = "File_2_-_IoD2019_Domains_of_Deprivation.csv.gz"
FILE_10 = "File_10_-_IoD2019_Local_Authority_District_Summaries__lower-tier__.xlsx"
RANK = "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)"
DECILE = "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)"


@pytest.fixture(scope="module")
def iod2019() -> pd.DataFrame:
    """East Cambridgeshire's LSOAs in IoD2019 File 2, with local deciles worked by hand."""
    raw = pd.read_csv(demo_data_dir() / "imd2019" / FILE_2, dtype=str, encoding="utf-8-sig")
    raw.columns = [c.strip() for c in raw.columns]
    area = raw[raw["Local Authority District code (2019)"] == EAST_CAMBS].copy()
    area["rank"] = area[RANK].astype(int)
    area["decile"] = area[DECILE].astype(int)
    area = area.sort_values("rank").reset_index(drop=True)
    # 50 LSOAs, most deprived first, in ten groups of five.
    area["local"] = [i // (len(area) // 10) + 1 for i in range(len(area))]
    return area.set_index("LSOA code (2011)")


@pytest.fixture(scope="module")
def east_cambs(demo_warehouse):
    return select_area(demo_warehouse, "East Cambridgeshire")


@pytest.fixture(scope="module")
def table(demo_warehouse, east_cambs) -> pd.DataFrame:
    return lsoa_deprivation(demo_warehouse, east_cambs).set_index("lsoa_code")


def test_fifty_lsoas_with_the_published_ranks_and_national_deciles(table, iod2019):
    assert len(iod2019) == 50
    assert len(table) == 50 and table.index.is_unique
    assert set(table.index) == set(iod2019.index)
    assert (table["edition"] == "2019").all()
    for code, row in table.iterrows():
        assert row["imd_rank"] == iod2019.loc[code, "rank"], code
        assert row["national_decile"] == iod2019.loc[code, "decile"], code


def test_local_deciles(table, iod2019):
    assert len(iod2019) % 10 == 0
    for code, row in table.iterrows():
        assert row["local_decile"] == iod2019.loc[code, "local"], code
    assert table["local_decile"].value_counts().sort_index().tolist() == [5] * 10


def test_most_deprived_lsoa(demo_warehouse, east_cambs, iod2019):
    most, least = extremes(demo_warehouse, east_cambs, n=5)
    assert most["lsoa_code"].iloc[0] == iod2019["rank"].idxmin()
    assert least["lsoa_code"].iloc[0] == iod2019["rank"].idxmax()
    assert list(most["lsoa_code"]) == list(iod2019.index[:5])


def test_district_summary_rank_of_average_score(demo_warehouse):
    raw = pd.read_excel(demo_data_dir() / "imd2019" / FILE_10, sheet_name="IMD",
                        engine="calamine")
    raw.columns = [str(c).strip() for c in raw.columns]
    published = raw.set_index("Local Authority District code (2019)").loc[
        EAST_CAMBS, "IMD - Rank of average score"]
    assert published == 272
    summary = district_summary(demo_warehouse, EAST_CAMBS).set_index("domain")
    assert summary.loc["imd", "rank_of_average_score"] == 272
    assert summary["n_districts"].iloc[0] == len(raw)


@pytest.mark.parametrize("local", [False, True], ids=["national", "local"])
def test_events_by_decile(demo_warehouse, east_cambs, cambridgeshire_events, iod2019, local):
    result = events_by_decile(demo_warehouse, east_cambs, parse_period("2019"), local=local)
    rows = cambridgeshire_events[(cambridgeshire_events["lad_code"] == EAST_CAMBS)
                                 & cambridgeshire_events["month"].str.startswith("2019-")]
    deciles = iod2019["local" if local else "decile"]
    joined = rows.merge(deciles.rename("d"), left_on="lsoa_code", right_index=True,
                        how="left")
    assert joined["d"].notna().all()
    expected = joined.groupby("d").size().reindex(range(1, 11), fill_value=0)
    assert list(result["decile"]) == list(range(1, 11))
    assert result["count"].sum() == len(rows)
    assert result["count"].tolist() == expected.tolist()
    assert result["lsoas"].tolist() == deciles.value_counts().reindex(
        range(1, 11), fill_value=0).tolist()
    assert not result["mapped"].any()


def test_domain_profile_through_the_lsoa_lookup_matches_the_raw_files(demo_warehouse):
    """Kempston West and North's six 2021 LSOAs, profiled on IoD2019's domains: the 2011 LSOAs
    the ONS lookup links to them, and their mean ranks, read with pandas from the raw files."""
    from cspkit.measures.deprivation import domain_profile

    lsoas21 = ["E01017509", "E01017510", "E01017511", "E01017512", "E01034422", "E01034424"]
    lookup = pd.read_csv(
        demo_data_dir() / "geography" / "lookups" /
        "LSOA_(2011)_to_LSOA_(2021)_to_Local_Authority_District_(2022)_Lookup_for_England_"
        "and_Wales.csv.gz", dtype=str, encoding="utf-8-sig")
    lsoas11 = sorted(set(lookup.loc[lookup["LSOA21CD"].isin(lsoas21), "F_LSOA11CD"]))
    assert len(lsoas11) == 5      # two 2021 LSOAs split from one 2011 LSOA
    raw = pd.read_csv(demo_data_dir() / "imd2019" / FILE_2, encoding="utf-8-sig")
    raw = raw[raw["LSOA code (2011)"].isin(lsoas11)]
    result = domain_profile(demo_warehouse, lsoas21, "2021", "2019")
    assert result["mapped"] and result["lsoas"] == lsoas11
    assert result["domains"]["imd"] == pytest.approx(raw[RANK].mean(), abs=0.05)
    crime = "Crime Rank (where 1 is most deprived)"
    assert result["domains"]["crime"] == pytest.approx(raw[crime].mean(), abs=0.05)
    assert len(result["domains"]) == 8
    # On its own edition nothing is carried across.
    same = domain_profile(demo_warehouse, lsoas11, "2011", "2019")
    assert not same["mapped"] and same["domains"] == result["domains"]
