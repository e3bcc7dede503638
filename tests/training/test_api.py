"""Public names import, doctests run, W&B stays optional."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "vlm_reward.config",
    "vlm_reward.wrappers",
    "vlm_reward.frame_buffer",
    "vlm_reward.training",
    "vlm_reward.training.callbacks",
    "vlm_reward.training.checkpoints",
    "vlm_reward.training.env_factory",
    "vlm_reward.training.relabel",
    "vlm_reward.training.rollout",
    "vlm_reward.training.runner",
    "vlm_reward.training.stats",
    "vlm_reward.training.video",
    "vlm_reward.cli.train",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_import(name):
    module = importlib.import_module(name)
    for attr in module.__all__:
        assert getattr(module, attr) is not None


@pytest.mark.parametrize("name", ["vlm_reward.config", "vlm_reward.frame_buffer"])
def test_doctests(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0


def test_training_package_import_is_light():
    import subprocess
    import sys

    code = "import sys, vlm_reward.training; print('stable_baselines3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_wandb_missing_is_a_clear_error(make_cfg, tmp_path, monkeypatch):
    import builtins

    from vlm_reward.errors import DependencyNotInstalled
    from vlm_reward.training import train

    real_import = builtins.__import__

    def no_wandb(name, *args, **kwargs):
        if name == "wandb":
            raise ImportError("No module named 'wandb'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_wandb)
    cfg = make_cfg("PPO", logging={"wandb": {"project": "x", "mode": "offline"}})
    with pytest.raises(DependencyNotInstalled, match=r"pip install 'vlm-reward\[wandb\]'"):
        train(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()  # failed before creating the run folder
