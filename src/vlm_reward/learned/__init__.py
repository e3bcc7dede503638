"""Rewards learned from VLM labels: the VLM is asked only about the steps that matter."""

from vlm_reward.learned.base import LearnedReward

__all__ = ["LearnedReward"]
