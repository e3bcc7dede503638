"""Validation rules of the reward math, free of torch so that config schemas can apply them.

Each rule lives here once; the reward classes enforce it and :mod:`vlm_reward.config` reports
it at load time by calling the same function.
"""

from __future__ import annotations

from vlm_reward.errors import ConfigError

__all__ = ["check_alpha"]


def check_alpha(
    alpha: float, has_baseline: bool, baseline_name: str = "reward.baseline",
    alpha_name: str = "alpha",
) -> float:
    """``alpha`` in [0, 1], and a baseline whenever ``alpha > 0``.

    ``baseline_name`` / ``alpha_name`` are how the caller's user spells the settings (config
    keys, or CLI options such as ``--baseline``), so the message names the fix.
    """
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"{alpha_name}: expected a value in [0, 1], got {alpha}")
    if alpha > 0 and not has_baseline:
        raise ConfigError(
            f"{alpha_name}: {alpha} > 0 needs a baseline prompt (goal-baseline "
            f"regularisation); give {baseline_name} or set {alpha_name} to 0"
        )
    return alpha
