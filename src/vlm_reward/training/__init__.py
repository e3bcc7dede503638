"""Stable-Baselines3 training with VLM rewards, batched reward relabelling and run folders.

Public API::

    from vlm_reward.config import load_run_config
    from vlm_reward.training import train, resume, evaluate_run

    cfg = load_run_config("configs/cartpole-cpu.yaml", ["total_steps=5000"])
    results = train(cfg, run_dir="runs/cartpole")      # -> dict, also runs/cartpole/results.json

Stable-Baselines3 is imported on first use, not when this package is imported.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["evaluate_run", "resume", "train"]

if TYPE_CHECKING:
    from vlm_reward.training.runner import evaluate_run, resume, train


def __getattr__(name: str) -> Any:
    if name in __all__:
        from vlm_reward.training import runner

        return getattr(runner, name)
    raise AttributeError(f"module 'vlm_reward.training' has no attribute {name!r}")
