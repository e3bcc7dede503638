from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from small_envs import CARTPOLE


@pytest.fixture
def make_cfg(tiny_clip_dir: Path):
    """Build a validated RunConfig around the tiny random model with tiny budgets."""
    from vlm_reward.config import validate_run_config

    def make(algorithm: str, env: str = CARTPOLE, hyperparameters: dict | None = None,
             **overrides: Any):
        data: dict[str, Any] = {
            "env": {"id": env},
            "reward": {"model": str(tiny_clip_dir), "goal": "a pole standing upright",
                       "baseline": "a pole", "device": "cpu", "precision": "fp32",
                       "batch_size": 128},
            "algorithm": {"name": algorithm, "hyperparameters": hyperparameters or {}},
            "total_steps": 400,
            "device": "cpu",
            "logging": {"eval_every": 0, "video_every": 0, "checkpoint_every": 0,
                        "eval_episodes": 1, "progress_bar": False},
        }
        for key, value in overrides.items():
            if isinstance(value, dict) and isinstance(data.get(key), dict):
                data[key] = {**data[key], **value}
            else:
                data[key] = value
        return validate_run_config(data)

    return make


@pytest.fixture(autouse=True)
def _one_torch_thread(one_torch_thread):
    """Every training test runs torch on one thread (tests/conftest.py says why)."""
    yield
