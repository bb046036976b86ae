"""Benchmark: the dashboard's JSON API under 20 concurrent clients. Goal: p95 under 150 ms for
the overview, explorer and custom-area calls on the shipped data.

    .venv/bin/python benchmarks/bench_web.py demo.duckdb [--requests 200] [--clients 20]

Starts `cspkit serve` on the warehouse as a separate process on 127.0.0.1 (a free port, its own
temporary data folder), times each endpoint's first (cold) request, warms it up, then sends a
fixed number of requests from concurrent clients (threads, one keep-alive connection each) and
reports p50 and p95 latency, throughput, and each p95 as a ratio to a trivial baseline
(`/api/me`, which reads no data) measured the same way in the same run, so a slower or faster
machine moves both alike. An endpoint the app does not (yet) have is reported as missing.
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


@dataclass
class Result:
    endpoint: Endpoint
    missing: str | None = None
    cold_ms: float | None = None
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
                "cold_ms": round(self.cold_ms or 0, 1),
                "p50_ms": round(self.percentile(0.50), 1), "p95_ms": round(p95, 1),
                "per_second": round(len(self.latencies_ms) / self.seconds, 1),
                "p95_to_baseline": round(p95 / baseline_p95, 1) if baseline_p95 else None}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(db: Path, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "cspkit.cli", "serve", "--db", str(db), "--host", "127.0.0.1",
         "--port", str(port), "--data-dir", str(data_dir)],
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


def public_client(base: str) -> httpx.Client:
    """A client with the public's cookie and its CSRF token, as a browser would hold them."""
    client = httpx.Client(base_url=base, timeout=120)
    token = client.get("/api/me").json()["csrf_token"]
    client.headers["X-CSRF-Token"] = token
    return client


def endpoints(client: httpx.Client, area: str | None
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
            wards = [p["code"] for p in ranking.json().get("places", [])][:3]
    wanted = [
        Endpoint("baseline", "GET", "/api/me"),
        Endpoint("districts", "GET", "/api/districts"),
        Endpoint("overview", "GET", "/api/overview", where),
        Endpoint("explorer", "GET", "/api/explorer", where),
        Endpoint("places", "GET", "/api/places", where),
        Endpoint("custom-area", "POST", "/api/custom-area", body={"wards": wards}),
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


def send(client: httpx.Client, endpoint: Endpoint) -> tuple[int, float]:
    start = time.perf_counter()
    response = client.request(endpoint.method, endpoint.path, params=endpoint.params or None,
                              json=endpoint.body)
    return response.status_code, (time.perf_counter() - start) * 1000


def run(endpoint: Endpoint, clients: list[httpx.Client], requests: int, warmup: int,
        cold_ms: float | None = None) -> Result:
    result = Result(endpoint, cold_ms=cold_ms)
    if cold_ms is None:
        status, result.cold_ms = send(clients[0], endpoint)
        if status >= 400:
            result.errors[status] = 1
    for i in range(warmup):
        send(clients[i % len(clients)], endpoint)
    remaining = [requests]
    lock = threading.Lock()

    def work(client: httpx.Client) -> None:
        while True:
            with lock:
                if remaining[0] == 0:
                    return
                remaining[0] -= 1
            try:
                status, ms = send(client, endpoint)
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
    out(f"{'endpoint':<12} {'requests':>8} {'errors':>6} {'cold':>8} {'p50':>7} {'p95':>7} "
        f"{'req/s':>7} {'p95/base':>8}  goal")
    for row in rows:
        if "missing" in row:
            out(f"{row['endpoint']:<12} missing: {row['missing']}")
            continue
        goal = ""
        if row["endpoint"] in GOAL_ENDPOINTS:
            goal = "met" if row["p95_ms"] < GOAL_MS else f"over {GOAL_MS:.0f} ms"
        ratio = f"{row['p95_to_baseline']:.1f}x" if row["p95_to_baseline"] else "-"
        out(f"{row['endpoint']:<12} {row['requests']:>8} {sum(row['errors'].values()):>6} "
            f"{row['cold_ms']:>8.1f} {row['p50_ms']:>7.1f} {row['p95_ms']:>7.1f} "
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
    args = parser.parse_args()
    if not args.db.exists():
        parser.error(f"{args.db}: no such warehouse (cspkit demo --db {args.db} builds one)")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="bench-web-") as data_dir:
        server = start_server(args.db, Path(data_dir), port)
        clients: list[httpx.Client] = []
        try:
            clients = [public_client(base) for _ in range(args.clients)]
            found, missing, cold = endpoints(clients[0], args.area)
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
                                         "endpoints": rows}, indent=2))


if __name__ == "__main__":
    main()
