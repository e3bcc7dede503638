"""check_output_path: every way an output path can be wrong, found before anything is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vlm_reward.errors import ConfigError, OutputPathError
from vlm_reward.paths import check_output_path


def test_fine_paths_pass_and_create_nothing(tmp_path: Path) -> None:
    check_output_path(tmp_path, "--out", "dir")
    check_output_path(tmp_path / "a" / "b", "--out", "dir")
    check_output_path(tmp_path / "a" / "labels.csv", "--export", "file")
    (tmp_path / "old.csv").write_text("x")
    check_output_path(tmp_path / "old.csv", "--export", "file")  # replaced atomically later
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"]


@pytest.mark.parametrize(("target", "kind", "message"), [
    ("file.txt", "dir", "--opt: {tmp}/file.txt is a file, not a folder"),
    ("file.txt/sub/run", "dir", "lies under {tmp}/file.txt, which is a file"),
    ("file.txt/labels.csv", "file", "lies under {tmp}/file.txt, which is a file"),
    ("folder", "file", "--opt: {tmp}/folder is a folder; give a file path"),
])
def test_wrong_kind_or_parent(tmp_path: Path, target: str, kind: str, message: str) -> None:
    (tmp_path / "file.txt").write_text("keep")
    (tmp_path / "folder").mkdir()
    with pytest.raises(OutputPathError, match=message.format(tmp=tmp_path).replace(".", r"\.")):
        check_output_path(tmp_path / target, "--opt", kind)  # type: ignore[arg-type]
    assert (tmp_path / "file.txt").read_text() == "keep"


def test_is_a_config_error() -> None:
    assert issubclass(OutputPathError, ConfigError)


@pytest.mark.skipif(os.access("/proc/sys", os.W_OK), reason="no read-only folder here")
def test_read_only_location() -> None:
    with pytest.raises(OutputPathError, match="cannot write to /proc/sys"):
        check_output_path("/proc/sys/new/run", "--run-dir", "dir")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_folder_without_write_permission(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(OutputPathError, match="cannot write"):
            check_output_path(locked / "out", "--out", "dir")
    finally:
        locked.chmod(0o700)
