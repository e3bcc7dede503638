"""Rewards on VLM embeddings, as pure tensor math behind one interface.

Families (each a :class:`FrameReward`): VLM-RM's goal-baseline reward (the default),
MineCLIP-style negatives, sliding windows and RoboCLIP-style episode rewards; goals from
sentences, images or both (:func:`mix_goals`). :class:`RewardMix` turns the score into the
training reward (normalisation, potential-based shaping, the env's own reward);
:class:`RewardModel` puts an embedder in front. Names load on first use, so the torch-free
:mod:`vlm_reward.reward.rules` can be imported alone.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = [
    "EpisodeReward",
    "FrameReward",
    "GoalBaselineReward",
    "NegativesReward",
    "RewardMix",
    "RewardModel",
    "Steps",
    "WindowReward",
    "goal_baseline_reward",
    "mean_direction",
    "mix_goals",
]

_OWNERS = {
    "EpisodeReward": "temporal",
    "WindowReward": "temporal",
    "FrameReward": "interface",
    "GoalBaselineReward": "goal_baseline",
    "goal_baseline_reward": "goal_baseline",
    "mean_direction": "goal_baseline",
    "mix_goals": "goal_baseline",
    "NegativesReward": "negatives",
    "RewardMix": "shaping",
    "RewardModel": "model",
    "Steps": "model",
}

if TYPE_CHECKING:
    from vlm_reward.reward.goal_baseline import (
        GoalBaselineReward,
        goal_baseline_reward,
        mean_direction,
        mix_goals,
    )
    from vlm_reward.reward.interface import FrameReward
    from vlm_reward.reward.model import RewardModel, Steps
    from vlm_reward.reward.negatives import NegativesReward
    from vlm_reward.reward.shaping import RewardMix
    from vlm_reward.reward.temporal import EpisodeReward, WindowReward


def __getattr__(name: str) -> Any:
    owner = _OWNERS.get(name)
    if owner is None:
        raise AttributeError(f"module 'vlm_reward.reward' has no attribute {name!r}")
    return getattr(import_module(f"vlm_reward.reward.{owner}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
