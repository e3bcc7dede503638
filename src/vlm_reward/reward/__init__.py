"""Rewards on VLM embeddings, as pure tensor math behind one interface.

Families (each a :class:`FrameReward`): VLM-RM's goal-baseline reward (the default),
MineCLIP-style negatives, sliding windows and RoboCLIP-style episode rewards; goals from
sentences, images or both (:func:`mix_goals`). :class:`RewardMix` turns the score into the
training reward (normalisation, potential-based shaping, the env's own reward);
:class:`RewardModel` puts an embedder in front.
"""

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
