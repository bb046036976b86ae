"""`cspkit setup` for Bedford against local stand-ins for data.police.uk, the ONS ArcGIS
boundary services and the ONS population download (tests/fake_services.py; no network).

The features served are the real Bedford LSOA (2021) and ward boundaries shipped with the
demo, and the archive holds three real months of Bedfordshire street data. The national
tables are cut to the two lookups setup needs to resolve an area, and to their rows for the
East of England (and Scotland, which has no LSOAs): loading all of them takes about a minute.
They are loaded once into a warehouse that each test copies.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cspkit.demo import demo_data_dir, national_reference_paths, reference_paths
from cspkit.errors import AreaNotFound, CspkitError
from cspkit.ingest import ingest_reference
from cspkit.setup import Reporter, SetupError, Sources, default_cache, run_setup
from cspkit.sources import download
from cspkit.store import connect, writer
from cspkit.store.ingest_log import new_run_id
from tests.fake_services import Layer, State, serve

BEDFORD = "E06000055"
MONTHS = ("2024-02", "2024-03", "2024-04")
LOOKUPS = ["LSOA_(2021)_to_Electoral_Ward_(2023)_to_LAD_(2023)_Best_Fit_Lookup_in_EW.csv.gz",
           "Ward_to_Local_Authority_District_to_County_to_Region_to_Country_(May_2023)_Lookup_"
           "in_United_Kingdom.csv.gz"]
POPULATION_PATH = "/ons/lsoa_population_mid2022.csv"


LOOKUP_DIR: list[Path] = []   # set by the module fixture


def national() -> list[str]:
    return [str(LOOKUP_DIR[0] / name) for name in LOOKUPS]


def _cut_lookups(dest: Path) -> None:
    """The shipped lookups, only their rows for the East of England and Scotland."""
    import csv

    wanted_lads: set[str] = set()
    source = demo_data_dir() / "geography" / "lookups"
    for name in reversed(LOOKUPS):   # the ward lookup first: it names each district's region
        with gzip.open(source / name, "rt", encoding="utf-8-sig", newline="") as src, \
                gzip.open(dest / name, "wt", encoding="utf-8", newline="") as out:
            reader, writer_ = csv.reader(src), csv.writer(out)
            header = next(reader)
            writer_.writerow(header)
            lad = header.index("LAD23CD")
            region = header.index("RGN23CD") if "RGN23CD" in header else None
            country = header.index("CTRY23CD") if "CTRY23CD" in header else None
            for row in reader:
                if region is not None and country is not None:
                    keep = row[region] == "E12000006" or row[country] == "S92000003"
                    if keep:
                        wanted_lads.add(row[lad])
                else:
                    keep = row[lad] in wanted_lads
                if keep:
                    writer_.writerow(row)


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download, "_BACKOFF_BASE", 0.0)


@pytest.fixture(scope="module")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("setup")
    LOOKUP_DIR[:] = [folder]
    _cut_lookups(folder)
    path = folder / "lookups.duckdb"
    with writer(path) as con:
        ingest_reference(con, national(), run_id=new_run_id())
    return path


@pytest.fixture
def db(base_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "bedford.duckdb"
    shutil.copy(base_db, path)
    return path


def _features(name: str) -> list[dict]:
    with gzip.open(demo_data_dir() / "geography" / "boundaries" / name) as handle:
        return json.load(handle)["features"]


@pytest.fixture(scope="module")
def payloads() -> dict:
    lsoas = _features(f"lsoa21/{BEDFORD}_Bedford_lsoa21.geojson.gz")
    wards = []
    for feature in _features(f"ward2025/{BEDFORD}_Bedford_wards2025.geojson.gz"):
        # Bedford's wards kept their codes from 2023 to 2025: served as the 2023 layer.
        props = feature["properties"]
        wards.append({**feature, "properties": {"WD23CD": props["WD25CD"],
                                                "WD23NM": props["WD25NM"]}})
    buffer = io.BytesIO()
    with zipfile.ZipFile(demo_data_dir() / "police" / "bedfordshire.zip") as shipped, \
            zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for month in MONTHS:
            name = f"{month}/{month}-bedfordshire-street.csv"
            archive.writestr(name, shipped.read(name))
    rows = ["LSOA Code,LSOA Name,Mid-2022 population"]
    rows += [f"{f['properties']['LSOA21CD']},{f['properties']['LSOA21NM']},{1500 + i}"
             for i, f in enumerate(lsoas)]
    return {"lsoas": lsoas, "wards": wards, "archive": buffer.getvalue(),
            "population": ("\n".join(rows) + "\n").encode()}


@pytest.fixture
def services(payloads: dict) -> Iterator[State]:
    with serve() as state:
        state.archive_months = ["2024-04"]
        state.files["/data/archive/2024-04.zip"] = payloads["archive"]
        state.files[POPULATION_PATH] = payloads["population"]
        state.layers["lsoa"] = Layer("LSOA21CD", payloads["lsoas"], max_page=25)
        state.layers["ward"] = Layer("WD23CD", payloads["wards"], max_page=10)
        yield state


def sources_of(state: State) -> Sources:
    base = state.base_url
    return Sources(police=base, lsoa_boundaries=f"{base}/arcgis/lsoa/FeatureServer/0",
                   ward_boundaries=f"{base}/arcgis/ward/FeatureServer/0",
                   population=f"{base}{POPULATION_PATH}")


class Recorder(Reporter):
    def __init__(self) -> None:
        self.got_items: list[tuple[str, bool]] = []
        self.advanced = 0

    def advance(self, item: str) -> None:
        self.advanced += 1

    def got(self, item: str, fetched: bool) -> None:
        self.got_items.append((item, fetched))


def setup(db: Path, state: State | None, cache: Path, *, areas: list[str] | None = None,
          offline: Path | None = None, reporter: Reporter | None = None):
    sources = sources_of(state) if state else Sources(
        police="http://127.0.0.1:9", lsoa_boundaries="http://127.0.0.1:9/lsoa",
        ward_boundaries="http://127.0.0.1:9/ward", population="http://127.0.0.1:9/p.csv")
    with writer(db) as con:
        return run_setup(con, areas or ["Bedford"], start=MONTHS[0], end=MONTHS[-1],
                         cache=cache, offline=offline, sources=sources, national=national(),
                         reporter=reporter, timeout=5)


def fingerprint(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


# --- the whole thing ---------------------------------------------------------------------------

def test_setup_builds_a_warehouse_for_bedford_and_a_second_run_reuses_everything(
        db: Path, services: State, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    reporter = Recorder()
    result = setup(db, services, cache, reporter=reporter)

    assert [d.code for d in result.districts] == [BEDFORD]
    assert result.forces == ["bedfordshire"]
    assert result.summary[BEDFORD] == {"lsoas": 117, "lsoas_with_boundary": 117, "wards": 28,
                                       "wards_with_boundary": 28, "police_months": 3}
    assert result.loaded == {"boundaries": 2, "population": 1, "police": 3}
    assert not result.warnings
    assert sorted(result.fetched) == sorted([
        "police/2024-04.zip", f"boundaries/{BEDFORD}_lsoa21.geojson",
        f"boundaries/{BEDFORD}_wards2023.geojson", "population/lsoa_population_mid2022.csv"])
    assert reporter.advanced == 4 and all(fetched for _, fetched in reporter.got_items)
    # The LSOA layer was paged: 25 a page, 117 LSOAs asked for in batches of 100 codes.
    lsoa_pages = services.gets("/arcgis/lsoa/")
    assert len(lsoa_pages) == 5
    assert {q.query["resultOffset"][0] for q in lsoa_pages} == {"0", "25", "50", "75"}

    con = connect(db, read_only=True)
    # What an assessment reads: LSOAs and wards with shapes, population, police months.
    assert con.execute(
        """SELECT count(*) FROM lsoa_geography g JOIN area_geometry a
           ON a.code = g.lsoa_code AND a.vintage = g.lsoa_vintage
           WHERE g.lad_code = ? AND g.lsoa_vintage = '2021'""", [BEDFORD]).fetchone() == (117,)
    assert con.execute(
        """SELECT count(*), sum(persons) FROM population WHERE year = 2022 AND vintage = '2021'
           AND code IN (SELECT lsoa_code FROM lsoa_geography WHERE lad_code = ?)""",
        [BEDFORD]).fetchone() == (117, sum(1500 + i for i in range(117)))
    months = con.execute("SELECT DISTINCT strftime(month, '%Y-%m') FROM events "
                         "WHERE force = 'bedfordshire' ORDER BY 1").fetchall()
    assert [m for (m,) in months] == list(MONTHS)
    # Every downloaded file is in the ingest log with its URL and checksum.
    logged = con.execute("SELECT kind, file, sha256, source_url FROM ingests "
                         "WHERE source_url IS NOT NULL ORDER BY file").fetchall()
    base = services.base_url
    by_name = {Path(file).name: (kind, sha, url) for kind, file, sha, url in logged}
    assert by_name[f"{BEDFORD}_lsoa21.geojson"][2] == f"{base}/arcgis/lsoa/FeatureServer/0"
    assert by_name[f"{BEDFORD}_wards2023.geojson"][2] == f"{base}/arcgis/ward/FeatureServer/0"
    assert by_name["lsoa_population_mid2022.csv"][2] == f"{base}{POPULATION_PATH}"
    for month in MONTHS:
        assert by_name[f"{month}-bedfordshire-street.csv"][2] == f"{base}/data/archive/2024-04.zip"
    for _, file, sha, _ in logged:
        assert sha == hashlib.sha256(Path(file).read_bytes()).hexdigest(), file
    assert len(logged) == 6
    con.close()

    # Again: every file is reused from the cache, nothing is asked of any server.
    before = len(services.requests)
    reporter = Recorder()
    again = setup(db, services, cache, reporter=reporter)
    assert services.requests[before:] == []
    assert again.fetched == [] and len(again.reused) == 4
    assert not any(fetched for _, fetched in reporter.got_items)
    assert again.summary == result.summary
    con = connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM ingests WHERE source_url IS NOT NULL"
                       ).fetchone() == (6,)   # the same bytes are not loaded twice
    con.close()


def test_dropped_connections_are_retried_and_resumed(db: Path, services: State,
                                                    tmp_path: Path) -> None:
    services.drop = {"/data/archive/2024-04.zip": 5000, POPULATION_PATH: 700,
                     "/arcgis/lsoa/": 300}
    result = setup(db, services, tmp_path / "cache")
    assert result.summary[BEDFORD]["lsoas_with_boundary"] == 117
    assert result.summary[BEDFORD]["police_months"] == 3
    population = services.gets(POPULATION_PATH)
    assert [r.range for r in population] == [None, "bytes=700-"]
    assert [r.range for r in services.gets("/data/archive/2024-04.zip")] == [None,
                                                                             "bytes=5000-"]
    cached = tmp_path / "cache" / "population" / "lsoa_population_mid2022.csv"
    assert cached.read_bytes() == services.files[POPULATION_PATH]


def test_a_broken_run_changes_nothing_and_the_next_resumes_the_download(
        db: Path, services: State, tmp_path: Path) -> None:
    before = fingerprint(db)
    cache = tmp_path / "cache"
    # The population download breaks after 700 bytes and the server then stays down.
    services.drop = {POPULATION_PATH: 700}
    services.down_after_drop = {POPULATION_PATH}
    with pytest.raises(CspkitError, match="failed after 5 attempts.*700 bytes kept"):
        setup(db, services, cache)
    assert fingerprint(db) == before
    part = cache / "population" / "lsoa_population_mid2022.csv.part"
    assert part.stat().st_size == 700

    services.down.clear()
    result = setup(db, services, cache)
    assert services.gets(POPULATION_PATH)[-1].range == "bytes=700-"
    # What the first run got is reused rather than fetched again.
    assert "police/2024-04.zip" in result.reused
    assert f"boundaries/{BEDFORD}_lsoa21.geojson" in result.reused
    assert "population/lsoa_population_mid2022.csv" in result.fetched
    assert len(services.gets("/data/archive/2024-04.zip")) == 1
    assert (cache / "population" / "lsoa_population_mid2022.csv").read_bytes() == \
        services.files[POPULATION_PATH]


def test_an_arcgis_error_is_one_clear_error_and_changes_nothing(db: Path, services: State,
                                                               tmp_path: Path) -> None:
    before = fingerprint(db)
    services.arcgis_error = 1
    with pytest.raises(CspkitError) as caught:
        setup(db, services, tmp_path / "cache")
    message = str(caught.value)
    assert "refused the query: error 400: Cannot perform query" in message
    assert "'where' parameter is invalid" in message and "\n" not in message
    assert fingerprint(db) == before


def test_an_http_error_is_a_cspkit_error(db: Path, services: State, tmp_path: Path) -> None:
    del services.files[POPULATION_PATH]
    before = fingerprint(db)
    with pytest.raises(CspkitError, match=r"lsoa_population_mid2022.csv: HTTP 404"):
        setup(db, services, tmp_path / "cache")
    assert fingerprint(db) == before


# --- offline -----------------------------------------------------------------------------------

def test_offline_lists_each_missing_file_with_its_url_and_writes_nothing(
        db: Path, payloads: dict, tmp_path: Path) -> None:
    folder = tmp_path / "by-hand"
    (folder / "police").mkdir(parents=True)
    (folder / "police" / "2024-04.zip").write_bytes(payloads["archive"])
    before = fingerprint(db)
    cache = tmp_path / "cache"
    with pytest.raises(SetupError) as caught:
        setup(db, None, cache, offline=folder)
    message = str(caught.value)
    assert "3 of 4 files missing, nothing was loaded" in message
    assert f"boundaries/{BEDFORD}_lsoa21.geojson" in message
    assert f"boundaries/{BEDFORD}_wards2023.geojson" in message
    assert "population/p.csv" in message and "http://127.0.0.1:9/p.csv" in message
    assert "http://127.0.0.1:9/lsoa" in message
    assert "police/2024-04.zip" not in message
    assert fingerprint(db) == before and not cache.exists()


def test_offline_from_a_folder_laid_out_as_the_cache(db: Path, services: State,
                                                     tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    setup(db, services, cache)
    folder = tmp_path / "copied"
    # Only the downloads themselves: no manifests, no extracted months.
    shutil.copytree(cache, folder, ignore=lambda _, names: [
        n for n in names if n.endswith(".json") or re.fullmatch(r"\d{4}-\d{2}", n)])
    other = tmp_path / "other.duckdb"
    requests = len(services.requests)
    result = setup(other, services, tmp_path / "cache2", offline=folder)
    assert len(services.requests) == requests
    assert result.summary[BEDFORD]["wards_with_boundary"] == 28
    assert result.summary[BEDFORD]["police_months"] == 3


# --- areas -------------------------------------------------------------------------------------

def test_areas_by_county_force_and_code(base_db: Path) -> None:
    from cspkit.setup import resolve_districts

    con = connect(base_db, read_only=True)
    cambs = resolve_districts(con, ["Cambridgeshire"])
    assert {d.name for d in cambs} == {"Cambridge", "East Cambridgeshire", "Fenland",
                                       "Huntingdonshire", "South Cambridgeshire"}
    assert {d.force for d in cambs} == {"cambridgeshire"}
    beds = resolve_districts(con, ["Bedfordshire Police"])
    assert [d.code for d in beds] == ["E06000032", BEDFORD, "E06000056"]
    both = resolve_districts(con, [BEDFORD, "bedford", "Luton"])
    assert [d.code for d in both] == ["E06000032", BEDFORD]
    region = resolve_districts(con, ["East of England"])
    assert len(region) == 45 and {d.force for d in region} == {
        "bedfordshire", "cambridgeshire", "essex", "hertfordshire", "norfolk", "suffolk"}
    with pytest.raises(AreaNotFound, match="no area called 'Bedfrod'.*Bedford"):
        resolve_districts(con, ["Bedfrod"])
    with pytest.raises(SetupError, match="'Scotland'.*has no districts with 2021 LSOAs"):
        resolve_districts(con, ["Scotland"])
    con.close()


def test_no_area_and_bad_months_are_errors(db: Path, tmp_path: Path) -> None:
    with writer(db) as con, pytest.raises(SetupError, match="no area given"):
        run_setup(con, [], cache=tmp_path, national=[])
    with writer(db) as con, pytest.raises(SetupError, match="--to '2024-13'"):
        run_setup(con, ["Bedford"], start="2024-01", end="2024-13", cache=tmp_path,
                  national=[])
    with writer(db) as con, pytest.raises(SetupError, match="--from 2024-05 is after"):
        run_setup(con, ["Bedford"], start="2024-05", end="2024-04", cache=tmp_path,
                  national=[])


def test_the_national_tables_are_one_list_shared_with_the_demo() -> None:
    national = national_reference_paths()
    assert set(national) < set(reference_paths())
    names = " ".join(national)
    assert "boundaries" not in names and "police" not in names and "partner" not in names
    assert all(Path(p).is_dir() for p in national)


def test_default_cache_is_beside_the_warehouse() -> None:
    assert default_cache(Path("data/newcastle.duckdb")) == Path("data/newcastle-downloads")


# --- the command -------------------------------------------------------------------------------

def test_the_command_prints_what_it_fetched_and_status_shows_the_sources(
        db: Path, services: State, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import cspkit.demo
    from tests.test_cli import run_main

    monkeypatch.setattr(cspkit.demo, "national_reference_paths", national)
    sources = sources_of(services)
    for name, var in (("police", "CSPKIT_POLICE_URL"),
                      ("lsoa_boundaries", "CSPKIT_LSOA_BOUNDARIES_URL"),
                      ("ward_boundaries", "CSPKIT_WARD_BOUNDARIES_URL"),
                      ("population", "CSPKIT_POPULATION_URL")):
        monkeypatch.setenv(var, getattr(sources, name))
    monkeypatch.setenv("COLUMNS", "250")
    args = ["setup", "--area", "Bedford", "--from", "2024-03", "--to", "2024-04",
            "--db", str(db)]
    code, err = run_main(args, monkeypatch, capsys)
    assert code == 0, err
    assert f"fetched  boundaries/{BEDFORD}_lsoa21.geojson (117 LSOAs)" in err
    assert "fetched  police/2024-04.zip (bedfordshire, 2024-03..2024-04)" in err
    assert default_cache(db).is_dir()   # the cache beside the warehouse
    code, err = run_main(args, monkeypatch, capsys)
    assert code == 0 and "reused  population/lsoa_population_mid2022.csv" in err
    assert "fetched " not in err
    code, _ = run_main(["status", "--db", str(db)], monkeypatch, capsys)
    assert code == 0
    code, err = run_main(["setup", "--area", "Bedfrod", "--db", str(db), "--to", "2024-04"],
                         monkeypatch, capsys)
    # one line, after the progress bar of the national tables
    assert code == 2 and err.splitlines()[-1] == ("error: no area called 'Bedfrod'. "
                                                  "Did you mean: Bedford?")


def test_status_shows_where_each_file_came_from(db: Path, services: State, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cspkit.cli import app

    setup(db, services, tmp_path / "cache")
    result = CliRunner().invoke(app, ["status", "--db", str(db)], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert "downloaded from" in result.output
    assert f"{services.base_url}/data/archive/2024-04.zip" in result.output
    assert f"{services.base_url}{POPULATION_PATH}" in result.output


def test_sources_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from cspkit.sources import arcgis

    default = Sources()
    assert default.population.endswith("/sapelsoasyoa20222024.xlsx")
    assert default.wards_service("2023") == arcgis.WARD_SERVICES["2023"]
    with pytest.raises(SetupError, match="no ward boundary service.*CSPKIT_WARD_BOUNDARIES_URL"):
        default.wards_service("2019")
    monkeypatch.setenv("CSPKIT_POLICE_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("CSPKIT_WARD_BOUNDARIES_URL", "http://127.0.0.1:2/w")
    configured = Sources.from_env(population="http://127.0.0.1:3/p.xlsx")
    assert configured.police == "http://127.0.0.1:1"
    assert configured.wards_service("2019") == "http://127.0.0.1:2/w"
    assert configured.population == "http://127.0.0.1:3/p.xlsx"
    assert configured.lsoa_boundaries == arcgis.LSOA21_SERVICE


def test_a_population_file_of_a_layout_not_yet_read_is_reported_not_fatal(
        db: Path, services: State, tmp_path: Path) -> None:
    services.files[POPULATION_PATH] = b"Some,Other,Columns\n1,2,3\n"
    result = setup(db, services, tmp_path / "cache")
    assert result.loaded["population"] == 0
    assert [w for w in result.warnings if w.startswith("population not loaded:")]
    assert result.summary[BEDFORD]["lsoas_with_boundary"] == 117
