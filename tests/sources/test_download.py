"""Cached, resumable downloads against a local server (tests/fake_services.py)."""

from __future__ import annotations

import json

import pytest

from cspkit.errors import CspkitError
from cspkit.sources import download
from cspkit.sources.download import DownloadError, cached, file_name_of, get_bytes
from tests.fake_services import serve

BODY = bytes(range(256)) * 400   # 100 KiB


@pytest.fixture(autouse=True)
def no_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download, "_BACKOFF_BASE", 0.0)
    monkeypatch.setattr(download, "_CHUNK", 4096)


def test_download_then_reuse_without_asking(tmp_path):
    with serve() as state:
        state.files["/f.bin"] = BODY
        url = f"{state.base_url}/f.bin"
        target = tmp_path / "cache" / "f.bin"
        first = download.download(url, target)
        assert first.fetched and target.read_bytes() == BODY
        manifest = json.loads((tmp_path / "cache" / "f.bin.source.json").read_text())
        assert manifest["url"] == url and manifest["sha256"] == first.sha256
        assert manifest["bytes"] == len(BODY)
        again = download.download(url, target)
        assert not again.fetched and again.sha256 == first.sha256
        assert len(state.gets("/f.bin")) == 1


def test_a_damaged_cached_file_is_fetched_again(tmp_path):
    with serve() as state:
        state.files["/f.bin"] = BODY
        url = f"{state.base_url}/f.bin"
        target = tmp_path / "f.bin"
        download.download(url, target)
        target.write_bytes(BODY[:-1] + b"x")
        assert cached(target, url) is None
        assert download.download(url, target).fetched
        assert target.read_bytes() == BODY


def test_a_dropped_connection_resumes_with_range(tmp_path):
    with serve() as state:
        state.files["/f.bin"] = BODY
        state.drop = {"/f.bin": 10_000}
        got = download.download(f"{state.base_url}/f.bin", tmp_path / "f.bin")
        assert got.path.read_bytes() == BODY
        assert [r.range for r in state.gets("/f.bin")] == [None, "bytes=10000-"]
        assert not (tmp_path / "f.bin.part").exists()


def test_server_errors_are_retried_then_reported(tmp_path):
    with serve() as state:
        state.files["/f.bin"] = BODY
        state.fail = {"/f.bin": 2}
        assert download.download(f"{state.base_url}/f.bin", tmp_path / "a").fetched
        state.fail = {"/f.bin": 99}
        with pytest.raises(DownloadError, match=r"failed after 5 attempts: HTTP 503"):
            download.download(f"{state.base_url}/f.bin", tmp_path / "b")
        with pytest.raises(CspkitError, match=r"/missing: HTTP 404"):
            download.download(f"{state.base_url}/missing", tmp_path / "c")


def test_get_bytes_retries_a_short_body():
    with serve() as state:
        state.files["/page"] = b"x" * 5000
        state.drop = {"/page": 100}
        assert get_bytes(f"{state.base_url}/page") == b"x" * 5000
        assert len(state.gets("/page")) == 2


def test_file_name_of_an_ons_address():
    assert file_name_of("https://www.ons.gov.uk/file?uri=/peoplepopulationandcommunity/x/"
                        "mid2022revisednov2025tomid2024/sapelsoasyoa20222024.xlsx"
                        ) == "sapelsoasyoa20222024.xlsx"
    assert file_name_of("http://127.0.0.1:8000/data/p.csv") == "p.csv"
