from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread(one_torch_thread):
    """Every learned-reward test runs torch on one thread (tests/conftest.py says why)."""
    yield
