"""Validation rules of the reward math, free of torch so that config schemas can apply them.

Each rule lives here once; the reward classes enforce it and :mod:`vlm_reward.config` reports
it at load time by calling the same function.
"""

from __future__ import annotations

from vlm_reward.errors import ConfigError

__all__ = ["check_alpha"]


def check_alpha(alpha: float, has_baseline: bool) -> float:
    """``alpha`` in [0, 1], and a baseline whenever ``alpha > 0``."""
    alpha = float(alpha)
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"alpha: expected a value in [0, 1], got {alpha}")
    if alpha > 0 and not has_baseline:
        raise ConfigError(
            f"alpha: {alpha} > 0 needs a baseline prompt (goal-baseline regularisation); "
            "add reward.baseline or set alpha to 0"
        )
    return alpha
