"""Fixtures of the labelling tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from labelling_data import write_dataset, write_run


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """Two episodes of 3 and 2 frames (5 frames)."""
    return write_dataset(tmp_path / "ds", [3, 2])


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    return write_run(tmp_path / "run", 2)
