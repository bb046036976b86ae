"""Benchmark: the dashboard's JSON API under 20 concurrent clients. Goal: p95 under 150 ms for
the overview, explorer and custom-area calls on the shipped data.

    .venv/bin/python benchmarks/bench_web.py demo.duckdb [--requests 200] [--clients 20]

Starts `cspkit serve` on the warehouse as a separate process on 127.0.0.1 (a free port, its own
temporary data folder), times each endpoint's first (cold) request, warms it up, then sends a
fixed number of requests from concurrent clients (threads, one keep-alive connection each) and
reports p50 and p95 latency, throughput, and each p95 as a ratio to a trivial baseline
(`/api/me`, which reads no data) measured the same way in the same run, so a slower or faster
machine moves both alike. An endpoint the app does not (yet) have is reported as missing.

The explorer and custom-area calls cycle through several realistic requests, as readers would
make them: the explorer's default view, another issue by LSOA, the district comparison, one
ward selected, a partner issue; custom areas of ward pairs and uploaded GeoJSON polygons (the
hull of a ward's LSOA centroids). Each variant's first request is cold: `cold` is their median
and `cold max` the slowest. The timing starts once the server's warm-up has finished (its
/api/status); `--no-warm` starts the server without one, so every first request is cold.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

GOAL_MS = 150.0
GOAL_ENDPOINTS = ("overview", "explorer", "custom-area")


@dataclass
class Endpoint:
    name: str
    method: str
    path: str                                   # as the OpenAPI document names it
    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    # Further (params, body) pairs: the timed requests cycle through the first and these.
    variants: list[tuple[dict[str, str], Any]] = field(default_factory=list)

    def requests(self) -> list[tuple[dict[str, str], Any]]:
        return [(self.params, self.body), *self.variants]


@dataclass
class Result:
    endpoint: Endpoint
    missing: str | None = None
    cold_ms: float | None = None
    cold_max_ms: float | None = None
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[int | str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    def as_json(self, baseline_p95: float | None) -> dict[str, Any]:
        if self.missing:
            return {"endpoint": self.endpoint.name, "missing": self.missing}
        p95 = self.percentile(0.95)
        return {"endpoint": self.endpoint.name,
                "request": f"{self.endpoint.method} {self.endpoint.path}",
                "requests": len(self.latencies_ms), "errors": self.errors,
                "variants": len(self.endpoint.requests()),
                "cold_ms": round(self.cold_ms or 0, 1),
                "cold_max_ms": round(self.cold_max_ms or self.cold_ms or 0, 1),
                "p50_ms": round(self.percentile(0.50), 1), "p95_ms": round(p95, 1),
                "per_second": round(len(self.latencies_ms) / self.seconds, 1),
                "p95_to_baseline": round(p95 / baseline_p95, 1) if baseline_p95 else None}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, data_dir: Path, port: int, no_warm: bool = False
                 ) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "cspkit.cli", "serve", "--db", str(db), "--host", "127.0.0.1",
         "--port", str(port), "--data-dir", str(data_dir), *(["--no-warm"] if no_warm else [])],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("cspkit serve stopped: "
                             + (server.stderr.read().decode() if server.stderr else ""))
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/me", timeout=2).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.terminate()
    raise SystemExit("cspkit serve did not answer within 120 s")


def wait_for_warm_up(base: str, limit: float = 900) -> float | None:
    """Seconds until the server's warm-up finished (its /api/status), None if it has none."""
    start = time.monotonic()
    while time.monotonic() - start < limit:
        response = httpx.get(f"{base}/api/status", timeout=30)
        if response.status_code != 200 or response.json().get("warm_up") != "running":
            return (time.monotonic() - start) if response.status_code == 200 else None
        time.sleep(1)
    raise SystemExit(f"the server's warm-up did not finish within {limit:.0f} s")


def public_client(base: str) -> httpx.Client:
    """A client with the public's cookie and its CSRF token, as a browser would hold them."""
    client = httpx.Client(base_url=base, timeout=120)
    token = client.get("/api/me").json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return client


def _hull(points: list[tuple[float, float]]) -> dict[str, Any]:
    """A GeoJSON Feature: the convex hull of `points` (lon, lat) grown by about 50 m, as a
    reader would draw round a few streets."""
    import shapely
    hull = shapely.MultiPoint(points).buffer(0.0005)
    return {"type": "Feature", "properties": {},
            "geometry": json.loads(shapely.to_geojson(hull))}


def polygons(db: Path, wards: list[str]) -> list[dict[str, Any]]:
    """Polygon uploads: for each ward, the hull of its LSOAs' population-weighted centroids
    (read from the warehouse here, read-only, as a reader's GIS would hold them)."""
    from cspkit.store import open_reader
    con = open_reader(db)
    try:
        found = []
        for ward in wards:
            rows = con.execute(
                """SELECT c.lon, c.lat FROM area_centroids c
                   JOIN (SELECT DISTINCT lsoa_code FROM lsoa_geography WHERE ward_code = ?) g
                     ON g.lsoa_code = c.code
                   WHERE c.vintage = '2021' AND c.kind = 'population-weighted'""",
                [ward]).fetchall()
            if rows:
                found.append(_hull([(float(x), float(y)) for x, y in rows]))
        return found
    finally:
        con.close()


def explorer_variants(client: httpx.Client, area: str | None, wards: list[str]
                      ) -> list[tuple[dict[str, str], Any]]:
    """The explorer as readers use it beyond its default view: another police issue by LSOA,
    the district comparison, one ward selected, a partner issue (when held)."""
    where = {"area": area} if area else {}
    response = client.get("/api/explorer/issues", params=where)
    if response.status_code != 200:
        return []
    issues = response.json()["issues"]
    police = [i["key"] for i in issues if i["source"] == "police.uk" and i["key"] != "all-crime"]
    partner = [i["key"] for i in issues if i["source"] != "police.uk"]
    found: list[tuple[dict[str, str], Any]] = []
    if police:
        found.append(({**where, "issue": police[0], "level": "lsoa"}, None))
    found.append(({**where, "level": "district"}, None))
    if wards:
        found.append(({**where, "level": "ward", "select": wards[0]}, None))
    if len(police) > 1:
        found.append(({**where, "issue": police[-1], "level": "ward"}, None))
    if partner:
        found.append(({**where, "issue": partner[0], "level": "ward"}, None))
    return found


def endpoints(client: httpx.Client, area: str | None, db: Path | None = None
              ) -> tuple[list[Endpoint], dict[str, str], dict[str, float]]:
    """The endpoints to time, with the parameters each needs (a district, ward codes); why
    each one the app lacks is missing; and the cold times of those asked here already."""
    paths = client.get("/openapi.json").json()["paths"]
    cold: dict[str, float] = {}
    districts: list[dict[str, Any]] = []
    if "/api/districts" in paths:
        start = time.perf_counter()
        districts = client.get("/api/districts").json()
        cold["districts"] = (time.perf_counter() - start) * 1000
    if area is None and districts:
        first = districts[0]
        area = str(first.get("code") or first.get("name"))
    where = {"area": area} if area else {}
    wards: list[str] = []
    if "/api/places" in paths:
        start = time.perf_counter()
        ranking = client.get("/api/places", params=where)
        cold["places"] = (time.perf_counter() - start) * 1000
        if ranking.status_code == 200:
            wards = [p["code"] for p in ranking.json().get("places", [])]
    # Custom areas: pairs of wards next to each other in the ranking, and polygons drawn
    # round other wards' streets.
    pairs = [wards[i:i + 2] for i in range(0, min(len(wards), 8) - 1, 2)]
    drawn = polygons(db, wards[8:12]) if db is not None and len(wards) > 8 else []
    custom = [({}, {"wards": pair}) for pair in pairs] + [({}, {"geometry": g}) for g in drawn]
    first: tuple[dict[str, str], Any] = custom[0] if custom else ({}, None)
    wanted = [
        Endpoint("baseline", "GET", "/api/me"),
        Endpoint("districts", "GET", "/api/districts"),
        Endpoint("overview", "GET", "/api/overview", where),
        Endpoint("explorer", "GET", "/api/explorer", where,
                 variants=explorer_variants(client, area, wards)),
        Endpoint("places", "GET", "/api/places", where),
        Endpoint("custom-area", "POST", "/api/custom-area", first[0], first[1],
                 variants=custom[1:]),
    ]
    missing: dict[str, str] = {}
    found = []
    for endpoint in wanted:
        if endpoint.method.lower() not in paths.get(endpoint.path, {}):
            missing[endpoint.name] = f"the app has no {endpoint.method} {endpoint.path}"
        elif endpoint.name == "custom-area" and not wards:
            missing[endpoint.name] = "no ward codes to make an area of (/api/places gave none)"
        else:
            found.append(endpoint)
    return found, missing, cold


def send(client: httpx.Client, endpoint: Endpoint, variant: int = 0) -> tuple[int, float]:
    params, body = endpoint.requests()[variant % len(endpoint.requests())]
    start = time.perf_counter()
    response = client.request(endpoint.method, endpoint.path, params=params or None,
                              json=body)
    return response.status_code, (time.perf_counter() - start) * 1000


def run(endpoint: Endpoint, clients: list[httpx.Client], requests: int, warmup: int,
        cold_ms: float | None = None) -> Result:
    result = Result(endpoint, cold_ms=cold_ms)
    colds = [cold_ms] if cold_ms is not None else []
    for variant in range(len(colds), len(endpoint.requests())):   # each variant's first
        status, ms = send(clients[0], endpoint, variant)
        colds.append(ms)
        if status >= 400:
            result.errors[status] = result.errors.get(status, 0) + 1
    ordered = sorted(colds)
    result.cold_ms, result.cold_max_ms = ordered[(len(ordered) - 1) // 2], ordered[-1]
    for i in range(warmup):
        send(clients[i % len(clients)], endpoint, i)
    remaining = [requests]
    lock = threading.Lock()

    def work(client: httpx.Client) -> None:
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
                variant = remaining[0]
            try:
                status, ms = send(client, endpoint, variant)
            except httpx.HTTPError as exc:
                status, ms = type(exc).__name__, 0.0  # type: ignore[assignment]
            with lock:
                if isinstance(status, int) and status < 400:
                    result.latencies_ms.append(ms)
                else:
                    result.errors[status] = result.errors.get(status, 0) + 1

    threads = [threading.Thread(target=work, args=(c,)) for c in clients]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - start
    if not result.latencies_ms:
        result.missing = f"every request failed: {result.errors}"
    return result


def report(results: list[Result], missing: dict[str, str], clients: int,
           out: Callable[[str], None] = print) -> list[dict[str, Any]]:
    baseline = next((r for r in results if r.endpoint.name == "baseline" and not r.missing),
                    None)
    base_p95 = baseline.percentile(0.95) if baseline else None
    rows = [r.as_json(base_p95) for r in results]
    rows += [{"endpoint": name, "missing": why} for name, why in missing.items()]
    out(f"{clients} concurrent clients; latency in ms")
    out(f"{'endpoint':<12} {'variants':>8} {'requests':>8} {'errors':>6} {'cold':>8} "
        f"{'cold max':>8} {'p50':>7} {'p95':>7} {'req/s':>7} {'p95/base':>8}  goal")
    for row in rows:
        if "missing" in row:
            out(f"{row['endpoint']:<12} missing: {row['missing']}")
            continue
        goal = ""
        if row["endpoint"] in GOAL_ENDPOINTS:
            goal = "met" if row["p95_ms"] < GOAL_MS else f"over {GOAL_MS:.0f} ms"
        ratio = f"{row['p95_to_baseline']:.1f}x" if row["p95_to_baseline"] else "-"
        out(f"{row['endpoint']:<12} {row['variants']:>8} {row['requests']:>8} "
            f"{sum(row['errors'].values()):>6} {row['cold_ms']:>8.1f} {row['cold_max_ms']:>8.1f} "
            f"{row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f} "
            f"{row['per_second']:>7.1f} {ratio:>8}  {goal}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="example: .venv/bin/python benchmarks/bench_web.py demo.duckdb --requests 200 "
               "(build the warehouse first with: cspkit demo --db demo.duckdb)")
    parser.add_argument("db", type=Path, help="the warehouse to serve (it is only read)")
    parser.add_argument("--requests", type=int, default=200,
                        help="timed requests per endpoint (default 200)")
    parser.add_argument("--clients", type=int, default=20,
                        help="concurrent clients (default 20)")
    parser.add_argument("--warmup", type=int, default=10,
                        help="untimed requests per endpoint after the cold one (default 10)")
    parser.add_argument("--area", help="district code or name (default: the first held)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--no-warm", action="store_true",
                        help="start the server with --no-warm (no background warm-up)")
    args = parser.parse_args()
    if not args.db.exists():
        parser.error(f"{args.db}: no such warehouse (cspkit demo --db {args.db} builds one)")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="bench-web-") as data_dir:
        server = start_server(args.db, Path(data_dir), port, args.no_warm)
        warmed = None if args.no_warm else wait_for_warm_up(base)
        if warmed is not None:
            print(f"the server's warm-up finished {warmed:.0f} s after it answered")
        clients: list[httpx.Client] = []
        try:
            clients = [public_client(base) for _ in range(args.clients)]
            found, missing, cold = endpoints(clients[0], args.area, args.db)
            results = [run(e, clients, args.requests, args.warmup, cold.get(e.name))
                       for e in found]
        finally:
            for client in clients:
                client.close()
            server.terminate()
            server.wait(timeout=30)
    rows = report(results, missing, args.clients)
    if args.json:
        args.json.write_text(json.dumps({"clients": args.clients, "requests": args.requests,
                                         "warm_up": not args.no_warm,
                                         "warm_up_seconds": warmed,
                                         "endpoints": rows}, indent=2))


if __name__ == "__main__":
    main()
