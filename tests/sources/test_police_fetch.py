"""fetch_police against a local stand-in for data.police.uk (127.0.0.1 only, no network).

Each test builds small archives laid out as data.police.uk's (``YYYY-MM/YYYY-MM-<force>-<kind>
.csv``, two forces, 36 months) and serves them from a ThreadingHTTPServer whose handler
supports Range/If-Range/ETag and can misbehave on request: drop or stall the connection part
way, answer 500, ignore Range, change the file mid-download, or serve an HTML page.
"""

from __future__ import annotations

import io
import json
import random
import re
import socket
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from cspkit.errors import CspkitError
from cspkit.sources import download, police_fetch
from cspkit.sources.police_fetch import FetchError, fetch_police
from tests.fake_services import QuietHandler

FORCES = ("bedfordshire", "cambridgeshire")
KINDS = ("street", "outcomes", "stop-and-search")
HEADERS = {
    "street": "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
              "LSOA name,Crime type,Last outcome category,Context",
    "outcomes": "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
                "LSOA name,Outcome type",
    "stop-and-search": "Type,Date,Part of a policing operation,Policing operation,Latitude,"
                       "Longitude,Gender,Age range,Self-defined ethnicity,"
                       "Officer-defined ethnicity,Legislation,Object of search,Outcome",
}


# --- archives ----------------------------------------------------------------------------------

def shift(month: str, delta: int) -> str:
    index = int(month[:4]) * 12 + int(month[5:]) - 1 + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def csv_text(month: str, force: str, kind: str, tag: str) -> bytes:
    # Random-ish coordinates keep the zip from compressing to nothing, so a connection dropped
    # after a few KB really is part way through the file. `tag` marks which archive it came from.
    rng = random.Random(f"{month}{force}{kind}{tag}")
    rows = [HEADERS[kind]]
    for n in range(12):
        lon, lat = -0.4 + rng.random() / 10, 52.0 + rng.random() / 10
        rows.append(f"{tag}-{n:04x},{month},{force},{force},{lon:.6f},{lat:.6f},"
                    f"On or near {kind},E01000{n:03d},x,y,z")
    return ("\r\n".join(rows) + "\r\n").encode()


def make_archive(archive_month: str, *, tag: str | None = None,
                 skip: tuple[tuple[str, str, str], ...] = ()) -> bytes:
    """An archive as data.police.uk publishes it: 36 months ending at `archive_month`."""
    tag = tag or archive_month
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for back in range(35, -1, -1):
            month = shift(archive_month, -back)
            for force in FORCES:
                for kind in KINDS:
                    if (month, force, kind) not in skip:
                        zf.writestr(f"{month}/{month}-{force}-{kind}.csv",
                                    csv_text(month, force, kind, tag))
    return buffer.getvalue()


def member(archive: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        return zf.read(name)


# --- the stand-in server -----------------------------------------------------------------------

@dataclass
class Seen:
    method: str
    path: str
    range: str | None
    if_range: str | None
    status: int = 0


@dataclass
class State:
    base_url: str = ""
    files: dict[str, bytes] = field(default_factory=dict)   # URL path -> body
    etags: dict[str, str] = field(default_factory=dict)
    listing: list[str] | None = None        # archive months on the list page; None: 404
    drop_after: int | None = None           # first archive GET: send this many bytes, hang up
    stall_after: int | None = None          # first archive GET: send this many bytes, go quiet
    swap_after_drop: tuple[bytes, str] | None = None  # new body and ETag once dropped
    fail_500: int = 0                       # answer the next N archive GETs with 500
    ignore_range: bool = False
    html: str | None = None                 # serve an HTML page with this Content-Type
    endless: str | None = None              # archive GETs never end: 'chunked' (no size) or
    announce: int | None = None             # 'length': announce this Content-Length
    endless_sent: int = 0                   # bytes the endless body got out before a hang-up
    requests: list[Seen] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def publish(self, month: str, body: bytes, etag: str = '"v1"') -> str:
        path = f"/data/archive/{month}.zip"
        self.files[path], self.etags[path] = body, etag
        return path

    def gets(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.method == "GET" and r.path == path]


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True
    state: State


class Handler(QuietHandler):
    server: StandInServer

    def send(self, seen: Seen, status: int, body: bytes, ctype: str,
             extra: dict[str, str] | None = None, head: bool = False) -> None:
        seen.status = status
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def serve(self, head: bool) -> None:
        st = self.server.state
        path = urlsplit(self.path).path
        seen = Seen(self.command, path, self.headers.get("Range"), self.headers.get("If-Range"))
        st.requests.append(seen)
        if path == "/data/archive/":
            if st.listing is None:
                return self.send(seen, 404, b"<html>Not found</html>", "text/html", head=head)
            links = "".join(f'<li><a href="/data/archive/{m}.zip">{m}</a></li>'
                            for m in st.listing)
            page = (f"<!DOCTYPE html><html><body><a href='/data/archive/latest.zip'>latest</a>"
                    f"<ul>{links}</ul></body></html>")
            return self.send(seen, 200, page.encode(), "text/html; charset=utf-8", head=head)
        if st.html is not None:
            page = b"<!DOCTYPE html><html><head><title>Maintenance</title></head></html>"
            return self.send(seen, 200, page, st.html, head=head)
        body = st.files.get(path)
        if body is None:
            return self.send(seen, 404, b"<html>Not found</html>", "text/html", head=head)
        if not head and st.fail_500:
            st.fail_500 -= 1
            return self.send(seen, 500, b"<html>Server error</html>", "text/html")
        if not head and st.endless is not None:
            return self.serve_endless(seen, body)
        etag = st.etags[path]
        start, status = 0, 200
        if seen.range and not st.ignore_range and seen.if_range in (None, etag):
            match = re.fullmatch(r"bytes=(\d+)-", seen.range)
            assert match, seen.range
            start, status = int(match[1]), 206
            if start >= len(body):
                return self.send(seen, 416, b"", "text/plain",
                                 {"Content-Range": f"bytes */{len(body)}"}, head=head)
        payload = body[start:]
        headers = {"ETag": etag, "Accept-Ranges": "bytes"}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
        if head:
            return self.send(seen, status, payload, "application/zip", headers, head=True)
        cut = st.drop_after if st.drop_after is not None else st.stall_after
        if cut is None:
            return self.send(seen, status, payload, "application/zip", headers)
        # Misbehave once: announce the full length, send only `cut` bytes.
        stall = st.drop_after is None
        st.drop_after = st.stall_after = None
        seen.status = status
        self.send_response(status)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(payload)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload[:cut])
        self.wfile.flush()
        if stall:
            st.release.wait(10)
        elif st.swap_after_drop is not None:
            st.files[path], st.etags[path] = st.swap_after_drop
        self.close_connection = True

    def serve_endless(self, seen: Seen, body: bytes) -> None:
        """The real archive's bytes, then zeros until the client hangs up (or 200 MB)."""
        st = self.server.state
        seen.status = 200
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        if st.endless == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(st.announce))
        self.end_headers()
        self.close_connection = True
        chunked = st.endless == "chunked"
        try:
            for piece in [body, *[bytes(1 << 16)] * 3200]:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                st.endless_sent += len(piece)
        except OSError:
            pass  # the client stopped reading, as it should


@pytest.fixture
def server() -> Iterator[State]:
    httpd = StandInServer(("127.0.0.1", 0), Handler)
    httpd.state = State(base_url=f"http://127.0.0.1:{httpd.server_address[1]}")
    # A short poll interval keeps shutdown (and so each test) quick.
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield httpd.state
    finally:
        httpd.state.release.set()
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    # No real backoff in tests; small chunks so downloads take several reads.
    monkeypatch.setattr(download, "_BACKOFF_BASE", 0.0)
    monkeypatch.setattr(download, "_CHUNK", 4096)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def leftovers(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.rglob("*") if p.name.endswith(".part"))


# --- tests -------------------------------------------------------------------------------------

def test_downloads_and_extracts_only_requested_force_months_kinds(server: State,
                                                                  tmp_path: Path) -> None:
    archive = make_archive("2024-03")
    path = server.publish("2024-03", archive)
    server.listing = ["2024-02", "2024-03"]
    calls: list[tuple[str, int, int | None]] = []

    result = fetch_police("bedfordshire", "2024-01", "2024-03", tmp_path,
                          kinds=("street", "outcomes"), base_url=server.base_url,
                          progress=lambda label, done, total: calls.append((label, done, total)))

    assert result.archives == [tmp_path / ".archives" / "2024-03.zip"]
    assert result.archives[0].read_bytes() == archive
    expected = [tmp_path / m / f"{m}-bedfordshire-{k}.csv"
                for m in ("2024-01", "2024-02", "2024-03") for k in ("outcomes", "street")]
    assert result.files == sorted(expected)
    for file in result.files:
        month = file.parent.name
        assert file.read_bytes() == member(archive, f"{month}/{file.name}")
    assert sorted(p.name for p in tmp_path.rglob("*.csv")) == sorted(p.name for p in expected)
    assert result.missing == []
    assert len(server.gets(path)) == 1
    assert calls[-1] == ("2024-03.zip", len(archive), len(archive))
    assert leftovers(tmp_path) == []


def test_resumes_after_dropped_connection(server: State, tmp_path: Path) -> None:
    archive = make_archive("2024-03")
    path = server.publish("2024-03", archive)
    server.listing = ["2024-03"]
    server.drop_after = 20_000
    assert len(archive) > 40_000  # the drop really is part way through

    result = fetch_police("cambridgeshire", "2024-03", "2024-03", tmp_path,
                          base_url=server.base_url)

    gets = server.gets(path)
    assert [g.status for g in gets] == [200, 206]
    assert gets[0].range is None
    assert gets[1].range == "bytes=20000-" and gets[1].if_range == '"v1"'
    assert result.archives[0].read_bytes() == archive
    assert result.files == [tmp_path / "2024-03" / "2024-03-cambridgeshire-street.csv"]


def test_resumes_after_stalled_connection_times_out(server: State, tmp_path: Path) -> None:
    archive = make_archive("2024-03")
    path = server.publish("2024-03", archive)
    server.stall_after = 15_000

    result = fetch_police("bedfordshire", "2024-03", "2024-03", tmp_path,
                          base_url=server.base_url, timeout=0.5)

    gets = server.gets(path)
    assert len(gets) == 2 and gets[1].range is not None
    # The read that timed out loses its partial buffer, so resumption starts at or before 15000.
    resumed_at = int(gets[1].range.removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= 15_000 and gets[1].status == 206
    assert result.archives[0].read_bytes() == archive


def test_resumes_in_a_later_run_after_giving_up(server: State, tmp_path: Path) -> None:
    archive = make_archive("2024-03")
    path = server.publish("2024-03", archive)
    server.drop_after, server.fail_500 = 20_000, 0

    def then_fail(label: str, done: int, total: int | None) -> None:
        # Once the dropped attempt is over, the server goes down for every retry.
        if done == 20_000:
            server.fail_500 = 100

    with pytest.raises(FetchError, match=r"HTTP 500.*20000 bytes kept, run again to resume"):
        fetch_police("bedfordshire", "2024-03", "2024-03", tmp_path, base_url=server.base_url,
                     progress=then_fail)
    assert not (tmp_path / ".archives" / "2024-03.zip").exists()
    assert (tmp_path / ".archives" / "2024-03.zip.part").stat().st_size == 20_000

    server.fail_500 = 0
    result = fetch_police("bedfordshire", "2024-03", "2024-03", tmp_path,
                          base_url=server.base_url)
    assert server.gets(path)[-1].range == "bytes=20000-"
    assert server.gets(path)[-1].status == 206
    assert result.archives[0].read_bytes() == archive
    assert leftovers(tmp_path) == []


def test_server_ignoring_range_restarts_from_zero(server: State, tmp_path: Path) -> None:
    archive = make_archive("2024-03")
    path = server.publish("2024-03", archive)
    server.ignore_range, server.drop_after = True, 20_000

    result = fetch_police("bedfordshire", "2024-03", "2024-03", tmp_path,
                          base_url=server.base_url)

    gets = server.gets(path)
    assert gets[1].range == "bytes=20000-" and gets[1].status == 200
    assert result.archives[0].read_bytes() == archive


def test_changed_etag_restarts_with_the_new_file(server: State, tmp_path: Path) -> None:
    old, new = make_archive("2024-03", tag="old"), make_archive("2024-03", tag="new")
    path = server.publish("2024-03", old, etag='"v1"')
    server.drop_after, server.swap_after_drop = 20_000, (new, '"v2"')

    result = fetch_police("bedfordshire", "2024-03", "2024-03", tmp_path,
                          base_url=server.base_url)

    gets = server.gets(path)
    assert gets[1].if_range == '"v1"' and gets[1].status == 200
    assert result.archives[0].read_bytes() == new
    assert b"new-0000" in result.files[0].read_bytes()


def test_retries_after_a_server_error(server: State, tmp_path: Path) -> None:
    archive = make_archive("2024-03")
    path = server.publish("2024-03", archive)
    server.fail_500 = 1

    result = fetch_police("bedfordshire", "2024-03", "2024-03", tmp_path,
                          base_url=server.base_url)

    assert [g.status for g in server.gets(path)] == [500, 200]
    assert result.archives[0].read_bytes() == archive


def test_persistent_server_error_gives_up_clearly(server: State, tmp_path: Path) -> None:
    server.publish("2024-03", make_archive("2024-03"))
    server.fail_500 = 100
    with pytest.raises(FetchError, match=r"failed after 5 attempts: HTTP 500"):
        fetch_police("bedfordshire", "2024-03", "2024-03", tmp_path, base_url=server.base_url)
    assert not (tmp_path / ".archives" / "2024-03.zip").exists()


def test_truncated_archive_is_detected_and_not_kept(server: State, tmp_path: Path) -> None:
    # The server's own file is short (its Content-Length agrees), so only the zip check can tell.
    server.publish("2024-03", make_archive("2024-03")[:-300])

    with pytest.raises(FetchError, match=r"2024-03\.zip .* is corrupt .*not a complete zip"):
        fetch_police("bedfordshire", "2024-03", "2024-03", tmp_path, base_url=server.base_url)

    assert sorted(p.name for p in (tmp_path / ".archives").iterdir()) == []
    assert list(tmp_path.rglob("*.csv")) == []


def test_corrupt_member_fails_crc_check(server: State, tmp_path: Path) -> None:
    archive = bytearray(make_archive("2024-03"))
    with zipfile.ZipFile(io.BytesIO(bytes(archive))) as zf:
        info = zf.getinfo("2024-02/2024-02-bedfordshire-street.csv")
    data_at = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    archive[data_at + info.compress_size // 2] ^= 0xFF
    server.publish("2024-03", bytes(archive))

    with pytest.raises(FetchError, match=r"corrupt .*2024-02-bedfordshire-street\.csv"):
        fetch_police("bedfordshire", "2024-01", "2024-03", tmp_path, base_url=server.base_url)

    assert not (tmp_path / ".archives" / "2024-03.zip").exists()
    assert list(tmp_path.rglob("*.csv")) == [] and leftovers(tmp_path) == []


def test_missing_archive_404(server: State, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match=r"no archive at .*/data/archive/2024-03\.zip .*404"):
        fetch_police("bedfordshire", "2024-01", "2024-03", tmp_path, base_url=server.base_url)


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/zip"])
def test_html_page_instead_of_zip(server: State, tmp_path: Path, content_type: str) -> None:
    server.html = content_type
    with pytest.raises(FetchError, match="HTML page instead of a zip"):
        fetch_police("bedfordshire", "2024-03", "2024-03", tmp_path, base_url=server.base_url)
    assert not any((tmp_path / ".archives").iterdir())


def test_unknown_force_lists_forces_in_archive(server: State, tmp_path: Path) -> None:
    path = server.publish("2024-03", make_archive("2024-03"))

    with pytest.raises(CspkitError) as caught:
        fetch_police("bedforshire", "2024-03", "2024-03", tmp_path, base_url=server.base_url)

    message = str(caught.value)
    assert "force 'bedforshire'" in message and "Did you mean bedfordshire?" in message
    assert message.endswith("Forces in the archive: bedfordshire, cambridgeshire")
    # The archive was sound, so it is kept: correcting the name needs no second download.
    fetch_police("Bedfordshire Police", "2024-03", "2024-03", tmp_path,
                 base_url=server.base_url)
    assert len(server.gets(path)) == 1


def test_complete_archive_is_reused(server: State, tmp_path: Path) -> None:
    archive = make_archive("2024-03")
    path = server.publish("2024-03", archive)
    first = fetch_police("bedfordshire", "2024-03", "2024-03", tmp_path,
                         base_url=server.base_url)

    again = fetch_police("cambridgeshire", "2024-02", "2024-03", tmp_path,
                         base_url=server.base_url)
    assert len(server.gets(path)) == 1
    assert again.archives == first.archives
    assert len(again.files) == 2

    # Offline, the size recorded at download time vouches for the file.
    offline = fetch_police("bedfordshire", "2024-01", "2024-03", tmp_path,
                           base_url=closed_port_url())
    assert len(offline.files) == 3

    # Republished with a different size: downloaded afresh.
    server.publish("2024-03", make_archive("2024-03", tag="republished"), etag='"v2"')
    fetch_police("bedfordshire", "2024-03", "2024-03", tmp_path, base_url=server.base_url)
    assert len(server.gets(path)) == 2
    assert b"republished" in (tmp_path / "2024-03" / "2024-03-bedfordshire-street.csv").read_bytes()


@pytest.mark.parametrize("listed", [True, False], ids=["listed", "computed-urls"])
def test_range_over_36_months_uses_two_archives(server: State, tmp_path: Path,
                                                listed: bool) -> None:
    for month in ("2019-06", "2019-12", "2020-12", "2022-06"):
        server.publish(month, make_archive(month))
    server.listing = ["2019-06", "2019-12", "2020-12", "2022-06"] if listed else None

    result = fetch_police("bedfordshire", "2019-01", "2022-06", tmp_path,
                          base_url=server.base_url)

    assert [a.name for a in result.archives] == ["2019-06.zip", "2022-06.zip"]
    assert len(result.files) == 42 and result.missing == []
    assert not server.gets("/data/archive/2019-12.zip")
    assert not server.gets("/data/archive/2020-12.zip")
    # Each month comes from the archive that was chosen for it.
    early = (tmp_path / "2019-06" / "2019-06-bedfordshire-street.csv").read_bytes()
    late = (tmp_path / "2019-07" / "2019-07-bedfordshire-street.csv").read_bytes()
    assert early.split(b"\r\n")[1].startswith(b"2019-06-")
    assert late.split(b"\r\n")[1].startswith(b"2022-06-")


def test_missing_months_reported(server: State, tmp_path: Path) -> None:
    # 2024-05 and 2024-04 are not published yet; the force skipped a stop-and-search month.
    server.publish("2024-03", make_archive(
        "2024-03", skip=(("2024-02", "bedfordshire", "stop-and-search"),)))
    server.listing = ["2024-01", "2024-02", "2024-03"]

    result = fetch_police("bedfordshire", "2024-01", "2024-05", tmp_path,
                          kinds=("street", "stop-and-search"), base_url=server.base_url)

    assert [a.name for a in result.archives] == ["2024-03.zip"]
    assert result.missing == ["2024-02 stop-and-search", "2024-04 street",
                              "2024-04 stop-and-search", "2024-05 street",
                              "2024-05 stop-and-search"]
    assert len(result.files) == 5


def test_range_with_no_published_archive(server: State, tmp_path: Path) -> None:
    server.listing = ["2024-03"]
    with pytest.raises(FetchError, match=r"no published .* 2027-01\.\.2027-02 .*2024-03"):
        fetch_police("bedfordshire", "2027-01", "2027-02", tmp_path, base_url=server.base_url)


@pytest.mark.parametrize(("start", "end", "kinds", "message"), [
    ("2024-3", "2024-04", ("street",), "start month '2024-3' is not a month in the form YYYY-MM"),
    ("2024-01", "2024-13", ("street",), "end month '2024-13'"),
    ("2024-05", "2024-04", ("street",), "start month 2024-05 is after end month 2024-04"),
    ("2024-01", "2024-04", ("crimes",), "unknown data kind 'crimes'"),
    ("2024-01", "2024-04", (), "unknown data kind"),
])
def test_bad_arguments(tmp_path: Path, start: str, end: str, kinds: tuple[str, ...],
                       message: str) -> None:
    # Checked before any request: the URL points at a closed port.
    with pytest.raises(FetchError, match=re.escape(message)):
        fetch_police("bedfordshire", start, end, tmp_path, kinds=kinds,
                     base_url=closed_port_url())


def test_cli_fetch_then_ingest_end_to_end(server: State, tmp_path: Path) -> None:
    """`cspkit fetch police` against the local server, then `cspkit ingest police DEST`: the
    downloader's private .archives folder is not mistaken for data."""
    from typer.testing import CliRunner

    from cspkit.cli import app

    server.publish("2024-03", make_archive("2024-03"))
    server.listing = ["2024-03"]
    dest = tmp_path / "police"
    runner = CliRunner()
    result = runner.invoke(app, ["fetch", "police", "--force", "bedfordshire", "--from",
                                 "2024-01", "--to", "2024-03", "--dest", str(dest),
                                 "--base-url", server.base_url])
    assert result.exit_code == 0, result.output
    assert "3 files" in result.output
    db = str(tmp_path / "w.duckdb")
    result = runner.invoke(app, ["ingest", "police", str(dest), "--db", db])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["status", "--db", db, "--format", "json"])
    status = json.loads(result.stdout)
    assert [i["month"] for i in status["ingests"]] == ["2024-01", "2024-02", "2024-03"]
    assert all(i["force"] == "bedfordshire" for i in status["ingests"])
    assert all(i["rows_in"] == i["rows_loaded"] + i["rows_quarantined"] == 12
               for i in status["ingests"])


# --- bounded downloads and extraction ----------------------------------------------------------

def test_an_endless_body_without_a_size_is_stopped_at_the_limit(
        server: State, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server.publish("2024-03", make_archive("2024-03"))
    server.endless = "chunked"
    monkeypatch.setenv("CSPKIT_MAX_DOWNLOAD_BYTES", "256k")
    seen: list[int] = []

    with pytest.raises(FetchError) as caught:
        fetch_police("bedfordshire", "2024-03", "2024-03", tmp_path, base_url=server.base_url,
                     progress=lambda label, done, total: seen.append(done))

    assert "announced no size and sent more than 256.0 KiB (max_download_bytes)" \
        in str(caught.value)
    assert "CSPKIT_MAX_DOWNLOAD_BYTES" in str(caught.value)
    assert max(seen) <= 256 << 10
    assert list((tmp_path / ".archives").iterdir()) == []   # no .part, no sidecar
    assert len(server.gets("/data/archive/2024-03.zip")) == 1  # not retried


def test_a_body_longer_than_announced_is_read_only_to_the_announced_size(
        server: State, tmp_path: Path) -> None:
    archive = make_archive("2024-03")
    server.publish("2024-03", archive)
    server.endless, server.announce = "length", len(archive) // 2
    seen: list[int] = []

    with pytest.raises(FetchError, match=r"2024-03\.zip .* is corrupt .*deleted"):
        fetch_police("bedfordshire", "2024-03", "2024-03", tmp_path, base_url=server.base_url,
                     progress=lambda label, done, total: seen.append(done))

    assert max(seen) == len(archive) // 2
    assert list((tmp_path / ".archives").iterdir()) == []


def test_an_announced_size_over_the_limit_is_refused_before_writing(
        server: State, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server.publish("2024-03", make_archive("2024-03"))
    monkeypatch.setenv("CSPKIT_MAX_DOWNLOAD_BYTES", "1000")

    with pytest.raises(FetchError, match=r"announces .* over the limit of 1,000 bytes"):
        fetch_police("bedfordshire", "2024-03", "2024-03", tmp_path, base_url=server.base_url)

    assert list((tmp_path / ".archives").iterdir()) == []


def test_a_zip_bomb_archive_is_not_unpacked(server: State, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("2024-03/2024-03-bedfordshire-street.csv", bytes(20 << 20))
    server.publish("2024-03", buffer.getvalue())

    with pytest.raises(FetchError) as caught:
        fetch_police("bedfordshire", "2024-03", "2024-03", tmp_path, base_url=server.base_url)

    assert str(caught.value).startswith(
        "2024-03.zip!2024-03/2024-03-bedfordshire-street.csv: the member's compression ratio")
    assert "max_compression_ratio" in str(caught.value)
    assert list(tmp_path.rglob("*.csv")) == [] and leftovers(tmp_path) == []


# --- without the network: which archives, and extracting from one already on disk -------------

def test_archives_for_a_range_names_the_archives_without_asking() -> None:
    assert police_fetch.archives_for("2024-01", "2024-03", "http://mirror") == [
        ("2024-03.zip", "http://mirror/data/archive/2024-03.zip")]
    # 40 months need two archives: the end month's and one 36 months earlier
    assert [n for n, _ in police_fetch.archives_for("2021-01", "2024-04")] == [
        "2021-04.zip", "2024-04.zip"]
    with pytest.raises(FetchError, match="after end month"):
        police_fetch.archives_for("2024-05", "2024-04")


def test_newest_archive_from_the_list_page(server: State) -> None:
    server.listing = ["2024-02", "2024-03"]
    assert police_fetch.newest_archive(server.base_url) == "2024-03"
    server.listing = None
    assert police_fetch.newest_archive(server.base_url) is None


def test_extract_from_an_archive_on_disk(tmp_path: Path) -> None:
    archive = tmp_path / "2024-03.zip"
    archive.write_bytes(make_archive("2024-03", skip=(("2024-02", "bedfordshire", "street"),)))
    result = police_fetch.extract_police(archive, "Bedfordshire Police", "2024-01", "2024-04",
                                         tmp_path / "out", url="http://x/2024-03.zip")
    assert [p.name for p in result.files] == ["2024-01-bedfordshire-street.csv",
                                              "2024-03-bedfordshire-street.csv"]
    assert result.missing == ["2024-02 street"]
    assert set(result.sources.values()) == {"http://x/2024-03.zip"}
    renamed = tmp_path / "archive.zip"
    archive.rename(renamed)
    with pytest.raises(FetchError, match="not named like a data.police.uk archive"):
        police_fetch.extract_police(renamed, "bedfordshire", "2024-01", "2024-03", tmp_path)
