"""Driving the dashboard in Debian's headless Chromium (never a downloaded browser): every
request that would leave 127.0.0.1 is refused and recorded, console errors are collected,
axe-core (shipped by axe-playwright-python) checks accessibility, and screenshots are kept as
test artefacts in $CSPKIT_TEST_ARTIFACTS (default: test-artifacts/web)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.products.report.browser import CHROMIUM, CHROMIUM_ARGS, missing_chromium

ARTIFACTS = Path(os.environ.get("CSPKIT_TEST_ARTIFACTS", "test-artifacts")) / "web"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@dataclass
class Browse:
    page: Any
    base: str
    outside: list[str] = field(default_factory=list)    # requests that tried to leave
    problems: list[str] = field(default_factory=list)   # console errors, page errors

    def go(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        assert response is not None and response.ok, f"{path}: HTTP {response and response.status}"
        return response

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def serious_violations(self) -> list[str]:
        """axe-core's serious and critical violations on the current page, one line each."""
        script = (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
        self.page.evaluate(script)
        result = self.page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        return [f"{v['id']} ({v['impact']}): {v['help']} -- "
                + "; ".join(n["target"][0] if n["target"] else "?" for n in v["nodes"][:5])
                for v in result["violations"] if v.get("impact") in ("serious", "critical")]


@contextmanager
def browse(base: str, viewport: dict[str, int] | None = None,
           downloads: bool = False) -> Iterator[Browse]:
    from playwright import sync_api  # a test dependency: missing it is a failure, not a skip

    if not Path(CHROMIUM).exists():
        pytest.fail(missing_chromium())
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport=viewport or DESKTOP,
                                          accept_downloads=downloads)
            page = context.new_page()
            visit = Browse(page, base)

            def route(r: Any) -> None:
                host = urlparse(r.request.url).hostname
                if host == "127.0.0.1" or r.request.url.startswith(("data:", "blob:")):
                    r.continue_()
                else:
                    visit.outside.append(r.request.url)
                    r.abort()

            context.route("**/*", route)
            page.on("console", lambda m: m.type == "error" and visit.problems.append(m.text))
            page.on("pageerror", lambda e: visit.problems.append(str(e)))
            yield visit
        finally:
            browser.close()
