"""Speed: results kept per snapshot (ResultCache), API answers served from memory as bytes,
and the warm-up that computes the public default views when the app starts."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cspkit.products.web import app as web_app_module
from cspkit.products.web import explorer, overview
from cspkit.products.web.app import create_app
from cspkit.products.web.cache import MISSING, ResultCache
from cspkit.products.web.context import NotFound
from cspkit.store.accounts import User

BEDFORD = "E06000055"


# --------------------------------------------------------------------------- the cache


def test_cache_counts_hits_and_misses_and_computes_once() -> None:
    cache = ResultCache(size=2)
    calls: list[str] = []

    def compute(value: str) -> str:
        calls.append(value)
        return value

    assert cache.peek("a") is MISSING
    assert cache.get("a", lambda: compute("A")) == "A"
    assert cache.get("a", lambda: compute("again")) == "A"
    assert cache.peek("a") == "A"
    assert calls == ["A"]
    assert cache.stats() == {"hits": 2, "misses": 1, "entries": 1, "size": 2}
    cache.get("b", lambda: compute("B"))
    cache.get("c", lambda: compute("C"))          # "a" is the least recently used
    assert "a" not in cache and "c" in cache
    assert cache.stats()["entries"] == 2


def test_a_failed_computation_is_not_kept() -> None:
    cache = ResultCache()

    def fails() -> str:
        raise NotFound("no such area")

    with pytest.raises(NotFound):
        cache.get("x", fails)
    assert "x" not in cache
    assert cache.get("x", lambda: "found") == "found"


def test_concurrent_requests_for_one_key_compute_it_once() -> None:
    cache = ResultCache()
    started = threading.Event()
    calls: list[int] = []

    def slow() -> int:
        calls.append(1)
        started.set()
        time.sleep(0.3)
        return 42

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("k", slow)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 8 and calls == [1]
    assert cache.stats()["misses"] == 1 and cache.stats()["hits"] == 7


# --------------------------------------------------------------------------- the API


def test_a_repeated_api_request_is_served_from_the_cache(client: TestClient,
                                                         web_app: Any) -> None:
    cache = web_app.state.web.cache
    first = client.get("/api/places", params={"area": BEDFORD})
    assert first.status_code == 200
    before = cache.stats()
    again = client.get("/api/places", params={"area": BEDFORD})
    after = cache.stats()
    assert again.content == first.content
    assert again.headers["content-type"] == "application/json"
    assert after["misses"] == before["misses"] and after["hits"] == before["hits"] + 1
    # A bad request is answered in words and not kept.
    assert client.get("/api/places", params={"area": "Atlantis"}).status_code == 404
    assert client.get("/api/places", params={"area": "Atlantis"}).status_code == 404
    assert not any("Atlantis" in str(k) for k in list(web_app.state.web.cache._values))


def test_the_cached_overview_matches_its_response_model(client: TestClient) -> None:
    """The bytes kept are the response model's dump: every documented field, nothing else."""
    data = client.get("/api/overview", params={"area": BEDFORD, "period": "2023"}).json()
    assert set(data) == set(overview.OverviewOut.model_fields)
    assert overview.OverviewOut.model_validate(data).area_code == BEDFORD
    spec = client.get("/openapi.json").json()
    ok = spec["paths"]["/api/overview"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["$ref"].endswith("/OverviewOut")


def test_public_and_partner_answers_are_kept_apart(client: TestClient,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The public's cached answer is never served to a partner, nor a partner's to the
    public: whether the reader may see restricted sources is part of every key."""
    params = {"area": BEDFORD, "level": "district"}
    public = client.get("/api/explorer/issues", params={"area": BEDFORD}).json()
    restricted = {i["source"] for i in public["issues"] if i["restricted"]}
    assert not restricted and public["withheld"]
    before = client.get("/api/explorer", params=params).json()
    monkeypatch.setattr(explorer, "current_user", lambda request: User("p", "partner"))
    partner = client.get("/api/explorer", params=params).json()
    assert before["withheld"] and not partner["withheld"]
    monkeypatch.undo()
    assert client.get("/api/explorer", params=params).json() == before


# --------------------------------------------------------------------------- warm-up


@pytest.fixture(scope="module")
def warehouse_copy(demo_warehouse_path: Path, tmp_path_factory: pytest.TempPathFactory
                   ) -> Path:
    path = tmp_path_factory.mktemp("warm") / "demo.duckdb"
    shutil.copyfile(demo_warehouse_path, path)
    return path


def test_the_first_request_after_warm_up_is_served_from_the_cache(
        warehouse_copy: Path, tmp_path: Path) -> None:
    app = create_app(warehouse_copy, data_dir=tmp_path, warm=True, warm_districts=[BEDFORD])
    warm_up = app.state.warm_up
    cache = app.state.web.cache
    with TestClient(app) as client:
        # Startup is not blocked: the app answers while the warm-up computes.
        start = time.perf_counter()
        assert client.get("/api/me").status_code == 200
        assert time.perf_counter() - start < 5
        assert warm_up.done.wait(600), "the warm-up did not finish"
        assert client.get("/api/status").json()["warm_up"] == "done"
        before = cache.stats()
        assert before["misses"] > 0
        for path in ("/api/overview", "/api/explorer", "/api/places"):
            response = client.get(path, params={"area": BEDFORD})
            assert response.status_code == 200, (path, response.text)
        after = cache.stats()
        assert after["misses"] == before["misses"], "a default view was computed again"
        assert after["hits"] == before["hits"] + 3
        data = response.json()
        assert data["district"]["code"] == BEDFORD and data["places"]
    assert not warm_up.thread.is_alive()


def test_the_warm_up_stops_with_the_app(warehouse_copy: Path, tmp_path: Path) -> None:
    computed: list[str] = []

    def slow(web: Any, con: Any, token: Any, area: str) -> None:
        computed.append(area)
        time.sleep(0.2)

    app = create_app(warehouse_copy, data_dir=tmp_path, warm=False)
    warm_up = web_app_module.WarmUp(app.state.web, [slow] * 50, [BEDFORD])
    warm_up.start()
    time.sleep(0.3)
    warm_up.close()
    assert not warm_up.thread.is_alive()
    assert 0 < len(computed) < 50


def test_no_warm_up_unless_asked(warehouse_copy: Path, tmp_path: Path) -> None:
    app = create_app(warehouse_copy, data_dir=tmp_path)
    assert app.state.warm_up is None
    with TestClient(app) as client:
        status = client.get("/api/status").json()
    assert status["warm_up"] == "off" and set(status["cache"]) == {"hits", "misses",
                                                                    "entries", "size"}


def test_answers_are_gzipped_for_clients_that_accept_it(client: TestClient) -> None:
    params = {"area": BEDFORD}
    plain = client.get("/api/places", params=params, headers={"Accept-Encoding": "identity"})
    packed = client.get("/api/places", params=params, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < len(plain.content) / 2
    assert packed.content == plain.content          # httpx undoes the gzip
    for response in (plain, packed):
        assert response.headers["vary"] == "Accept-Encoding"
        assert "default-src 'self'" in response.headers["content-security-policy"]


def test_the_same_custom_area_body_is_answered_from_memory(client: TestClient,
                                                           web_app: Any) -> None:
    from tests.products.web.users import csrf
    cache = web_app.state.web.cache
    body = b'{"wards": ["E05014501", "E05014502"], "year": 2023}'
    headers = {"X-CSRF-Token": csrf(client), "Content-Type": "application/json"}
    first = client.post("/api/custom-area", content=body, headers=headers)
    assert first.status_code == 200, first.text
    before = cache.stats()
    again = client.post("/api/custom-area", content=body, headers=headers)
    assert again.content == first.content
    assert cache.stats()["misses"] == before["misses"]
    # Written differently, the same area: the profile is not computed again.
    spaced = client.post("/api/custom-area", content=body.replace(b", ", b",  "),
                         headers=headers)
    assert spaced.json() == first.json()
    assert cache.stats()["misses"] == before["misses"] + 1     # its encoding only
