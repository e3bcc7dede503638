"""Frames in, rewards out: an embedder, a reward family and how the score becomes the reward."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import torch

from vlm_reward.errors import ConfigError
from vlm_reward.preprocess import as_frame_batch
from vlm_reward.reward.goal_baseline import GoalBaselineReward
from vlm_reward.reward.interface import FrameReward
from vlm_reward.reward.shaping import RewardMix

if TYPE_CHECKING:
    from vlm_reward.models.base import Embedder

__all__ = ["RewardModel", "Steps"]


class Steps(NamedTuple):
    """Where each frame of a batch sits in its step stream (one stream per env).

    Arrays are ``(N,)``, aligned with the frames; frames of one stream are in time order.
    """

    streams: np.ndarray  # int: which env (stream) the step belongs to
    starts: np.ndarray  # bool: first step of an episode
    ends: np.ndarray  # bool: last step of an episode (terminated or truncated)
    terminals: np.ndarray | None = None  # bool: terminated (not truncated); for shaping
    env_rewards: np.ndarray | None = None  # float: the env's own reward; for env_weight


class RewardModel:
    """An :class:`Embedder`, a :class:`FrameReward` family and a :class:`RewardMix`.

    :meth:`rewards` scores frames as independent states (sweeps, evaluation, per-frame
    families in training); :meth:`step_rewards` scores the steps of env streams, keeping each
    stream's state between calls, and is what training and the wrapper use when the family is
    temporal or the mix needs the env reward or the previous state.

    Example:
        >>> rm = RewardModel.from_prompts(embedder, "a pole upright on a cart")  # doctest: +SKIP
        >>> rm.rewards(frames)  # (N,) float32 numpy array                       # doctest: +SKIP
    """

    def __init__(
        self, embedder: Embedder, reward: FrameReward, mix: RewardMix | None = None
    ) -> None:
        if not isinstance(reward, FrameReward):
            raise ConfigError(
                f"reward: expected a vlm_reward.reward.FrameReward, got {type(reward).__name__}"
            )
        self.embedder = embedder
        self.reward = reward
        self.mix = mix if mix is not None else RewardMix()
        self._states: dict[int, tuple[Any, Any]] = {}  # stream -> (family state, mix state)

    @classmethod
    def from_prompts(
        cls,
        embedder: Embedder,
        goal: str | Sequence[str],
        baseline: str | Sequence[str] | None = None,
        alpha: float = 0.0,
    ) -> RewardModel:
        """VLM-RM's reward: goal (and baseline) sentences with goal-baseline strength alpha."""
        return cls(embedder, GoalBaselineReward.from_prompts(embedder, goal, baseline, alpha))

    @property
    def needs_steps(self) -> bool:
        """True when a frame's reward depends on more than the frame (use step_rewards)."""
        return self.reward.temporal or not self.mix.is_identity

    def embed(self, frames: Any) -> torch.Tensor:
        """Image embeddings ``(N, D)`` for uint8 frames."""
        return self.embedder.encode_images(frames)

    def rewards_from_embeddings(self, embeddings: torch.Tensor) -> np.ndarray:
        """Per-frame rewards for precomputed image embeddings, as a float32 numpy array."""
        return self.reward.score(embeddings).numpy().astype(np.float32)

    def rewards(self, frames: Any) -> np.ndarray:
        """Rewards for uint8 frames ``(N, H, W, 3)`` as independent states: ``(N,)`` float32."""
        return self.rewards_from_embeddings(self.embed(frames))

    def step_rewards(self, frames: Any, steps: Steps) -> np.ndarray:
        """Training rewards ``(N,)`` for frames of env steps, in one embedding batch (a family
        whose clips a video model embeds gets the frames themselves)."""
        if self.reward.takes_frames:
            return self._step_rewards(as_frame_batch(frames), steps)
        return self._step_rewards(self.embed(frames), steps)

    def step_rewards_from_embeddings(self, embeddings: torch.Tensor, steps: Steps) -> np.ndarray:
        """:meth:`step_rewards` for precomputed image embeddings (image-model families)."""
        if self.reward.takes_frames:
            raise ConfigError(
                "step_rewards_from_embeddings: this reward embeds clips of frames with a video "
                "model, so it needs the frames; call step_rewards(frames, steps)"
            )
        return self._step_rewards(embeddings, steps)

    def _step_rewards(self, inputs: torch.Tensor, steps: Steps) -> np.ndarray:
        """Per-stream rewards of ``inputs`` (embeddings, or frames for ``takes_frames``)."""
        streams = np.asarray(steps.streams)
        n = inputs.shape[0]
        if any(len(a) != n for a in (streams, steps.starts, steps.ends)):
            raise ConfigError(f"steps: expected {n} entries per field, one per frame")
        if self.mix.needs_env_reward and steps.env_rewards is None:
            raise ConfigError("reward.env_weight is set, but the steps carry no env rewards")
        out = np.empty(n, np.float32)
        for stream in np.unique(streams):
            idx = np.flatnonzero(streams == stream)
            key = int(stream)
            family_state, mix_state = self._states.get(
                key, (self.reward.new_state(), self.mix.new_state())
            )
            starts = np.asarray(steps.starts, bool)[idx]
            ends = np.asarray(steps.ends, bool)[idx]
            scores, family_state = self.reward.stream(
                inputs[idx], torch.from_numpy(starts), torch.from_numpy(ends), family_state
            )
            terminals = (np.zeros(len(idx), bool) if steps.terminals is None
                         else np.asarray(steps.terminals, bool)[idx])
            env = None if steps.env_rewards is None else np.asarray(steps.env_rewards)[idx]
            out[idx], mix_state = self.mix.apply(
                scores.numpy(), env, starts, terminals, mix_state
            )
            self._states[key] = (family_state, mix_state)
        return out

    def reset_streams(self) -> None:
        """Forget every stream's state (a new run, or envs that were all reset)."""
        self._states.clear()
