"""The contract every learned reward keeps: a small network trained online from VLM labels.

A learned reward sits between the env steps and the VLM. Training hands it the frames (and,
when asked for, the observations) of new steps; it decides which of them the VLM labels
(:attr:`LearnedReward.vlm`, a :class:`vlm_reward.reward.RewardModel`), trains its own model
from those labels on its schedule, and gives the reward of every step. The buffers keep each
step's *inputs* (:meth:`LearnedReward.inputs`), so when the model changes the stored rewards
are recomputed from them (:meth:`LearnedReward.predict`) without asking the VLM again.

Implementations: :mod:`vlm_reward.learned.distill` (a student ensemble that regresses the VLM
reward and queries it where the ensemble disagrees) and :mod:`vlm_reward.learned.preference`
(a Bradley-Terry reward model learned from VLM comparisons of pairs).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from vlm_reward.config import LearnedConfig
    from vlm_reward.reward import RewardModel

__all__ = ["LearnedReward"]


class LearnedReward(ABC):
    """A reward model learned from VLM labels, asked for rewards step by step during training.

    Args:
        cfg: the ``reward.learned`` section.
        vlm: the reward model whose labels are learned (its embedder may run on Ray).
        seed: seeds the networks and the query sampling (the run's seed unless cfg sets one).
    """

    def __init__(self, cfg: LearnedConfig, vlm: RewardModel | None, seed: int) -> None:
        self.cfg = cfg
        self.vlm = vlm  # None when loaded for scoring only (no more labels can be asked for)
        self.seed = seed

    @abstractmethod
    def inputs(self, frames: np.ndarray, observations: np.ndarray | None) -> np.ndarray:
        """The learned model's input for each step, ``(N, ...)``: downsampled uint8 frames or
        the observation vectors (``cfg.inputs``); what buffers store for later relabels."""

    @abstractmethod
    def rewards(self, frames: np.ndarray, observations: np.ndarray | None,
                env_steps: int) -> np.ndarray:
        """Training rewards ``(N,)`` float32 for new steps, asking the VLM about those the
        query rule picks; ``env_steps`` is the run's step count after these steps."""

    @abstractmethod
    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """The learned model's rewards ``(N,)`` float32 for stored :meth:`inputs` (no VLM)."""

    @abstractmethod
    def maybe_update(self, env_steps: int) -> bool:
        """Train the model if its schedule says so at ``env_steps``; True when it changed
        (rewards already stored are stale and should be recomputed with :meth:`predict`)."""

    @abstractmethod
    def metrics(self) -> dict[str, float]:
        """Values logged under ``reward/``: ``vlm_queries`` (frames or pairs so far),
        ``vlm_queries_per_step``, ``learned_loss``, and agreement with the VLM on held-out
        labels (``learned_pearson``, ``learned_epic``) once measurable."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs: weights, optimiser, label store, counters, RNG."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (the run resumes asking and training where it was)."""

    @abstractmethod
    def save(self, folder: Path) -> None:
        """Write the model (loadable for scoring without the VLM) and label store to ``folder``."""
