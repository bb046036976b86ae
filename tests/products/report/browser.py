"""Opening a written HTML file in Debian's headless Chromium with every request but the file
itself refused and recorded, for the offline browser tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"  # Debian's browser; Playwright must never download its own
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def missing_chromium() -> str:
    return (f"Debian chromium not installed at {CHROMIUM} (`cspkit doctor` says how to install "
            "it; .ci/run installs it)")


def skip_without_chromium() -> bool:
    """Skip when chromium is missing, unless CSPKIT_REQUIRE_SYSTEM_DEPS=1 (as CI sets it): then
    the test runs and fails by name, never skips quietly."""
    required = os.environ.get("CSPKIT_REQUIRE_SYSTEM_DEPS") == "1"
    return not required and not Path(CHROMIUM).exists()


needs_chromium = pytest.mark.skipif(skip_without_chromium(), reason=missing_chromium())


@dataclass
class Visit:
    page: Any
    url: str
    requests: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)   # console errors, page errors


@contextmanager
def offline_page(path: Path) -> Iterator[Visit]:
    """The page loaded from `path`; afterwards `requests` and `problems` can be checked."""
    from playwright import sync_api  # a test dependency: missing it is a failure, not a skip

    if not Path(CHROMIUM).exists():   # only reached when required: see skip_without_chromium
        pytest.fail(f"{missing_chromium()}; required because CSPKIT_REQUIRE_SYSTEM_DEPS=1")
    visit = Visit(page=None, url=path.as_uri())

    def route(r: Any) -> None:
        visit.requests.append(r.request.url)
        if r.request.url == visit.url:
            r.continue_()
        else:
            r.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: visit.problems.append(m.text)
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: visit.problems.append(str(e)))
            page.on("requestfailed", lambda r: visit.problems.append(f"failed: {r.url}"))
            page.route("**/*", route)
            page.goto(visit.url, wait_until="load")
            visit.page = page
            yield visit
        finally:
            browser.close()
