"""Rewards learned from VLM labels: the VLM is asked only about the steps that matter.

``reward.learned`` in a run config turns one on (docs/learned_rewards.md);
:func:`build_learned_reward` builds it from the config and :func:`load_learned_reward` reads a
saved one (a file or a run folder) for scoring without the VLM.
"""

from vlm_reward.learned.base import LearnedReward
from vlm_reward.learned.build import build_learned_reward, learned_class, load_learned_reward

__all__ = ["LearnedReward", "build_learned_reward", "learned_class", "load_learned_reward"]
