"""IngestLimits: defaults, environment overrides and their errors."""

from __future__ import annotations

import dataclasses

import pytest

from cspkit.errors import CspkitError
from cspkit.sources.limits import (
    GiB,
    IngestLimits,
    current_limits,
    env_name,
    format_bytes,
    parse_size,
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for spec in dataclasses.fields(IngestLimits):
        monkeypatch.delenv(env_name(spec.name), raising=False)


def test_defaults_without_environment() -> None:
    limits = current_limits()
    assert limits == IngestLimits()
    assert limits.max_file_bytes == 4 * GiB and limits.max_archive_depth == 2
    with pytest.raises(dataclasses.FrozenInstanceError):
        limits.max_file_bytes = 1  # type: ignore[misc]


def test_every_setting_has_a_documented_variable() -> None:
    from cspkit.sources import limits as module

    for spec in dataclasses.fields(IngestLimits):
        assert env_name(spec.name) in (module.__doc__ or "")


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CSPKIT_MAX_FILE_BYTES", "500MB")
    monkeypatch.setenv("CSPKIT_MAX_COMPRESSION_RATIO", "40.5")
    monkeypatch.setenv("CSPKIT_MAX_ARCHIVE_DEPTH", "3")
    monkeypatch.setenv("CSPKIT_MAX_FIELD_BYTES", "64k")
    limits = current_limits()
    assert limits.max_file_bytes == 500 << 20 and limits.max_compression_ratio == 40.5
    assert limits.max_archive_depth == 3 and limits.max_field_bytes == 64 << 10


@pytest.mark.parametrize(("name", "value", "message"), [
    ("CSPKIT_MAX_FILE_BYTES", "lots", "is not a size"),
    ("CSPKIT_MAX_FILE_BYTES", "0", "must be more than 0"),
    ("CSPKIT_MAX_ARCHIVE_MEMBERS", "2.5", "must be a whole number above 0"),
    ("CSPKIT_MAX_COMPRESSION_RATIO", "-1", "must be a number above 0"),
])
def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                      message: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(CspkitError, match=message) as caught:
        current_limits()
    assert str(caught.value).startswith(f"{name}={value!r}")


def test_sizes_read_and_shown() -> None:
    assert parse_size("2GiB", "x") == 2 * GiB and parse_size(" 1024 ", "x") == 1024
    assert parse_size("1.5k", "x") == 1536
    assert format_bytes(27) == "27 bytes" and format_bytes(1536) == "1.5 KiB"
    assert format_bytes(5 * GiB) == "5.0 GiB"
