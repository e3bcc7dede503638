"""The training package imports light and W&B stays optional."""

from __future__ import annotations

import pytest


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
