"""Atomic writes: all or nothing, and files readable like those of a plain open()."""

import doctest
import os
import stat

import pytest

from vlm_reward import atomic
from vlm_reward.atomic import atomic_open, atomic_write_json, atomic_write_text


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
