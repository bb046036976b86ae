"""`cspkit setup`: a ready warehouse for any district, county, force or region, from nothing.

Steps, all inside the caller's writer (one snapshot: a failure anywhere leaves the warehouse
as it was):

1. Load the national reference tables shipped with cspkit (`demo.national_reference_paths`:
   lookups, centroids, deprivation, population); files loaded before are recognised by their
   bytes and skipped.
2. Resolve each area to its districts, and each district to its 2021 LSOAs, its wards and the
   police force that covers it (`police_forces.force_of_district`).
3. Get the files the area needs, each cached under the cache folder with its URL and sha256
   (see `cspkit.sources.download`): the data.police.uk archive(s) of its force(s), the LSOA
   (2021) and ward boundaries of each district from the ONS Open Geography Portal, and the ONS
   mid-year LSOA population estimates. A file already downloaded and intact is reused; a
   partial one is resumed.
4. Ingest them, logging each file's source URL beside its sha256.

With ``offline`` the same files are taken from a folder filled by hand, laid out as the cache
is (`FILE_LAYOUT`); if any is missing, setup stops before loading anything with the list of
files and the official URL of each.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from cspkit.errors import AreaNotFound, CspkitError
from cspkit.police_forces import FORCES, force_id_from_name, force_name, force_of_district
from cspkit.sources import arcgis, police_fetch
from cspkit.sources.download import (
    Cached,
    cached,
    download,
    read_json,
    record,
    sha256_file,
    write_json,
)
from cspkit.store.areas import (
    Area,
    district_parents,
    districts_within,
    lsoas_in_districts,
    resolve_area,
    setup_summary,
    wards_in_districts,
)
from cspkit.store.ingest_log import new_run_id

# The latest ONS small-area population estimates on 2021 LSOAs (mid-2022 revised to mid-2024,
# single year of age, published November 2025).
POPULATION_URL = (
    "https://www.ons.gov.uk/file?uri=/peoplepopulationandcommunity/populationandmigration/"
    "populationestimates/datasets/lowersuperoutputareamidyearpopulationestimates/"
    "mid2022revisednov2025tomid2024/sapelsoasyoa20222024.xlsx")

# Where each kind of file comes from; each overridable by an environment variable (mirrors,
# tests) or by the caller.
ENV = {"police": "CSPKIT_POLICE_URL", "lsoa_boundaries": "CSPKIT_LSOA_BOUNDARIES_URL",
       "ward_boundaries": "CSPKIT_WARD_BOUNDARIES_URL", "population": "CSPKIT_POPULATION_URL"}

# Files under the cache (or --offline) folder, for the documentation and error messages.
FILE_LAYOUT = """\
police/YYYY-MM.zip                   data.police.uk monthly archive(s) (36 months each, ending
                                     at YYYY-MM; the cache keeps them in police/.archives/)
boundaries/<DISTRICT>_lsoa21.geojson LSOA (2021) boundaries of the district (GeoJSON)
boundaries/<DISTRICT>_wards<YYYY>.geojson ward boundaries of the district (GeoJSON)
population/<file name>               ONS mid-year LSOA population estimates workbook"""

ARCHIVE_MONTHS = police_fetch.ARCHIVE_MONTHS


class SetupError(CspkitError):
    """Setup cannot go on: the message says why and what to do."""


@dataclass(frozen=True)
class Sources:
    police: str = police_fetch.DEFAULT_BASE_URL
    lsoa_boundaries: str = arcgis.LSOA21_SERVICE
    ward_boundaries: str | None = None   # default: the service of the lookup's ward edition
    population: str = POPULATION_URL

    def wards_service(self, vintage: str) -> str:
        """The ward boundary layer for wards of `vintage` (the edition the lookup links to)."""
        if self.ward_boundaries:
            return self.ward_boundaries
        service = arcgis.WARD_SERVICES.get(vintage)
        if service is None:
            raise SetupError(f"no ward boundary service is known for {vintage} wards; set "
                             f"{ENV['ward_boundaries']} to the ONS Open Geography Portal "
                             f"feature layer of Wards (December {vintage}) boundaries")
        return service

    @classmethod
    def from_env(cls, **overrides: str | None) -> Sources:
        """The defaults, then environment variables (`ENV`), then `overrides` that are set."""
        values = {name: os.environ.get(var) or getattr(cls, name) for name, var in ENV.items()}
        values.update({k: v for k, v in overrides.items() if v})
        return cls(**values)


@dataclass
class District:
    code: str
    name: str
    force: str
    lsoas: list[tuple[str, str]]
    wards: list[tuple[str, str, str]]   # (code, name, vintage)


@dataclass
class Wanted:
    """One file setup needs."""
    name: str      # path under the cache / offline folder
    url: str       # where it officially comes from
    what: str      # words for messages


@dataclass
class SetupResult:
    districts: list[District]
    start: str
    end: str
    fetched: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    loaded: dict[str, int] = field(default_factory=dict)   # kind -> files newly loaded
    summary: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def forces(self) -> list[str]:
        return sorted({d.force for d in self.districts})


class Reporter:
    """What setup tells its caller as it goes (the CLI draws progress bars); does nothing by
    default."""

    def phase(self, text: str, total: int | None = None) -> None:
        """A new phase of `total` counted items begins."""

    def advance(self, item: str) -> None:
        """One item of the phase is done."""

    def transfer(self, label: str, done: int, total: int | None) -> None:
        """Bytes of the download under way."""

    def file(self, name: str, index: int, total: int) -> None:
        """The ingest reached file `index` of `total`."""

    def got(self, item: str, fetched: bool) -> None:
        """A download was fetched (or an earlier one reused)."""


def default_cache(db: Path) -> Path:
    """The cache beside the warehouse: ``newcastle.duckdb`` -> ``newcastle-downloads/``."""
    return db.with_name(f"{db.stem}-downloads")


def run_setup(con: duckdb.DuckDBPyConnection, areas: list[str], *, start: str | None = None,
              end: str | None = None, cache: Path, offline: Path | None = None,
              sources: Sources | None = None, national: list[str] | None = None,
              reporter: Reporter | None = None, timeout: float = 60.0) -> SetupResult:
    """Build the warehouse behind `con` (a writer connection) for `areas`. Raises a
    CspkitError (nothing is kept: the caller's writer discards its copy)."""
    from cspkit.demo import national_reference_paths
    from cspkit.ingest import ingest_police, ingest_reference

    if not areas:
        raise SetupError("no area given: name at least one with --area (e.g. --area Bedford)")
    sources = sources or Sources.from_env()
    reporter = reporter or Reporter()
    cache = Path(cache)
    if offline is not None and not Path(offline).is_dir():
        raise SetupError(f"--offline {offline}: no such folder")

    reporter.phase("national reference tables")
    national = national_reference_paths() if national is None else national
    if national:
        ingest_reference(con, national, run_id=new_run_id(), on_file=reporter.file)

    districts = resolve_districts(con, areas)
    start, end = _months(start, end, offline, sources, timeout)
    result = SetupResult(districts, start, end)
    wanted = wanted_files(districts, start, end, sources)
    if offline is not None:
        missing = [w for w in wanted if _offline_file(Path(offline), w) is None]
        if missing:
            lines = "; ".join(f"{w.name} ({w.what}) from {w.url}" for w in missing)
            raise SetupError(f"--offline {offline}: {len(missing)} of {len(wanted)} files "
                             f"missing, nothing was loaded: {lines}")

    reporter.phase("downloads" if offline is None else "files", total=len(wanted))
    police_files: dict[str, str] = {}
    reference_files: dict[str, str] = {}
    for force in result.forces:
        police_files.update(_police(force, start, end, cache, offline, sources, reporter,
                                    result, timeout))
    for district in districts:
        for kind in ("lsoa", "ward"):
            got = _boundaries(district, kind, cache, offline, sources, reporter, result,
                              timeout)
            if got:
                reference_files[str(got.path)] = got.url
    population = _population(cache, offline, sources, reporter, result, timeout)

    reporter.phase("loading")
    if reference_files:
        report = ingest_reference(con, list(reference_files), run_id=new_run_id(),
                                  on_file=reporter.file, source_urls=reference_files)
        result.loaded["boundaries"] = len(report.records)
    # Population on its own, skipping a workbook this version cannot read (its layout is
    # new): everything else is still worth having, and the user is told.
    report = ingest_reference(con, [str(population.path)], run_id=new_run_id(),
                              on_file=reporter.file, skip_unknown=True,
                              source_urls={str(population.path): population.url})
    result.loaded["population"] = len(report.records)
    for skipped in report.skipped:
        result.warnings.append(f"population not loaded: {skipped.file} is not a layout this "
                               f"cspkit reads ({skipped.note})")
    if police_files:
        report = ingest_police(con, sorted(police_files), run_id=new_run_id(),
                               on_file=reporter.file, source_urls=police_files)
        result.loaded["police"] = len(report.records)
        result.warnings.extend(report.conflicts)
    result.summary = setup_summary(con, [d.code for d in districts])
    return result


# --- what the areas are ------------------------------------------------------------------------

def resolve_districts(con: duckdb.DuckDBPyConnection, areas: list[str]) -> list[District]:
    """Each named area's districts, with their LSOAs (2021), wards and force."""
    parents = district_parents(con)
    chosen: dict[str, Area] = {}
    for query in areas:
        for district in _districts_of(con, query, parents):
            chosen.setdefault(district.code, district)
    codes = sorted(chosen)
    lsoas = lsoas_in_districts(con, codes)
    wards = wards_in_districts(con, codes)
    parents = district_parents(con, codes)
    found = []
    for code in codes:
        area = chosen[code]
        if not lsoas[code]:
            raise SetupError(f"{area.name} ({code}) has no 2021 LSOAs in the lookups held "
                             "(a district abolished before 2021? name its successor)")
        info = parents.get(code, {})
        force = force_of_district(code, info.get("county"), info.get("region"))
        if force is None:
            raise SetupError(f"no police force is known for {area.name} ({code}); "
                             "cspkit setup covers districts of England and Wales")
        found.append(District(code, area.name, force, lsoas[code], wards[code]))
    return found


def _districts_of(con: duckdb.DuckDBPyConnection, query: str,
                  parents: dict[str, dict[str, str]]) -> list[Area]:
    try:
        area = resolve_area(con, query, levels=["lad", "county", "force", "region", "country"])
    except AreaNotFound:
        # Before any police data the warehouse holds no force areas: a force by id or name.
        force = force_id_from_name(query) or (query.strip().lower()
                                              if query.strip().lower() in FORCES else None)
        if force is None:
            raise
        area = Area(force, force_name(force), "force")
    if area.level == "force":
        found = [Area(code, info["name"], "lad") for code, info in sorted(parents.items())
                 if force_of_district(code, info.get("county"), info.get("region")) == area.code]
    else:
        found = [d for d in districts_within(con, area) if d.code in parents]
    if not found:
        raise SetupError(f"'{query}' ({area.level} {area.code}) has no districts with 2021 "
                         "LSOAs in the lookups held; name a district, county, force or region")
    return found


def _months(start: str | None, end: str | None, offline: Path | None, sources: Sources,
            timeout: float) -> tuple[str, str]:
    """--from/--to, defaulting to the newest published archive and the 36 months it holds."""
    if end is None:
        if offline is not None:
            names = sorted(p.name for p in _police_dirs(Path(offline))
                           if re.fullmatch(r"\d{4}-\d{2}\.zip", p.name))
            end = names[-1][:7] if names else None
            if end is None:
                raise SetupError(f"--offline {offline}: no data.police.uk archive in "
                                 f"{Path(offline) / 'police'} to take the months from; give "
                                 "--to YYYY-MM (and --from)")
        else:
            end = police_fetch.newest_archive(sources.police, timeout)
            if end is None:
                raise SetupError(f"cannot read the list of archives at {sources.police}; "
                                 "give --to YYYY-MM (and --from)")
    last = _index(end, "--to")
    first = _index(start, "--from") if start else last - ARCHIVE_MONTHS + 1
    if first > last:
        raise SetupError(f"--from {start} is after --to {end}")
    return _text(first), _text(last)


def _index(text: str, what: str) -> int:
    match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
    if not match or not 1 <= int(match[2]) <= 12:
        raise SetupError(f"{what} '{text}' is not a month in the form YYYY-MM (e.g. 2024-03)")
    return int(match[1]) * 12 + int(match[2]) - 1


def _text(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


# --- which files -------------------------------------------------------------------------------

def wanted_files(districts: list[District], start: str, end: str,
                 sources: Sources) -> list[Wanted]:
    """Every file the districts need, named as in the cache / offline folder."""
    wanted: list[Wanted] = []
    for name, url in police_fetch.archives_for(start, end, sources.police):
        wanted.append(Wanted(f"police/{name}", url, "data.police.uk archive"))
    for d in districts:
        wanted.append(Wanted(_boundary_name(d, "lsoa"), sources.lsoa_boundaries,
                             f"LSOA (2021) boundaries of {d.name}, ArcGIS query by LSOA21CD"))
        if d.wards:
            wanted.append(Wanted(_boundary_name(d, "ward"), sources.wards_service(d.wards[0][2]),
                                 f"ward boundaries of {d.name}, ArcGIS query by ward code"))
    wanted.append(Wanted(_population_name(sources), sources.population,
                         "ONS mid-year LSOA population estimates"))
    return wanted


def _boundary_name(district: District, kind: str) -> str:
    if kind == "lsoa":
        return f"boundaries/{district.code}_lsoa21.geojson"
    return f"boundaries/{district.code}_wards{district.wards[0][2]}.geojson"


def _population_name(sources: Sources) -> str:
    from cspkit.sources.download import file_name_of

    return f"population/{file_name_of(sources.population)}"


def _police_dirs(root: Path) -> list[Path]:
    return [p for folder in (root / "police", root / "police" / ".archives")
            if folder.is_dir() for p in folder.iterdir()]


def _offline_file(root: Path, wanted: Wanted) -> Path | None:
    candidates = [root / wanted.name]
    if wanted.name.startswith("police/"):   # a copied cache keeps archives in .archives/
        candidates.append(root / "police" / ".archives" / wanted.name.split("/", 1)[1])
    return next((p for p in candidates if p.is_file()), None)


# --- getting them ------------------------------------------------------------------------------

def _police(force: str, start: str, end: str, cache: Path, offline: Path | None,
            sources: Sources, reporter: Reporter, result: SetupResult,
            timeout: float) -> dict[str, str]:
    """The force's street CSVs for the months: path -> the archive URL it came from."""
    dest = cache / "police"
    manifest = dest / f"{force}_{start}_{end}.source.json"
    archives = police_fetch.archives_for(start, end, sources.police)
    held = _held_police(manifest)
    if held is not None:
        for name, _ in archives:
            reporter.advance(f"police/{name}")
            reporter.got(f"police/{name} ({force}, {start}..{end})", fetched=False)
        result.reused.extend(f"police/{name}" for name, _ in archives)
        return held
    if offline is not None:
        files: dict[str, str] = {}
        missing: list[str] = []
        for name, url in archives:
            path = _offline_file(Path(offline), Wanted(f"police/{name}", url, ""))
            assert path is not None  # checked before
            got = police_fetch.extract_police(path, force, start, end, dest, url=url)
            files.update(got.sources)
            missing += got.missing
            reporter.advance(f"police/{name}")
            reporter.got(f"police/{name} ({force}, {start}..{end})", fetched=False)
            result.reused.append(f"police/{name}")
    else:
        before = {name for name, _ in archives if (dest / ".archives" / name).exists()}
        got = police_fetch.fetch_police(force, start, end, dest, base_url=sources.police,
                                        progress=reporter.transfer, timeout=timeout)
        files, missing = got.sources, got.missing
        for name, _ in archives:
            reporter.advance(f"police/{name}")
            reporter.got(f"police/{name} ({force}, {start}..{end})",
                         fetched=name not in before)
            (result.reused if name in before else result.fetched).append(f"police/{name}")
    if missing:
        result.warnings.append(f"{force}: not in the data.police.uk archive: "
                               f"{', '.join(missing)}")
    if not files:
        raise SetupError(f"the data.police.uk archive holds no {force} street files for "
                         f"{start}..{end}")
    write_json(manifest, {"files": {p: sha256_file(Path(p)) for p in files},
                           "sources": files})
    return files


def _held_police(manifest: Path) -> dict[str, str] | None:
    """The CSVs an earlier run extracted, if every one is still there with the same bytes."""
    meta = read_json(manifest)
    files, sources = meta.get("files"), meta.get("sources")
    if not isinstance(files, dict) or not isinstance(sources, dict) or not files:
        return None
    for path, sha in files.items():
        if not Path(path).is_file() or sha256_file(Path(path)) != sha:
            return None
    return {str(k): str(v) for k, v in sources.items()}


def _boundaries(district: District, kind: str, cache: Path, offline: Path | None,
                sources: Sources, reporter: Reporter, result: SetupResult,
                timeout: float) -> Cached | None:
    if kind == "ward" and not district.wards:
        return None
    name = _boundary_name(district, kind)
    service = (sources.lsoa_boundaries if kind == "lsoa"
               else sources.wards_service(district.wards[0][2]))
    if kind == "lsoa":
        codes = [c for c, _ in district.lsoas]
        field_name, fields = "LSOA21CD", ["LSOA21CD", "LSOA21NM"]
    else:
        yy = district.wards[0][2][-2:]
        codes = [c for c, _, _ in district.wards]
        field_name, fields = f"WD{yy}CD", [f"WD{yy}CD", f"WD{yy}NM"]
    label = f"{name} ({len(codes)} {'LSOAs' if kind == 'lsoa' else 'wards'})"
    if offline is not None:
        path = _offline_file(Path(offline), Wanted(name, service, ""))
        assert path is not None
        got = Cached(path, service, sha256_file(path), path.stat().st_size, fetched=False)
    else:
        # The key pins what was asked for: a lookup that changes the district's LSOAs
        # changes the key, and the boundaries are fetched afresh.
        key = hashlib.sha256(",".join(sorted(codes)).encode()).hexdigest()[:16]
        path = cache / name
        got = cached(path, service, key)
        if got is None:
            received = [0]

            def on_page(count: int) -> None:
                received[0] += count
                reporter.transfer(name, received[0], len(codes))

            features = arcgis.features_by_code(service, field_name, codes, fields,
                                               timeout=timeout, on_page=on_page)
            absent = sorted(set(codes) - arcgis.codes_of(features, field_name))
            if absent:
                result.warnings.append(f"{name}: {len(absent)} of {len(codes)} areas have no "
                                       f"boundary in {service}: {', '.join(absent[:10])}")
            if not features:
                raise SetupError(f"{service} returned no boundaries for {district.name}")
            arcgis.write_collection(features, path)
            got = record(path, service, key)
    reporter.advance(name)
    reporter.got(label, got.fetched)
    (result.fetched if got.fetched else result.reused).append(name)
    return got


def _population(cache: Path, offline: Path | None, sources: Sources, reporter: Reporter,
                result: SetupResult, timeout: float) -> Cached:
    name = _population_name(sources)
    if offline is not None:
        path = _offline_file(Path(offline), Wanted(name, sources.population, ""))
        assert path is not None
        got = Cached(path, sources.population, sha256_file(path), path.stat().st_size, False)
    else:
        got = download(sources.population, cache / name, progress=reporter.transfer,
                       timeout=timeout)
    reporter.advance(name)
    reporter.got(name, got.fetched)
    (result.fetched if got.fetched else result.reused).append(name)
    return got

