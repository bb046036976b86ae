"""Property-based tests of the ingest: malformed police, partner and reference files, generated
by Hypothesis, each loaded into a fresh warehouse. For every file, whatever its bytes:

(a) nothing but a CspkitError ever escapes;
(b) an ingest that succeeds balances, per file and in total (rows in = loaded + quarantined),
    and the warehouse's log, quarantine and row tables agree with its report;
(c) an ingest that is refused leaves the warehouse file byte for byte as it was, and it still
    opens.

Police files are also checked against what the generator knows: the number of rows in (where
the text leaves no doubt), refusal of bytes that are not UTF-8 and of lines longer than the
field limit, and counts that a blank line does not change.

Examples are few per test so that the file runs in about a minute; under CI the examples are
derandomized (the same every run). The number of ingests run is printed at the end of the
session. Bugs they found are kept as plain regression tests at the end.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cspkit.errors import CspkitError
from cspkit.ingest import IngestReport, ingest_partner, ingest_police, ingest_reference
from cspkit.sources.police import OUTCOMES, STOP_SEARCH, STREET
from cspkit.store import connect, transaction
from tests.sources.partner.conftest import (
    BEDFORD,
    FIRE_HEADER,
    LOOKUP_HEADER,
    LOOKUP_ROWS,
    LUTON,
    SAFE_HEADER,
    write_csv,
)

settings.register_profile(
    "cspkit", deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large, HealthCheck.filter_too_much])
settings.register_profile("cspkit-ci", parent=settings.get_profile("cspkit"), derandomize=True)
settings.load_profile("cspkit-ci" if os.environ.get("CI") or
                      os.environ.get("CSPKIT_REQUIRE_SYSTEM_DEPS") else "cspkit")

# Ingests of generated files run, by loader (printed by tests/ingest/conftest.py).
EXAMPLES: dict[str, int] = {}

APPEND_TABLES = ("events", "indicators", "police_outcomes", "stop_search")
# Messages of known, not yet fixed bugs (each pinned by a strict xfail test at the end of this
# file) that the properties should not report again; none at present.
KNOWN_BUGS: tuple[str, ...] = ()


# --- fresh warehouses, cheaply ----------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A small warehouse built once; each example loads into a copy of it."""

    path: Path
    sha: str
    ingests: int     # the highest ingest id it holds


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _template(path: Path, build: Callable[[duckdb.DuckDBPyConnection], None]) -> Template:
    con = connect(path)
    try:
        build(con)
        top = con.execute("SELECT coalesce(max(ingest_id), 0) FROM ingests").fetchone()
    finally:
        con.close()
    return Template(path, sha256(path), int(top[0]) if top else 0)


@dataclass(frozen=True)
class Templates:
    empty: Template
    geography: Template     # four 2021 LSOAs in Luton and Bedford, their wards and districts
    scratch: Path


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Templates:
    root = tmp_path_factory.mktemp("properties")
    lookup = write_csv(root / "lookup" / "LSOA21_WD23_LAD23_lookup.csv", LOOKUP_HEADER,
                       LOOKUP_ROWS)

    def geography(con: duckdb.DuckDBPyConnection) -> None:
        with transaction(con):
            ingest_reference(con, [str(lookup)], run_id="geo")

    scratch = root / "examples"
    scratch.mkdir()
    return Templates(_template(root / "empty.duckdb", lambda con: None),
                     _template(root / "geography.duckdb", geography), scratch)


@dataclass
class Outcome:
    report: IngestReport | None
    error: CspkitError | None


Loader = Callable[[duckdb.DuckDBPyConnection, list[str]], IngestReport]


def attempt(templates: Templates, template: Template, files: Sequence[tuple[str, bytes]],
            loader: Loader, *, appends: bool = True) -> tuple[Outcome, list[str]]:
    """Write `files` (relative name, bytes), load them in one transaction into a copy of
    `template` and check properties (a) to (c). Returns the outcome and the paths given."""
    EXAMPLES[loader.__name__] = EXAMPLES.get(loader.__name__, 0) + 1
    workdir = Path(tempfile.mkdtemp(dir=templates.scratch))
    try:
        paths = []
        for index, (name, data) in enumerate(files):
            path = workdir / f"in{index}" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            paths.append(str(path))
        db = workdir / "w.duckdb"
        shutil.copyfile(template.path, db)
        # The template is at the current schema: opening it directly skips the migration
        # check, which would otherwise be a sixth of each example's time.
        con = duckdb.connect(str(db))
        outcome = Outcome(None, None)
        try:
            with transaction(con):
                outcome.report = loader(con, paths)
            # (a): any other exception fails the test here, with its traceback.
        except CspkitError as exc:
            outcome.error = exc
        except Exception as exc:
            # A bug already pinned by an xfail regression test below is not found again.
            assume(not any(known in str(exc) for known in KNOWN_BUGS))
            raise
        else:
            agrees(con, outcome.report, template, len(files), appends)
        finally:
            con.close()
        if outcome.error is not None:
            # (c) byte for byte as it was, and it still opens.
            assert sha256(db) == template.sha, f"refused ({outcome.error}) but changed"
            connect(db, read_only=True).close()
        return outcome, paths
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def agrees(con: duckdb.DuckDBPyConnection, report: IngestReport, template: Template,
           files: int, appends: bool) -> None:
    """(b): every file balances, the total balances, and the warehouse says the same."""
    assert len(report.files) == files
    for r in report.records:
        assert r.rows_in == r.rows_loaded + r.rows_quarantined, r
        assert min(r.rows_in, r.rows_loaded, r.rows_quarantined) >= 0, r
    for r in report.unchanged:
        assert (r.rows_in, r.rows_loaded, r.rows_quarantined) == (0, 0, 0), r
    assert report.rows_in == report.rows_loaded + report.rows_quarantined
    new = template.ingests
    logged = {i: (s, n, ok, bad) for i, s, n, ok, bad in con.execute(
        "SELECT ingest_id, status, rows_in, rows_loaded, rows_quarantined FROM ingests "
        "WHERE ingest_id > ?", [new]).fetchall()}
    assert logged == {r.ingest_id: (r.status, r.rows_in, r.rows_loaded, r.rows_quarantined)
                      for r in report.records}
    held = dict(con.execute("SELECT ingest_id, count(*) FROM quarantine WHERE ingest_id > ? "
                            "GROUP BY 1", [new]).fetchall())
    assert held == {r.ingest_id: r.rows_quarantined for r in report.records
                    if r.rows_quarantined}
    assert con.execute("SELECT count(*) FROM quarantine WHERE ingest_id <= ?",
                       [new]).fetchone() == (0,)
    rows: dict[int, int] = {}
    for table in APPEND_TABLES:
        for ingest_id, n in con.execute(f'SELECT ingest_id, count(*) FROM "{table}" '
                                        "GROUP BY 1").fetchall():
            rows[ingest_id] = rows.get(ingest_id, 0) + n
    if appends:
        assert rows == {r.ingest_id: r.rows_loaded for r in report.records if r.rows_loaded}
    else:
        assert rows == {}


# --- building CSV text, well or badly ---------------------------------------------------------

# Characters that break naive parsers: separators, quotes, line breaks, control characters
# (NUL included), a BOM in the middle, non-ASCII letters and line separators.
AWKWARD = st.sampled_from([",", '"', "\n", "\r", "\x00", "\x07", "\x1b", "\x7f", "\t",
                           "\ufeff", "é", "€", "\u2028", "'", ";", " "])
TEXT = st.text(alphabet=st.one_of(st.characters(blacklist_categories=("Cs",)), AWKWARD),
               max_size=12)
LONG = st.integers(1_000, 4_000).map(lambda n: "y" * n)
GENERIC = st.one_of(st.sampled_from(["", " ", "x", "On or near Park Road", "Bedford 001A"]),
                    TEXT, LONG)

# Row mutations: most rows are left alone.
ROW_MUTATIONS = ["none"] * 6 + ["short", "long", "unbalanced", "blank", "spaces", "quoted"]


@dataclass
class Built:
    """A generated file: its bytes, and what the generator knows of it."""

    name: str
    data: bytes
    rows: int | None = None        # data rows, where that is unambiguous
    utf8: bool = True
    longest_line: int = 0
    notes: list[str] = field(default_factory=list)


def quote(value: str, force: bool = False) -> str:
    if force or any(c in value for c in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def csv_text(draw: st.DrawFn, header: list[str],
             value: Callable[[str], st.SearchStrategy[str]], max_rows: int = 8
             ) -> tuple[str, int | None]:
    """A header and rows of values per column, with rows mutated (wrong field counts,
    unbalanced quotes, blank lines), line endings LF, CRLF or mixed, and maybe no final
    newline. Returns the text and the number of data rows where that is unambiguous."""
    endings = draw(st.sampled_from(["\n", "\r\n", "mixed"]))
    records = [",".join(quote(h) for h in header)]
    rows: int | None = 0
    for _ in range(draw(st.integers(0, max_rows))):
        fields = [draw(value(h)) for h in header]
        mutation = draw(st.sampled_from(ROW_MUTATIONS))
        if mutation == "blank":
            records.append("")
            continue
        if mutation == "spaces":
            records.append("   ")
            continue
        if mutation == "short" and fields:
            fields = fields[:-1]
        elif mutation == "long":
            fields.append(draw(GENERIC))
        cells = [quote(f, force=mutation == "quoted") for f in fields]
        if mutation == "unbalanced" and cells:
            at = draw(st.integers(0, len(cells) - 1))
            cells[at] = '"' + cells[at]
            rows = None
        if rows is not None:
            if all(not f.strip() for f in fields):
                rows = None      # a row of empty fields: a row, or a blank line?
            else:
                rows += 1
        records.append(",".join(cells))
    text = ""
    for record in records:
        # Mixed endings include the odd bare CR (old Mac files).
        ending = (draw(st.sampled_from(["\n", "\r\n", "\n", "\r\n", "\r"]))
                  if endings == "mixed" else endings)
        if ending == "\r":
            rows = None
        text += record + ending
    if draw(st.booleans()):
        text = text.rstrip("\r\n") if text.strip("\r\n") else text
    return text, rows


@st.composite
def encoded(draw: st.DrawFn, text: str) -> tuple[bytes, bool]:
    """UTF-8 (maybe with a BOM), or with bytes that are not UTF-8 spliced in."""
    data = text.encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    spoil = draw(st.sampled_from([None] * 5 + [b"\xff", b"\xe9", b"\xc3", b"\x80\x80",
                                               b"\xed\xa0\x80"]))
    if spoil is None:
        return data, True
    at = draw(st.integers(0, len(data)))
    data = data[:at] + spoil + data[at:]
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data, False
    return data, True


JUNK = st.one_of(
    st.just(b""),
    st.just(b"\n\n\r\n"),
    st.binary(max_size=300),
    st.just(b"<!DOCTYPE html><html><body>Service unavailable</body></html>"),
    st.just(b"PK\x03\x04 not really a zip"),
    st.just(b"\xef\xbb\xbf"),
)


def longest_line(data: bytes) -> int:
    return max((len(line) for line in data.split(b"\n")), default=0)


# --- police files -----------------------------------------------------------------------------

LAYOUTS = {"street": STREET, "outcomes": OUTCOMES, "stop-and-search": STOP_SEARCH}
# Valid, impossible (before data.police.uk, after today, no such month) and malformed months.
MONTHS = ["2023-01", "2022-12", "2011-06", "0000-01", "9999-12", "2019-13", "2010-11",
          "2023-00", "2023-1", "23-01", "2023-01-01", "Jan 2023", "", " 2023-01 "]
POLICE_VALUES: dict[str, st.SearchStrategy[str]] = {
    "Month": st.sampled_from(MONTHS),
    "Date": st.sampled_from(["2023-01-05T10:00:00+00:00", "2023-01-31T23:59:59", "2023-01-05",
                             "0000-01-01T00:00:00", "9999-12-31T00:00:00", "2023-13-01T00:00:00",
                             "yesterday", ""]),
    "Crime ID": st.sampled_from(["", "abc", "abc", "def", "a" * 64]),   # repeats on purpose
    "Longitude": st.sampled_from(["-0.4", "-0.412345", "", "abc", "200", "-95.5", "1e400",
                                  "nan", "inf", " -0.4 ", "0,4"]),
    "Latitude": st.sampled_from(["52.1", "", "north", "91", "-52.1", "1e-400", "NaN"]),
    "LSOA code": st.sampled_from(["E01017491", "W01000001", "", "E0101749", "X01017491",
                                  "e01017491", " E01017491 ", "E01017491E01017491"]),
    "Crime type": st.sampled_from(["Burglary", "Anti-social behaviour", "Vehicle crime", "",
                                   " "]),
    "Outcome type": st.sampled_from(["Investigation complete; no suspect identified", ""]),
    "Type": st.sampled_from(["Person search", "Vehicle search", ""]),
    "Reported by": st.sampled_from(["Bedfordshire Police", "Nowhere Police", ""]),
    "Falls within": st.sampled_from(["Bedfordshire Police", ""]),
}


def police_value(column: str) -> st.SearchStrategy[str]:
    special = POLICE_VALUES.get(column)
    return GENERIC if special is None else st.one_of(special, special, special, GENERIC)


@st.composite
def police_header(draw: st.DrawFn, kind: str) -> list[str]:
    """The real header, or one reordered, short of a column, with one more, or padded."""
    header = list(LAYOUTS[kind])
    how = draw(st.sampled_from(["same"] * 4 + ["shuffle", "drop", "extra", "spaces",
                                               "lower", "twice"]))
    if how == "shuffle":
        header = draw(st.permutations(header))
    elif how == "drop":
        del header[draw(st.integers(0, len(header) - 1))]
    elif how == "extra":
        header.insert(draw(st.integers(0, len(header))), draw(st.sampled_from(["Extra", ""])))
    elif how == "spaces":
        header = [f" {h} " for h in header]
    elif how == "lower":
        header = [h.lower() for h in header]
    elif how == "twice":
        header.append(header[draw(st.integers(0, len(header) - 1))])
    return list(header)


@st.composite
def police_file(draw: st.DrawFn, max_rows: int = 8) -> Built:
    kind = draw(st.sampled_from(list(LAYOUTS)))
    named = draw(st.sampled_from(["plain", "named", "named", "other-kind"]))
    if named == "plain":
        name = "x.csv"
    else:
        name_kind = draw(st.sampled_from(list(LAYOUTS))) if named == "other-kind" else kind
        month = draw(st.sampled_from(["2023-01", "2022-12", "0000-01", "9999-12", "2019-13"]))
        force = draw(st.sampled_from(["bedfordshire", "cambridgeshire"]))
        name = f"{month}-{force}-{name_kind}.csv"
    whole = draw(st.sampled_from(["csv"] * 8 + ["junk", "header-only"]))
    if whole == "junk":
        data = draw(JUNK)
        return Built(name, data, None, _decodes(data), longest_line(data), ["junk"])
    header = draw(police_header(kind))
    text, rows = draw(csv_text(header, police_value, 0 if whole == "header-only" else max_rows))
    data, utf8 = draw(encoded(text))
    return Built(name, data, rows if utf8 else None, utf8, longest_line(data), [kind])


def _decodes(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@st.composite
def police_batch(draw: st.DrawFn, max_files: int = 3) -> list[Built]:
    """One to three files for one ingest; sometimes the same bytes twice."""
    files = draw(st.lists(police_file(), min_size=1, max_size=max_files))
    if draw(st.integers(0, 4)) == 0:
        files.append(files[0])
    if draw(st.integers(0, 9)) == 0:
        first = files[0]

        files[0] = Built(first.name + ".gz", gzip.compress(first.data, mtime=0), first.rows,
                         first.utf8, first.longest_line, first.notes)
    return files


def police(con: duckdb.DuckDBPyConnection, paths: list[str]) -> IngestReport:
    return ingest_police(con, paths, run_id="prop")


def check_police(templates: Templates, files: list[Built]) -> Outcome:
    outcome, paths = attempt(templates, templates.empty, [(f.name, f.data) for f in files],
                             police)
    if any(not f.utf8 and f.notes != ["junk"] for f in files):
        # Bytes that are not UTF-8 in a file with a police header are refused, never loaded
        # with replacement characters.
        assert outcome.error is not None, "a file that is not UTF-8 was loaded"
    if outcome.report is not None:
        by_path = {p: f for p, f in zip(paths, files, strict=True)}
        for record in outcome.report.records:
            built = by_path[record.file]
            if built.rows is not None and record.status in ("loaded", "empty"):
                # An independent count: every non-blank record is a row in.
                assert record.rows_in == built.rows, (record, built.data[:2000])
    return outcome


@given(files=police_batch())
@settings(max_examples=90)
def test_police_files_load_balanced_or_are_refused_leaving_nothing(templates, files):
    check_police(templates, files)


@given(files=police_batch(max_files=2))
@settings(max_examples=25)
def test_police_lines_longer_than_the_field_limit_are_refused(templates, monkeypatch, files):
    monkeypatch.setenv("CSPKIT_MAX_FIELD_BYTES", "1500")
    outcome = check_police(templates, files)
    if any(f.longest_line > 1500 and f.utf8 and f.notes != ["junk"] for f in files):
        assert outcome.error is not None, "a line longer than the field limit was loaded"


@given(built=police_file())
@settings(max_examples=15)
def test_a_blank_line_changes_no_count(templates, built):
    """Blank lines are not rows, whichever way the parser reads the file (a blank line sends
    it down the careful path)."""
    assume(built.rows is not None and built.utf8 and built.notes != ["junk"])
    text = built.data.rstrip(b"\r\n") + b"\n\n"
    first, _ = attempt(templates, templates.empty, [(built.name, built.data)], police)
    again, _ = attempt(templates, templates.empty, [(built.name, text)], police)
    assert (first.error is None) == (again.error is None), (first.error, again.error)
    if first.report and again.report:
        counts = [[(r.status, r.rows_in, r.rows_loaded, r.rows_quarantined)
                   for r in o.report.records] for o in (first, again)]
        assert counts[0] == counts[1]


# --- partner files ----------------------------------------------------------------------------

PARTNER_HEADERS = {"safe-and-well": SAFE_HEADER, "fire": FIRE_HEADER}
PARTNER_VALUES: dict[str, st.SearchStrategy[str]] = {
    # safe-and-well: districts held, unknown, malformed; financial years good and bad.
    "District code": st.sampled_from([LUTON, BEDFORD, "E06000999", "", "E0600003", "luton",
                                      f" {LUTON} ", "E01015000"]),
    "Financial year": st.sampled_from(["2021/22", "2022/23", "2022-23", "2022/24", "FY22", "",
                                       "2021/2022", "1999/00", "0000/01", "9999/00"]),
    "Visits": st.sampled_from(["1200", "0", "-5", "1,200", "12.5", "abc", "", "1e9", "NaN",
                               "inf", " 7 ", "9" * 30]),
    # fire: repeated incident numbers, impossible dates and times, unknown codes.
    "IncidentNumber": st.sampled_from(["FRS-1", "FRS-1", "FRS-2", ""]),
    "CallDate": st.sampled_from(["01/01/2022", "31/12/2022", "31/02/2022", "2022-01-01", "",
                                 "13/13/2022", "01/01/1899", "01/01/2999", "00/00/0000"]),
    "CallTime": st.sampled_from(["08:15", "23:59", "24:00", "", "8:15", "abc", "08:15:30"]),
    "IncidentGroup": st.sampled_from(["Primary fire", "Secondary fire", "", " "]),
    "CauseCode": st.sampled_from(["D", "A", "U", "NK", "Z", "", "d"]),
    "LSOA code": st.sampled_from(["E01015000", "E01017500", "E01099999", "", "X", "W01000001",
                                  "E05015000"]),
    "Easting": st.sampled_from(["509100", "", "abc", "-1", "9999999", "509100.5"]),
    "Northing": st.sampled_from(["221300", "", "north", "0", "1e12"]),
}


def partner_value(column: str) -> st.SearchStrategy[str]:
    special = PARTNER_VALUES.get(column)
    return GENERIC if special is None else st.one_of(special, special, special, GENERIC)


@st.composite
def partner_header(draw: st.DrawFn, schema: str) -> list[str]:
    """The schema's header, or one short of a column, renamed, repeated, padded or with a
    title line above it."""
    header = list(PARTNER_HEADERS[schema])
    how = draw(st.sampled_from(["same"] * 4 + ["drop", "rename", "twice", "extra", "spaces",
                                               "lower", "shuffle"]))
    at = draw(st.integers(0, len(header) - 1))
    if how == "drop":
        del header[at]
    elif how == "rename":
        header[at] = header[at] + " (new)"
    elif how == "twice":
        header.append(header[at])
    elif how == "extra":
        header.insert(at, "Notes")
    elif how == "spaces":
        header = [f" {h} " for h in header]
    elif how == "lower":
        header = [h.lower() for h in header]
    elif how == "shuffle":
        header = list(draw(st.permutations(header)))
    return header


@st.composite
def partner_file(draw: st.DrawFn, schema: str) -> Built:
    whole = draw(st.sampled_from(["csv"] * 8 + ["junk", "header-only", "titled"]))
    if whole == "junk":
        data = draw(JUNK)
        return Built("partner.csv", data, None, _decodes(data), longest_line(data), ["junk"])
    header = draw(partner_header(schema))
    text, rows = draw(csv_text(header, partner_value, 0 if whole == "header-only" else 8))
    if whole == "titled":
        text = "Safe and Well visits, all districts\n\n" + text
    data, utf8 = draw(encoded(text))
    name = draw(st.sampled_from(["partner.csv", "partner.csv.gz"]))
    if name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    return Built(name, data, rows, utf8, longest_line(data), [schema])


@st.composite
def partner_batch(draw: st.DrawFn) -> tuple[str, bool, list[Built]]:
    schema = draw(st.sampled_from(list(PARTNER_HEADERS)))
    held = draw(st.booleans())      # with the geography, codes are checked against it
    files = draw(st.lists(partner_file(schema), min_size=1, max_size=2))
    return schema, held, files


@given(batch=partner_batch())
@settings(max_examples=75)
def test_partner_files_load_balanced_or_are_refused_leaving_nothing(templates, batch):
    schema, held, files = batch

    def partner(con: duckdb.DuckDBPyConnection, paths: list[str]) -> IngestReport:
        return ingest_partner(con, paths, schema=schema, run_id="prop")

    attempt(templates, templates.geography if held else templates.empty,
            [(f.name, f.data) for f in files], partner)


# --- reference files --------------------------------------------------------------------------

REFERENCE_VALUES: dict[str, st.SearchStrategy[str]] = {
    "LSOA21CD": st.sampled_from(["E01015000", "E01017500", "E01015000", "E0101500", "",
                                 "X01015000", "e01015000", "E01015000 ", "W01000001"]),
    "WD23CD": st.sampled_from(["E05015000", "E05015100", "bad", "", "E05015000E"]),
    "LAD23CD": st.sampled_from([LUTON, BEDFORD, "E0600003", "", "E06000032", "S12000033"]),
    "LSOA Code": st.sampled_from(["E01015000", "E01017500", "", "E0101500", "E92000001"]),
    "Code": st.sampled_from([LUTON, BEDFORD, "E92000001", "K04000001", "", "bad", "E01015000"]),
    "Geography": st.sampled_from(["Unitary Authority", "Country", "Region", "", "Planet"]),
    "Mid-2020 population": st.sampled_from(["1500", "1,500", "-3", "abc", "", "1.5e3", "0",
                                            "NaN", "9" * 25]),
    "All ages": st.sampled_from(["213000", "1,500", "-3", "", "x", "inf"]),
}
REFERENCE_HEADERS = {
    "lookup": (LOOKUP_HEADER, ["LSOA21_WD23_LAD23_lookup.csv",
                               "LSOA21_WD23_LAD23_Best_Fit_lookup.csv", "r.csv"]),
    "population-lsoa": (["LSOA Code", "LSOA Name", "Mid-2020 population"],
                        ["sape-mid-2020-lsoa.csv", "r.csv"]),
    "population-lad": (["Code", "Name", "Geography", "All ages"],
                       ["ukmidyearestimates20202021ladcodes.csv", "mid-2020.csv"]),
}


def reference_value(column: str) -> st.SearchStrategy[str]:
    special = REFERENCE_VALUES.get(column)
    return GENERIC if special is None else st.one_of(special, special, special, GENERIC)


@st.composite
def reference_file(draw: st.DrawFn) -> Built:
    layout = draw(st.sampled_from(list(REFERENCE_HEADERS)))
    base, names = REFERENCE_HEADERS[layout]
    name = draw(st.sampled_from(names))
    whole = draw(st.sampled_from(["csv"] * 8 + ["junk", "header-only"]))
    if whole == "junk":
        data = draw(JUNK)
        return Built(name, data, None, _decodes(data), longest_line(data), ["junk"])
    header = list(base)
    how = draw(st.sampled_from(["same"] * 5 + ["drop", "twice", "lower", "shuffle"]))
    at = draw(st.integers(0, len(header) - 1))
    if how == "drop":
        del header[at]
    elif how == "twice":
        header.append(header[at])
    elif how == "lower":
        header = [h.lower() for h in header]
    elif how == "shuffle":
        header = list(draw(st.permutations(header)))
    text, rows = draw(csv_text(header, reference_value, 0 if whole == "header-only" else 8))
    data, utf8 = draw(encoded(text))
    return Built(name, data, rows, utf8, longest_line(data), [layout])


@given(held=st.booleans(), files=st.lists(reference_file(), min_size=1, max_size=2))
@settings(max_examples=50)
def test_reference_files_load_balanced_or_are_refused_leaving_nothing(templates, held, files):
    def reference(con: duckdb.DuckDBPyConnection, paths: list[str]) -> IngestReport:
        return ingest_reference(con, paths, run_id="prop")

    attempt(templates, templates.geography if held else templates.empty,
            [(f.name, f.data) for f in files], reference, appends=False)


# --- bugs the properties found (now fixed), each its smallest example ---------------------------


def test_a_population_table_with_one_good_row_loads(templates, tmp_path):
    path = tmp_path / "sape-mid-2020-lsoa.csv"
    path.write_bytes(b"LSOA Code,LSOA Name,Mid-2020 population\nE01015000,,1500\n")
    db = tmp_path / "w.duckdb"
    shutil.copyfile(templates.empty.path, db)
    con = duckdb.connect(str(db))
    try:
        with transaction(con):
            report = ingest_reference(con, [str(path)], run_id="t")
        assert (report.rows_in, report.rows_loaded) == (1, 1)
        assert con.execute("SELECT count(*) FROM population").fetchone() == (1,)
    finally:
        con.close()


STREET_HEADER = ",".join(STREET).encode()
STREET_ROW = b",2023-01,B,B,-0.4,52.1,,E01017491,,Burglary,,"


def load_police_bytes(templates: Templates, tmp_path: Path, data: bytes) -> IngestReport | None:
    """One file into a fresh warehouse: its report, or None when refused cleanly."""
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    db = tmp_path / "w.duckdb"
    shutil.copyfile(templates.empty.path, db)
    con = duckdb.connect(str(db))
    try:
        with transaction(con):
            return police(con, [str(path)])
    except CspkitError:
        return None
    finally:
        con.close()


@pytest.mark.parametrize("data", [STREET_HEADER + b"\r\n\n",
                                  STREET_HEADER + b"\r\n" + STREET_ROW + b"\r\n\n",
                                  STREET_HEADER + b"\n\r\n"],
                         ids=["header-crlf-blank-lf", "rows-crlf-blank-lf", "header-lf-blank-crlf"])
def test_mixed_line_endings_with_a_blank_line_load_or_are_refused(templates, tmp_path, data):
    load_police_bytes(templates, tmp_path, data)


def test_a_row_of_empty_fields_counts_the_same_whichever_way_the_file_is_read(templates,
                                                                                tmp_path):
    text = STREET_HEADER + b"\n" + STREET_ROW + b"\n" + b"," * 11 + b"\n"
    counts = []
    for index, data in enumerate([text, text + b"\n"]):
        folder = tmp_path / str(index)
        folder.mkdir()
        report = load_police_bytes(templates, folder, data)
        assert report is not None
        counts.append((report.rows_in, report.rows_loaded, report.rows_quarantined))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("data", [STREET_HEADER + b",Crime ID\n",
                                  STREET_HEADER + b",Month\n" + STREET_ROW + b",2023-02\n",
                                  b"," + STREET_HEADER + b"\n",
                                  STREET_HEADER.replace(b"Crime ID,", b"Crime ID,,") + b"\n"],
                         ids=["twice-header-only", "twice-with-a-row", "empty-name-first",
                              "empty-name-second"])
def test_a_police_header_naming_a_column_twice_or_not_at_all_is_refused_or_loaded(
        templates, tmp_path, data):
    load_police_bytes(templates, tmp_path, data)


@pytest.mark.parametrize("data", [b"a\rb\n", STREET_HEADER + b"\r" + STREET_ROW + b"\r"],
                         ids=["smallest", "cr-line-endings"])
def test_a_bare_cr_in_the_first_line_is_refused_cleanly(templates, tmp_path, data):
    load_police_bytes(templates, tmp_path, data)


def test_a_financial_year_no_calendar_can_hold_is_quarantined(templates, tmp_path):
    """Found in a random run: 'Financial year' 0000/01 raised 'year 0 is out of range'."""
    path = tmp_path / "partner.csv"
    path.write_bytes(b"District code,District,Financial year,Visits\nE06000032,,0000/01,1200\n"
                     b"E06000032,,2022/23,1300\n")
    db = tmp_path / "w.duckdb"
    shutil.copyfile(templates.empty.path, db)
    con = duckdb.connect(str(db))
    try:
        with transaction(con):
            report = ingest_partner(con, [str(path)], schema="safe-and-well", run_id="t")
        assert (report.rows_in, report.rows_loaded, report.rows_quarantined) == (2, 1, 1)
        (reason,) = con.execute("SELECT reason FROM quarantine").fetchone()
        assert "0000/01" in reason
    finally:
        con.close()
