"""expand_inputs against hostile inputs: zip bombs, deep nesting, too many members, headers
that lie, devices and pipes, and the temporary folders it leaves (none)."""

from __future__ import annotations

import builtins
import gzip
import io
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from cspkit.errors import InputError
from cspkit.sources import inputs
from cspkit.sources.inputs import (
    InputFile,
    expand_inputs,
    gunzip,
    gunzip_bytes,
    remove_stale_work_dirs,
    work_root,
)
from cspkit.sources.limits import IngestLimits

CSV = b"Crime ID,Month\r\na,2024-01\r\n"


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the system temp folder at this test's own, so what is left there can be seen."""
    tmp = tmp_path / "systemp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    for name in list(os.environ):
        if name.startswith("CSPKIT_MAX_"):
            monkeypatch.delenv(name)
    return tmp


def leftovers(tmp: Path) -> list[Path]:
    return [p for p in tmp.rglob("*") if p.is_file()]


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_a_plain_zip_and_a_zip_inside_it_are_expanded(tmp_path: Path, private_tmp: Path) -> None:
    inner = zip_bytes({"2024-01/b.csv": CSV})
    outer = make_zip(tmp_path / "outer.zip", {"a.csv": CSV, "inner.zip": inner})
    with expand_inputs([outer]) as files:
        assert [f.display for f in files] == [f"{outer}!a.csv", f"{outer}!inner.zip!2024-01/b.csv"]
        assert all(f.path.read_bytes() == CSV for f in files)
        assert files[1].name == "b.csv"
    assert leftovers(private_tmp) == []


def test_a_zip_bomb_is_refused_before_anything_is_extracted(tmp_path: Path,
                                                            private_tmp: Path) -> None:
    # 20 MB of zeros deflates to ~20 KB: a ratio near 1000, far beyond any real data.
    bomb = make_zip(tmp_path / "bomb.zip", {"zeros.csv": bytes(20 << 20)})
    assert bomb.stat().st_size < 100_000
    with pytest.raises(InputError) as caught, expand_inputs([bomb]):
        pass
    message = str(caught.value)
    assert message.startswith(f"{bomb}!zeros.csv: the member's compression ratio is 1,0")
    assert "max_compression_ratio" in message and "CSPKIT_MAX_COMPRESSION_RATIO" in message
    assert leftovers(private_tmp) == []


def test_many_small_members_adding_up_to_a_bomb_are_refused(tmp_path: Path) -> None:
    # Each member is under the size below which a ratio is not checked; together they are not.
    bomb = make_zip(tmp_path / "bombs.zip", {f"{n}.csv": bytes(900 << 10) for n in range(30)})
    with pytest.raises(InputError) as caught, expand_inputs([bomb]):
        pass
    assert str(caught.value).startswith(f"{bomb}: the archive's compression ratio is ")


def test_the_declared_total_is_checked_against_the_limit(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    archive = make_zip(tmp_path / "big.zip", {"a.csv": CSV * 40, "b.csv": CSV * 40})
    monkeypatch.setenv("CSPKIT_MAX_ARCHIVE_TOTAL_BYTES", "1500")
    with pytest.raises(InputError, match="max_archive_total_bytes"), expand_inputs([archive]):
        pass
    monkeypatch.setenv("CSPKIT_MAX_ARCHIVE_TOTAL_BYTES", "10k")
    with expand_inputs([archive]) as files:
        assert len(files) == 2


def test_nesting_beyond_the_depth_limit_is_refused(tmp_path: Path, private_tmp: Path) -> None:
    deepest = zip_bytes({"c.csv": CSV})
    middle = zip_bytes({"deepest.zip": deepest})
    outer = make_zip(tmp_path / "outer.zip", {"middle.zip": middle})
    with pytest.raises(InputError) as caught, expand_inputs([outer]):
        pass
    assert str(caught.value).startswith(f"{outer}!middle.zip!deepest.zip: ")
    assert "max_archive_depth" in str(caught.value)
    assert leftovers(private_tmp) == []
    with expand_inputs([outer], limits=IngestLimits(max_archive_depth=3)) as files:
        assert [f.display for f in files] == [f"{outer}!middle.zip!deepest.zip!c.csv"]


def test_too_many_members_are_refused_counting_nested_ones(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    many = make_zip(tmp_path / "many.zip", {f"{n}.csv": CSV for n in range(6)})
    monkeypatch.setenv("CSPKIT_MAX_ARCHIVE_MEMBERS", "5")
    with pytest.raises(InputError, match="max_archive_members"), expand_inputs([many]):
        pass
    nested = make_zip(tmp_path / "nested.zip", {
        "a.csv": CSV, "b.csv": CSV, "in.zip": zip_bytes({f"{n}.csv": CSV for n in range(3)})})
    with pytest.raises(InputError, match="max_archive_members") as caught, \
            expand_inputs([nested]):
        pass
    assert str(caught.value).startswith(f"{nested}!in.zip: ")


def lie_about_size(data: bytes, declared: int) -> bytes:
    """Rewrite the uncompressed size in the local and central headers of a one-member zip."""
    out = bytearray(data)
    local = out.index(b"PK\x03\x04")
    struct.pack_into("<I", out, local + 22, declared)
    central = out.index(b"PK\x01\x02")
    struct.pack_into("<I", out, central + 24, declared)
    return bytes(out)


def test_a_member_bigger_than_its_header_says_is_stopped(tmp_path: Path,
                                                         private_tmp: Path) -> None:
    body = b"".join(b"row %d,2024-01\r\n" % n for n in range(20_000))   # ~300 KB
    archive = tmp_path / "lie.zip"
    archive.write_bytes(lie_about_size(zip_bytes({"a.csv": body}), 1000))
    with pytest.raises(InputError) as caught, expand_inputs([archive]):
        pass
    assert str(caught.value).startswith(f"{archive}!a.csv: ")
    assert leftovers(private_tmp) == []


def test_bytes_beyond_the_declared_size_are_never_written(tmp_path: Path, private_tmp: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    # zipfile itself stops at the declared size; count anyway, in case a reader does not.
    archive = make_zip(tmp_path / "lie.zip", {"a.csv": CSV})
    seen: list[int] = []

    def endless(self: zipfile.ZipFile, info: zipfile.ZipInfo, *args: object) -> io.BytesIO:
        seen.append(info.file_size)
        return io.BytesIO(bytes(5 << 20))

    monkeypatch.setattr(zipfile.ZipFile, "open", endless)
    with pytest.raises(InputError, match="more than the 27 bytes its header declares") as caught, \
            expand_inputs([archive]):
        pass
    assert str(caught.value).startswith(f"{archive}!a.csv: ") and seen == [len(CSV)]
    assert leftovers(private_tmp) == []


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_link_to_a_device_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "street.csv"
    link.symlink_to("/dev/zero")
    with pytest.raises(InputError) as caught, expand_inputs([link]):
        pass
    assert str(caught.value) == (f"{link}: is a link to /dev/zero, which is a character device, "
                                 "not a regular file (expected a data file, a folder or a .zip "
                                 "archive)")
    # In a folder it is refused too, not skipped in silence.
    with pytest.raises(InputError, match="character device"), expand_inputs([tmp_path]):
        pass


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_named_pipe_is_refused_without_opening_it(tmp_path: Path) -> None:
    pipe = tmp_path / "street.csv"
    os.mkfifo(pipe)
    with pytest.raises(InputError, match="named pipe"), expand_inputs([pipe]):
        pass


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "street.csv"
    big.write_bytes(CSV * 10)
    monkeypatch.setenv("CSPKIT_MAX_FILE_BYTES", "100")
    with pytest.raises(InputError) as caught, expand_inputs([big]):
        pass
    assert str(caught.value).startswith(f"{big}: the file is 270 bytes, over the limit of 100 "
                                        "bytes (max_file_bytes); set CSPKIT_MAX_FILE_BYTES")


def test_the_work_folder_is_removed_after_an_exception(tmp_path: Path,
                                                       private_tmp: Path) -> None:
    archive = make_zip(tmp_path / "a.zip", {"a.csv": CSV})
    with pytest.raises(RuntimeError), expand_inputs([archive]) as files:
        assert files[0].path.is_file() and files[0].path.is_relative_to(private_tmp)
        raise RuntimeError("the loader failed")
    assert leftovers(private_tmp) == [] and list(work_root().iterdir()) == []


def test_a_killed_runs_folder_is_removed_and_a_live_ones_kept(tmp_path: Path) -> None:
    root = work_root()
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead = root / f"{int(finished.stdout)}-abc123"
    (dead / "x").mkdir(parents=True)
    (dead / "x" / "big.csv").write_bytes(CSV)
    running = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live = root / f"{running.pid}-def456"
        live.mkdir()
        (root / "not-a-run").mkdir()
        with expand_inputs([make_zip(tmp_path / "a.zip", {"a.csv": CSV})]):
            pass
        assert not dead.exists() and live.exists() and (root / "not-a-run").exists()
        assert remove_stale_work_dirs(root) == []
    finally:
        running.kill()
        running.wait()
    assert remove_stale_work_dirs(root) == [live]


def test_a_disk_full_while_unpacking_says_so(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    archive = make_zip(tmp_path / "a.zip", {"a.csv": CSV})

    def full(file: Path, mode: str = "r", *args: object) -> object:
        if "w" in mode:
            raise OSError(28, "No space left on device")
        return builtins.open(file, mode, *args)

    monkeypatch.setattr(inputs, "open", full, raising=False)
    with pytest.raises(InputError, match="no space left to unpack it"), \
            expand_inputs([archive]):
        pass


def test_gzip_is_decompressed_within_the_limits(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    plain = tmp_path / "street.csv.gz"
    plain.write_bytes(gzip.compress(CSV * 1000))
    file = InputFile(str(plain), plain)
    assert gunzip_bytes(file) == CSV * 1000
    assert gunzip(file, tmp_path / "out" / "street.csv").read_bytes() == CSV * 1000

    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(bytes(20 << 20)))
    with pytest.raises(InputError, match="compression ratio .*max_compression_ratio"):
        gunzip(InputFile(str(bomb), bomb), tmp_path / "bomb.csv")
    assert not (tmp_path / "bomb.csv").exists()

    monkeypatch.setenv("CSPKIT_MAX_FILE_BYTES", "1000")
    with pytest.raises(InputError, match=f"^{plain}: the decompressed file is .*max_file_bytes"):
        gunzip_bytes(file)
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(CSV * 1000)[:-20])
    with pytest.raises(InputError, match="not a readable gzip file"):
        gunzip_bytes(InputFile(str(broken), broken))
