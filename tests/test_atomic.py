"""Atomic writes: all or nothing, and files readable like those of a plain open()."""

import doctest
import os
import stat

import pytest

from vlm_reward import atomic
from vlm_reward.atomic import atomic_open, atomic_path, atomic_write_json, atomic_write_text


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_written_file_gets_the_umask_permissions_of_a_plain_open(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    target = atomic_write_json(tmp_path / "results.json", {"a": 1})
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert _mode(target) == _mode(plain)  # not mkstemp's owner-only 0o600


def test_failed_write_keeps_the_old_file_and_leaves_no_temp_file(tmp_path):
    target = atomic_write_text(tmp_path / "config.yaml", "old: 1\n")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("new: half")
        raise RuntimeError("crash mid-write")
    assert target.read_text() == "old: 1\n"
    assert os.listdir(tmp_path) == ["config.yaml"]


def test_binary_mode_and_newline_control(tmp_path):
    with atomic_open(tmp_path / "blob.bin", "wb") as fh:
        fh.write(b"\x00\x01")
    assert (tmp_path / "blob.bin").read_bytes() == b"\x00\x01"
    atomic_write_text(tmp_path / "t.csv", "a,b\r\n", newline="")
    assert (tmp_path / "t.csv").read_bytes() == b"a,b\r\n"


def test_unknown_mode_is_refused(tmp_path):
    with pytest.raises(ValueError, match="mode"), atomic_open(tmp_path / "x", "a"):
        pass
    assert not list(tmp_path.iterdir())


def test_docstring_example_runs():
    assert doctest.testmod(atomic).failed == 0


def test_file_and_folder_are_fsynced_around_the_rename(tmp_path, monkeypatch):
    """Without fsync a power cut after the rename can leave an empty or missing file."""
    synced = []
    real_fsync = os.fsync

    def spy(fd):
        synced.append(stat.S_ISDIR(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", spy)
    atomic_write_json(tmp_path / "results.json", {"a": 1})
    assert synced == [False, True]  # the temp file's data, then the folder's new entry


def test_atomic_path_for_libraries_that_write_files_themselves(tmp_path):
    plain = tmp_path / "plain.bin"
    plain.write_bytes(b"")
    target = tmp_path / "model.zip"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".model.zip.")
        assert tmp.suffix == ".tmp"  # SB3 keeps a suffix it is given
        tmp.write_bytes(b"zip")
        assert not target.exists()
    assert target.read_bytes() == b"zip" and _mode(target) == _mode(plain)
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed mid-save")
    assert target.read_bytes() == b"zip"
    assert sorted(os.listdir(tmp_path)) == ["model.zip", "plain.bin"]
