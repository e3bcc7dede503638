"""vlm-reward: specify an RL task with one sentence, reward it with a vision-language model.

The public API is small: load a model with :func:`vlm_reward.load_model`, build a
:class:`vlm_reward.GoalBaselineReward` from prompts, and compute rewards for frames.
Heavy imports (torch, open_clip) are deferred until first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["Embedder", "GoalBaselineReward", "__version__", "load_model"]

if TYPE_CHECKING:
    from vlm_reward.models import Embedder, load_model
    from vlm_reward.reward import GoalBaselineReward


def __getattr__(name: str) -> Any:
    if name in ("Embedder", "load_model"):
        from vlm_reward import models

        return getattr(models, name)
    if name == "GoalBaselineReward":
        from vlm_reward.reward import GoalBaselineReward

        return GoalBaselineReward
    raise AttributeError(f"module 'vlm_reward' has no attribute {name!r}")
