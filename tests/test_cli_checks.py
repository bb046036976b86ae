"""Paths from the command line checked before any work: a folder to write into, a file to read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cspkit import cli_checks
from cspkit.cli_checks import input_file, output_folder
from cspkit.errors import CspkitError


def test_output_folder_accepts_new_and_existing_folders(tmp_path: Path) -> None:
    assert output_folder(tmp_path) == tmp_path
    assert output_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()          # the check creates nothing
    assert output_folder(Path("relative-folder-that-is-not-there"))


def test_output_folder_refuses_a_file(tmp_path: Path) -> None:
    file = tmp_path / "report.html"
    file.write_text("x")
    with pytest.raises(CspkitError, match=r"^--out .*report\.html: is a file, not a folder "
                                          r"\(expected a folder to write into"):
        output_folder(file)
    with pytest.raises(CspkitError, match=r"report\.html/sub: .*report\.html is a file"):
        output_folder(file / "sub")


def test_output_folder_refuses_a_read_only_folder(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    if os.geteuid() == 0:   # root writes anywhere: let the check see the mode bits
        monkeypatch.setattr(cli_checks, "_writable", lambda p: bool(p.stat().st_mode & 0o200))
    try:
        with pytest.raises(CspkitError, match=r"locked: the folder is not writable"):
            output_folder(locked, "--out")
        with pytest.raises(CspkitError, match=r"locked/new: its parent .*locked is not writable"):
            output_folder(locked / "new")
    finally:
        locked.chmod(0o755)


def test_input_file(tmp_path: Path) -> None:
    polygon = tmp_path / "area.geojson"
    polygon.write_text("{}")
    assert input_file(polygon, "--polygon", "a GeoJSON file") == polygon
    with pytest.raises(CspkitError, match=r"^--polygon .*absent\.geojson: no such file "
                                          r"\(expected a GeoJSON file\)$"):
        input_file(tmp_path / "absent.geojson", "--polygon", "a GeoJSON file")
    with pytest.raises(CspkitError, match="is a folder, not a file"):
        input_file(tmp_path, "--polygon", "a GeoJSON file")
