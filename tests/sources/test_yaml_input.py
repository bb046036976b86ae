"""load_yaml and the loaders built on it (partner schemas, report settings, place weights)
against hostile files: alias bombs, Latin-1 bytes, folders, huge files, huge values."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from cspkit.errors import CspkitError, InputError
from cspkit.measures import places
from cspkit.products.report.config import ConfigError, load_local_content
from cspkit.sources.partner import SchemaError, load_schema
from cspkit.sources.yaml_input import MAX_ALIASES, load_yaml, shorten


def billion_laughs() -> str:
    """Nine levels of nine aliases: 72 alias uses in ~600 bytes, 10^9 values if expanded."""
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, text: str | bytes, name: str = "file.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.fixture(autouse=True)
def default_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CSPKIT_MAX_YAML_BYTES", raising=False)


def test_plain_yaml_loads_with_anchors_and_merges(tmp_path: Path) -> None:
    path = write(tmp_path, "\ufeffbase: &base {x: 1}\nother:\n  <<: *base\n  y: é\nlist: [*base]\n")
    assert load_yaml(path, what="test file") == {
        "base": {"x": 1}, "other": {"x": 1, "y": "é"}, "list": [{"x": 1}]}
    assert load_yaml(write(tmp_path, ""), what="test file") is None


def test_a_billion_laughs_fails_fast(tmp_path: Path) -> None:
    text = billion_laughs()
    assert len(text) < 700 and text.count("*") < MAX_ALIASES  # the alias count alone passes
    path = write(tmp_path, text)
    started = time.perf_counter()
    with pytest.raises(InputError) as caught:
        load_yaml(path, what="test file")
    assert time.perf_counter() - started < 0.5
    assert str(caught.value).startswith(f"{path}, line ")
    assert "stand for more than 10,000 values in all" in str(caught.value)


def test_too_many_aliases(tmp_path: Path) -> None:
    path = write(tmp_path, "a: &a x\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n")
    with pytest.raises(InputError, match=f"more than {MAX_ALIASES} aliases"):
        load_yaml(path, what="test file")


def test_an_alias_inside_its_own_value_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a: &a\n  b: *a\n")
    with pytest.raises(InputError, match="line 2, column 6: alias \\*a refers to a value that "
                                         "contains it"):
        load_yaml(path, what="test file")


def test_deep_nesting_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "a:\n" + "".join("  " * n + "- \n" for n in range(1, 150)))
    with pytest.raises(InputError, match="line 101, column 201: values nested more than 100 "
                                         "levels deep"):
        load_yaml(path, what="test file")
    # Far deeper: libyaml may stop it first, in its own words; either way one clean error.
    path = write(tmp_path, "[" * 50_000 + "]" * 50_000)
    with pytest.raises(InputError, match="nest"):
        load_yaml(path, what="test file")


def test_latin1_bytes_are_reported_with_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "name: fire\nsource: Caf\xe9 data\n".encode("latin-1"))
    with pytest.raises(InputError) as caught:
        load_yaml(path, what="partner schema")
    assert str(caught.value) == (f"{path}, line 2, column 12: byte 0xE9 is not UTF-8 text (the "
                                 "file may be saved as Latin-1 or Windows-1252) (expected a "
                                 "partner schema saved as UTF-8)")


def test_a_folder_a_missing_file_and_a_huge_file_are_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="is a folder, not a file"):
        load_yaml(tmp_path, what="test file")
    with pytest.raises(InputError, match="no such file"):
        load_yaml(tmp_path / "nope.yaml", what="test file")
    big = write(tmp_path, "a: " + "x" * 300 + "\n")
    monkeypatch.setenv("CSPKIT_MAX_YAML_BYTES", "200")
    with pytest.raises(InputError, match="over the limit of 200 bytes .*CSPKIT_MAX_YAML_BYTES"):
        load_yaml(big, what="test file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_pipe_is_refused_without_opening_it(tmp_path: Path) -> None:
    pipe = tmp_path / "schema.yaml"
    os.mkfifo(pipe)
    with pytest.raises(InputError, match="not a regular file"):
        load_yaml(pipe, what="test file")


def test_messages_quoting_the_file_are_short_and_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a: !!python/object:" + "x" * 5000 + " {}\n")
    with pytest.raises(InputError) as caught:
        load_yaml(path, what="test file")
    assert len(str(caught.value)) < len(str(path)) + 400 and "\n" not in str(caught.value)
    assert shorten("a\n  b " + "c" * 300, 20) == "a b " + "c" * 15 + "…"


# --- through the public loaders ----------------------------------------------------------------

def test_schema_loader(tmp_path: Path) -> None:
    started = time.perf_counter()
    with pytest.raises(InputError, match="billion laughs"):
        load_schema(str(write(tmp_path, billion_laughs(), "bomb.yaml")))
    assert time.perf_counter() - started < 0.5
    with pytest.raises(InputError, match="line 1, column 7: byte 0xE9"):
        load_schema(str(write(tmp_path, b"name: \xe9\n", "latin.yaml")))
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    with pytest.raises(InputError):   # a folder is not a schema file, nor a shipped name
        load_schema(str(folder))
    # A huge value quoted back is cut short.
    huge = write(tmp_path, "name: x\nkind: events\nsource: s\nrestricted: [" +
                 ", ".join(["lol"] * 5000) + "]\n", "huge.yaml")
    with pytest.raises(SchemaError) as caught:
        load_schema(str(huge))
    assert "restricted: ['lol', 'lol'" in str(caught.value)
    assert len(str(caught.value)) < len(str(huge)) + 300


def test_config_loader(tmp_path: Path) -> None:
    started = time.perf_counter()
    with pytest.raises(ConfigError, match="billion laughs"):
        load_local_content(write(tmp_path, billion_laughs()))
    assert time.perf_counter() - started < 0.5
    with pytest.raises(ConfigError, match="line 1, column 14: byte 0xE9"):
        load_local_content(write(tmp_path, b"partnership: \xe9\n"))
    with pytest.raises(ConfigError, match="is a folder"):
        load_local_content(tmp_path)
    with pytest.raises(ConfigError) as caught:
        load_local_content(write(tmp_path, "parent: [" + ", ".join(["lol"] * 5000) + "]\n"))
    assert len(str(caught.value)) < 400
    with pytest.raises(ConfigError, match=r"unknown key\(s\) 1, colour"):
        load_local_content(write(tmp_path, "1: x\ncolour: red\n"))


def test_place_weights_loader(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert places.default_weights()["asb"] >= 0
    write(tmp_path, billion_laughs(), "place_weights.yaml")
    monkeypatch.setattr(places, "files", lambda package: tmp_path)
    with pytest.raises(CspkitError, match="billion laughs"):
        places.default_weights()
    write(tmp_path, b"asb: 1 # \xe9\n", "place_weights.yaml")
    with pytest.raises(InputError, match="line 1, column 10"):
        places.default_weights()
