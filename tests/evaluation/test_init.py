"""Importing the evaluation package stays light (the CLI imports it on every start)."""

from __future__ import annotations

import subprocess
import sys


def test_package_import_does_not_load_torch_or_matplotlib() -> None:
    code = ("import sys, vlm_reward.evaluation; "
            "print('torch' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
