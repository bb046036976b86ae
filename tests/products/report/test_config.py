"""The partnership's local content file is validated with clear errors."""

from __future__ import annotations

import pytest

from cspkit.products.report.config import ConfigError, load_local_content


def write(tmp_path, text):  # type: ignore[no-untyped-def]
    path = tmp_path / "local.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_file_is_read(tmp_path):
    local = load_local_content(write(tmp_path, """
partnership: East Cambridgeshire CSP
priorities: [ASB in Littleport, Rural crime]
recommendations: [Keep the place-based focus]
commentary:
  anti-social-behaviour: Youth ASB remains persistent.
sections: [key-findings, priorities, overall-crime, data-quality]
compare: "2018"
parent: county
"""))
    assert local.partnership == "East Cambridgeshire CSP"
    assert local.priorities == ["ASB in Littleport", "Rural crime"]
    assert local.commentary["anti-social-behaviour"].startswith("Youth")
    assert local.sections == ["key-findings", "priorities", "overall-crime", "data-quality"]
    assert local.compare == "2018"


def test_no_file_means_defaults():
    local = load_local_content(None)
    assert "issues" in local.sections and local.priorities == []


@pytest.mark.parametrize(("text", "message"), [
    ("priorities: ASB\n", "'priorities' should be a list"),
    ("sections: [overall-crime, weather]\n", "unknown section(s) weather"),
    ("colour: red\n", "unknown key(s) colour"),
    ("priorities: [ok, 3]\n", "'priorities' item 2 should be text"),
    ("parent: galaxy\n", "'parent' should be county, force or region"),
    ("priorities: [unclosed\n", "line 2"),
    ("- just\n- a list\n", "expected a mapping"),
])
def test_bad_files_are_refused_with_the_reason(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_local_content(path)
    assert str(path) in str(caught.value) and message in str(caught.value)
