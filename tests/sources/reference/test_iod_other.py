"""Every file of the English Indices of Deprivation 2019 and 2025 releases is recognised: the
LSOA files the warehouse holds load (Files 1, 2, 3, 5, 6, 7; IoD2025 with 'LSOA code (2021)'),
the others (Files 4, 8, 9, 11-13) are skipped with what they are and why, never failing the rest.

The fixtures are written from the files' real column headers (as published by MHCLG and used in
public code) with made-up rows: their names say SYNTHETIC."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from cspkit.errors import NotLoaded
from cspkit.ingest import ingest_reference
from cspkit.sources.inputs import InputFile
from cspkit.sources.reference import recognise
from cspkit.store.warehouse import transaction
from tests.sources.reference.helpers import ingest

LSOA19 = ["LSOA code (2011)", "LSOA name (2011)", "Local Authority District code (2019)",
          "Local Authority District name (2019)"]
LSOA25 = ["LSOA code (2021)", "LSOA name (2021)", "Local Authority District code (2024)",
          "Local Authority District name (2024)"]
RANK = "Rank (where 1 is most deprived)"
DECILE = "Decile (where 1 is most deprived 10% of LSOAs)"
DOMAINS = ["Index of Multiple Deprivation (IMD)", "Income", "Employment",
           "Education, Skills and Training", "Health Deprivation and Disability", "Crime",
           "Barriers to Housing and Services", "Living Environment"]
SCORES = ["Index of Multiple Deprivation (IMD) Score", "Income Score (rate)",
          "Employment Score (rate)", "Education, Skills and Training Score",
          "Health Deprivation and Disability Score", "Crime Score",
          "Barriers to Housing and Services Score", "Living Environment Score"]
SUPPLEMENTARY = ["Income Deprivation Affecting Children Index (IDACI)",
                 "Income Deprivation Affecting Older People (IDAOPI)"]
SUB_DOMAINS = ["Children and Young People", "Adult Skills", "Geographical Barriers",
               "Wider Barriers", "Indoors", "Outdoors"]
DENOMINATORS = ["Total population: mid 2015 (excluding prisoners)",
                "Dependent Children aged 0-15: mid 2015 (excluding prisoners)",
                "Population aged 16-59: mid 2015 (excluding prisoners)",
                "Older population aged 60 and over: mid 2015 (excluding prisoners)",
                "Working age population 18-59/64: for use with Employment Deprivation Domain "
                "(excluding prisoners)"]
INDICATORS = ["Income Domain numerator",
              "Income Deprivation Affecting Children Index (IDACI) numerator",
              "Income Deprivation Affecting Older People Index (IDAOPI) numerator",
              "Employment Domain numerator", "Staying on in education post 16 indicator",
              "Entry to higher education indicator",
              "Adult skills and English language proficiency indicator",
              "Years of potential life lost indicator",
              "Comparative illness and disability ratio indicator", "Acute morbidity indicator",
              "Mood and anxiety disorders indicator",
              "Road distance to a post office indicator (km)",
              "Houses without central heating indicator", "Violence indicator"]
TRANSFORMED = [f"{name} - exponentially transformed" for name in SCORES[1:]]

FILE3 = LSOA19 + [f"{d} {m}" for d in SUPPLEMENTARY for m in (RANK, DECILE)]
FILE4 = LSOA19 + [f"{d} Sub-domain {m}" for d in SUB_DOMAINS for m in (RANK, DECILE)]
FILE5 = LSOA19 + SCORES
FILE7 = (LSOA19 + [c for d, s in zip(DOMAINS, SCORES, strict=True)
                   for c in (s, f"{d} {RANK}", f"{d} {DECILE}")]
         + [c for d in SUPPLEMENTARY for c in (f"{d} Score (rate)", f"{d} {RANK}",
                                               f"{d} {DECILE}")]
         + [c for d in SUB_DOMAINS for c in (f"{d} Sub-domain Score", f"{d} Sub-domain {RANK}",
                                             f"{d} Sub-domain {DECILE}")]
         + DENOMINATORS)
FILE8 = LSOA19 + INDICATORS
FILE9 = LSOA19 + TRANSFORMED
SUMMARY = ["IMD - Average rank", "IMD - Rank of average rank", "IMD - Average score",
           "IMD - Rank of average score"]
FILE11 = ["Upper Tier Local Authority District code (2019)",
          "Upper Tier Local Authority District name (2019)", *SUMMARY]
# File 12's code header was not found in public code: written on the pattern of Files 11, 13.
FILE12 = ["Local Enterprise Partnership code (2019)", "Local Enterprise Partnership name (2019)",
          *SUMMARY]
FILE13 = ["Clinical Commissioning Group Code (2019)", "Clinical Commissioning Group Name (2019)",
          *SUMMARY]


def value(header: str, row: int) -> str:
    """A made-up cell that passes the loaders' checks for its column."""
    lower = header.lower()
    if "transformed" in lower:
        return "99.5"
    if lower.startswith("lsoa code"):
        return f"E0100000{row}"
    if "code" in lower:
        return f"E0600000{row}"
    if "name" in lower:
        return f"Place {row}"
    if "decile" in lower:
        return str(row + 2)
    if "rank" in lower and "average" not in lower:
        return str(100 * row + 7)
    return f"{row + 0.25:.3f}"


def write(path: Path, header: list[str], rows: int = 2) -> Path:
    lines = [",".join(f'"{h}"' for h in header)]
    lines += [",".join(value(h, r) for h in header) for r in range(1, rows + 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_files_3_5_and_7_load_ranks_deciles_and_scores(fresh: duckdb.DuckDBPyConnection,
                                                       tmp_path: Path) -> None:
    ingest(fresh, write(tmp_path / "File_3_IoD2019_Supplementary_Indices_SYNTHETIC.csv", FILE3))
    rows = fresh.execute("SELECT DISTINCT domain, edition, lsoa_vintage FROM imd "
                         "ORDER BY 1").fetchall()
    assert rows == [("idaci", "2019", "2011"), ("idaopi", "2019", "2011")]
    ingest(fresh, write(tmp_path / "File_5_IoD2019_Scores_SYNTHETIC.csv", FILE5))
    scores = dict(fresh.execute("SELECT domain, score FROM imd WHERE lsoa_code = 'E01000001' "
                                "AND score IS NOT NULL").fetchall())
    assert set(scores) == {"imd", "income", "employment", "education", "health", "crime",
                           "barriers", "living_environment"}
    assert set(scores.values()) == {1.25}


def test_file_7_loads_every_domain_and_ignores_sub_domains_and_denominators(
        fresh: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    [record] = ingest(fresh, write(tmp_path / "File_7_IoD2019_All_Ranks_SYNTHETIC.csv", FILE7))
    assert (record.status, record.rows_loaded, record.rows_quarantined) == ("loaded", 2, 0)
    rows = fresh.execute("SELECT domain, count(*), count(score), count(rank), count(decile) "
                         "FROM imd GROUP BY 1 ORDER BY 1").fetchall()
    assert [r[0] for r in rows] == ["barriers", "crime", "education", "employment", "health",
                                    "idaci", "idaopi", "imd", "income", "living_environment"]
    assert {r[1:] for r in rows} == {(2, 2, 2, 2)}


def test_iod2025_files_take_2021_lsoas(fresh: duckdb.DuckDBPyConnection,
                                       tmp_path: Path) -> None:
    file7 = [c.replace("(2011)", "(2021)").replace("(2019)", "(2024)")
             .replace("mid 2015 (excluding prisoners)", "mid 2022") for c in FILE7]
    ingest(fresh, write(tmp_path / "File_7_IoD2025_All_Ranks_SYNTHETIC.csv", file7),
           write(tmp_path / "File_5_IoD2025_Scores_SYNTHETIC.csv",
                 LSOA25 + SCORES, rows=1))
    rows = fresh.execute("SELECT DISTINCT edition, lsoa_vintage FROM imd").fetchall()
    assert rows == [("2025", "2021")]
    assert fresh.execute("SELECT count(DISTINCT domain) FROM imd").fetchone() == (10,)


@pytest.mark.parametrize(("name", "header", "says"), [
    ("File_4_IoD2019_Sub-domains_SYNTHETIC.csv", FILE4, "File 4, sub-domains"),
    ("File_8_IoD2019_Underlying_Indicators_SYNTHETIC.csv", FILE8, "File 8, underlying"),
    ("File_9_IoD2019_Transformed_Scores_SYNTHETIC.csv", FILE9, "File 9, exponentially"),
    ("File_11_IoD2019_Upper-tier_Summaries_SYNTHETIC.csv", FILE11, "File 11, upper-tier"),
    ("File_12_IoD2019_LEP_Summaries_SYNTHETIC.csv", FILE12, "File 12, Local Enterprise"),
    ("File_13_IoD2019_CCG_Summaries_SYNTHETIC.csv", FILE13, "File 13, Clinical"),
    ("File_4_IoD2025_Sub-domains_SYNTHETIC.csv",
     [c.replace("(2011)", "(2021)").replace("(2019)", "(2024)") for c in FILE4],
     "File 4, sub-domains"),
])
def test_files_not_held_are_recognised_and_say_why(tmp_path: Path, name: str,
                                                   header: list[str], says: str) -> None:
    path = write(tmp_path / name, header)
    with pytest.raises(NotLoaded) as raised:
        recognise(InputFile(str(path), path))
    assert says in raised.value.problem and "not loaded" in raised.value.problem


def test_transformed_scores_never_load_as_scores(fresh: duckdb.DuckDBPyConnection,
                                                 tmp_path: Path) -> None:
    # File 9 beside File 5: the published scores only.
    records = ingest(fresh, write(tmp_path / "File_9_IoD2019_SYNTHETIC.csv", FILE9),
                     write(tmp_path / "File_5_IoD2019_SYNTHETIC.csv", FILE5))
    assert sorted(r.status for r in records) == ["loaded", "skipped"]
    assert fresh.execute("SELECT DISTINCT score FROM imd ORDER BY 1").fetchall() == [
        (1.25,), (2.25,)]


def test_a_whole_release_loads_what_is_held_and_skips_the_rest(
        fresh: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    paths = [write(tmp_path / f"File_{n}_IoD2019_SYNTHETIC.csv", header) for n, header in
             ((3, FILE3), (4, FILE4), (8, FILE8), (9, FILE9), (11, FILE11), (12, FILE12),
              (13, FILE13))]
    with transaction(fresh):
        report = ingest_reference(fresh, [str(p) for p in paths], run_id="t")
    skipped = {r.file.rsplit("/", 1)[-1]: r.note for r in report.skipped}
    assert sorted(skipped) == [f"File_{n}_IoD2019_SYNTHETIC.csv" for n in (11, 12, 13, 4, 8, 9)]
    assert all("not loaded" in note for note in skipped.values())
    assert [r.file.rsplit("/", 1)[-1] for r in report.records] == ["File_3_IoD2019_SYNTHETIC.csv"]
    assert fresh.execute("SELECT count(*) FROM imd").fetchone() == (4,)
