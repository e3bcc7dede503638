"""The one reward interface every family implements: frame embeddings of a step stream in,
rewards out.

A *stream* is one environment's steps in time order. Per-frame families (VLM-RM's
goal-baseline reward, negatives) score each frame on its own and keep no state. Temporal
families (a window over the last k frames, one reward per episode) need the frames that came
before, possibly in an earlier batch, so they carry a small per-stream state between calls.
Training relabels many envs' frames in one batch; :class:`vlm_reward.reward.RewardModel`
splits such a batch into streams and calls :meth:`FrameReward.stream` once per stream.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch

__all__ = ["FrameReward"]


class FrameReward(ABC):
    """A reward on unit frame embeddings.

    Subclasses implement :meth:`score`; temporal ones also override :meth:`new_state` and
    :meth:`stream` and set ``temporal = True``.
    """

    #: True when a frame's reward depends on earlier frames of its episode.
    temporal: bool = False
    #: True when :meth:`stream` takes the uint8 frames ``(T, H, W, 3)`` themselves rather
    #: than their embeddings: temporal families whose clips a video model embeds.
    #: :meth:`score` always takes embeddings.
    takes_frames: bool = False

    @abstractmethod
    def score(self, states: torch.Tensor) -> torch.Tensor:
        """Reward of each embedding of ``states (N, D)`` taken on its own (``(N,)``).

        For temporal families this is the reward of a one-frame episode, which is what state
        sweeps and per-frame evaluation show.
        """

    def __call__(self, states: torch.Tensor) -> torch.Tensor:
        return self.score(states)

    def new_state(self) -> Any:
        """Per-stream state at the start of training (``None`` for per-frame families)."""
        return None

    def stream(
        self, states: torch.Tensor, starts: torch.Tensor, ends: torch.Tensor, state: Any
    ) -> tuple[torch.Tensor, Any]:
        """Rewards ``(T,)`` for the next ``T`` steps of one stream, and the updated state.

        Args:
            states: ``(T, D)`` embeddings of the frames rendered after each step.
            starts: ``(T,)`` bool, True where the step is the first of an episode.
            ends: ``(T,)`` bool, True where the step ends an episode (terminated or truncated).
            state: what :meth:`new_state` or the previous call returned.
        """
        return self.score(states), state
