"""vlm-reward: specify an RL task with one sentence, reward it with a vision-language model.

The top level is the whole everyday API; everything else lives in its own module:

* :func:`load_model` -- any CLIP-like model as an :class:`Embedder` (unit embeddings).
* :class:`RewardModel` -- frames -> rewards for a goal (and baseline) sentence.
* :func:`make_rendering_env` and :class:`VLMReward` -- any Gymnasium env, rewarded by it.
* :func:`train` and :func:`evaluate_run` -- a config in, a run folder out.

Heavy imports (torch, open_clip, Stable-Baselines3) wait until a name is first used, so
``import vlm_reward`` stays fast for the command line.

Example:
    >>> import vlm_reward
    >>> from vlm_reward.wrappers import model_input_size
    >>> model = vlm_reward.load_model("demo", device="cpu", precision="fp32")
    >>> rm = vlm_reward.RewardModel.from_prompts(model, goal="a pole standing upright on a cart")
    >>> size = model_input_size(rm)  # draw frames at the size the model sees them
    >>> env = vlm_reward.make_rendering_env("vlm_reward/CartPole-v0", size)
    >>> env = vlm_reward.VLMReward(env, rm)
    >>> obs, info = env.reset(seed=0)
    >>> obs, reward, terminated, truncated, info = env.step(0)
    >>> -1.0 <= reward <= 1.0 and "env_reward" in info
    True
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Embedder",
    "GoalBaselineReward",
    "RewardModel",
    "VLMReward",
    "__version__",
    "evaluate_run",
    "load_model",
    "make_rendering_env",
    "train",
]

# public name -> module that owns it
_OWNERS = {
    "Embedder": "vlm_reward.models",
    "load_model": "vlm_reward.models",
    "GoalBaselineReward": "vlm_reward.reward",
    "RewardModel": "vlm_reward.reward",
    "VLMReward": "vlm_reward.wrappers",
    "make_rendering_env": "vlm_reward.rendering_env",
    "train": "vlm_reward.training",
    "evaluate_run": "vlm_reward.training",
}

if TYPE_CHECKING:
    from vlm_reward.models import Embedder, load_model
    from vlm_reward.rendering_env import make_rendering_env
    from vlm_reward.reward import GoalBaselineReward, RewardModel
    from vlm_reward.training import evaluate_run, train
    from vlm_reward.wrappers import VLMReward


def __getattr__(name: str) -> Any:
    owner = _OWNERS.get(name)
    if owner is None:
        raise AttributeError(f"module 'vlm_reward' has no attribute {name!r}")
    return getattr(import_module(owner), name)


def __dir__() -> list[str]:
    return sorted(__all__)
