"""Every public name of the evaluation package resolves; importing it stays light."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import vlm_reward.evaluation as evaluation

MODULES = sorted(m.name for m in pkgutil.iter_modules(evaluation.__path__))


@pytest.mark.parametrize("name", evaluation.__all__)
def test_package_exports_resolve(name: str) -> None:
    assert getattr(evaluation, name) is not None


@pytest.mark.parametrize("module", MODULES)
def test_module_all_names_exist(module: str) -> None:
    mod = importlib.import_module(f"vlm_reward.evaluation.{module}")
    assert mod.__all__, module
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name}"


def test_package_import_does_not_load_torch_or_matplotlib() -> None:
    code = ("import sys, vlm_reward.evaluation; "
            "print('torch' in sys.modules, 'matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
