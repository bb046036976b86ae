"""The browser helper: with CSPKIT_REQUIRE_SYSTEM_DEPS=1 (as in CI) a missing chromium fails the
test that needs it, by name, rather than skipping it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.products.report import browser


def test_a_missing_chromium_fails_when_system_deps_are_required(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", str(tmp_path / "no-chromium"))
    page = tmp_path / "page.html"
    page.write_text("<p>x</p>", encoding="utf-8")
    with pytest.raises(pytest.fail.Exception, match="no-chromium.*CSPKIT_REQUIRE_SYSTEM_DEPS=1"):
        with browser.offline_page(page):
            pass


def test_chromium_tests_skip_only_when_not_required(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(browser, "CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.delenv("CSPKIT_REQUIRE_SYSTEM_DEPS", raising=False)
    assert browser.skip_without_chromium()
    monkeypatch.setenv("CSPKIT_REQUIRE_SYSTEM_DEPS", "1")
    assert not browser.skip_without_chromium()
    monkeypatch.setattr(browser, "CHROMIUM", "/bin/sh")   # present: never skipped
    monkeypatch.delenv("CSPKIT_REQUIRE_SYSTEM_DEPS")
    assert not browser.skip_without_chromium()
