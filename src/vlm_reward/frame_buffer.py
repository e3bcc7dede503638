"""Stateful frame storage for deferred (batched) VLM rewards.

Rendering is cheap next to embedding, and a VLM is far faster on one batch of 512 frames than
on 512 batches of one. Deferred rewards therefore keep frames here and embed them together:
:class:`FrameBuffer` holds one env's frames (an episode), :class:`RolloutFrames` collects the
frames that vectorised envs return through ``info`` during a rollout, from either Gymnasium
vector envs (dict-of-arrays infos) or Stable-Baselines3 VecEnvs (list-of-dicts infos).

Example:
    >>> import numpy as np
    >>> buf = FrameBuffer()
    >>> buf.append(np.zeros((4, 4, 3), np.uint8))
    >>> len(buf), buf.stacked().shape
    (1, (1, 4, 4, 3))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from vlm_reward.errors import FrameError
from vlm_reward.reward.model import Steps

if TYPE_CHECKING:
    import torch

    from vlm_reward.reward import RewardModel

__all__ = ["FRAME_KEY", "OBSERVATION_KEY", "FrameBuffer", "RolloutFrames", "frames_from_infos"]

FRAME_KEY = "vlm_frame"
OBSERVATION_KEY = "vlm_observation"
"""Info key of the post-step observation (a learned reward with ``inputs: observation``):
SB3 buffers store the pre-step observation, and VecEnvs replace a finished env's with the reset
one, so the deferred wrapper hands the observation the frame shows alongside it."""


class FrameBuffer:
    """Frames of one environment in arrival order, stacked on demand for one batched embed."""

    def __init__(self) -> None:
        self._frames: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self._frames)

    def append(self, frame: np.ndarray) -> None:
        """Keep one uint8 ``(H, W, 3)`` frame."""
        self._frames.append(frame)

    def clear(self) -> None:
        """Drop every frame (called on reset)."""
        self._frames.clear()

    def stacked(self) -> np.ndarray:
        """All frames as one ``(N, H, W, 3)`` array (empty ``(0, 0, 0, 3)`` if none)."""
        if not self._frames:
            return np.zeros((0, 0, 0, 3), np.uint8)
        return np.stack(self._frames)

    def pop_all(self) -> np.ndarray:
        """Return the stacked frames and clear the buffer."""
        out = self.stacked()
        self.clear()
        return out


def frames_from_infos(infos: Any, n_envs: int, key: str = FRAME_KEY) -> list[np.ndarray | None]:
    """Per-env frames from one vectorised step's infos (``None`` where an env gave none).

    Gymnasium vector envs return a dict with ``infos[key]`` stacked over envs and a boolean mask
    ``infos["_" + key]``; SB3 VecEnvs return a list with one dict per env. An env that was being
    auto-reset on this step (Gymnasium's next-step autoreset) has no frame.
    """
    if isinstance(infos, Mapping):
        if key not in infos:
            return [None] * n_envs
        mask = np.asarray(infos.get("_" + key, np.ones(n_envs, bool)), bool)
        stacked = infos[key]
        return [np.asarray(stacked[i]) if mask[i] else None for i in range(n_envs)]
    if isinstance(infos, Sequence) and not isinstance(infos, str):
        if len(infos) != n_envs:
            raise FrameError(f"infos: expected {n_envs} per-env dicts, got {len(infos)}")
        return [info.get(key) if isinstance(info, Mapping) else None for info in infos]
    raise FrameError(f"infos: expected a dict or a list of dicts, got {type(infos).__name__}")


class RolloutFrames:
    """Frames of a whole rollout of ``n_envs`` vectorised envs, rewarded in one batch.

    Call :meth:`add` after each vector step with that step's infos; :meth:`compute` then embeds
    every stored frame at once and returns a ``(T, n_envs)`` reward array, with
    ``fill_value`` where an env returned no frame (auto-reset steps).

    Example:
        >>> rollout = RolloutFrames(n_envs=2)                           # doctest: +SKIP
        >>> for _ in range(100):                                        # doctest: +SKIP
        ...     obs, _, term, trunc, infos = envs.step(envs.action_space.sample())
        ...     rollout.add(infos)
        >>> rewards = rollout.compute(reward_model)  # (100, 2) in one pass   # doctest: +SKIP
    """

    def __init__(self, n_envs: int, key: str = FRAME_KEY) -> None:
        if n_envs < 1:
            raise FrameError(f"n_envs: expected a positive integer, got {n_envs}")
        self.n_envs = n_envs
        self.key = key
        self._frames: list[np.ndarray] = []
        self._slots: list[tuple[int, int]] = []  # (step, env) of each stored frame
        self._steps = 0

    def __len__(self) -> int:
        """Number of vector steps added."""
        return self._steps

    @property
    def n_frames(self) -> int:
        """Number of frames waiting to be embedded."""
        return len(self._frames)

    @property
    def frames(self) -> Sequence[np.ndarray]:
        """The waiting frames in arrival order (read-only view for embedding ahead)."""
        return self._frames

    def add(self, infos: Any) -> None:
        """Record the frames of one vector step."""
        for env_idx, frame in enumerate(frames_from_infos(infos, self.n_envs, self.key)):
            if frame is not None:
                self._frames.append(frame)
                self._slots.append((self._steps, env_idx))
        self._steps += 1

    def compute(
        self, reward_model: RewardModel, fill_value: float = 0.0, steps: Steps | None = None,
        embeddings: torch.Tensor | None = None,
    ) -> np.ndarray:
        """Embed all frames in one call and return rewards ``(T, n_envs)``; then clear.

        Args:
            reward_model: frames -> rewards.
            fill_value: reward where an env returned no frame.
            steps: episode flags as ``(T, n_envs)`` arrays (``streams`` is ignored: each env
                is its own stream). Required when ``reward_model.needs_steps`` (temporal
                families, shaping, the env's reward in the mix).
            embeddings: the frames' embeddings if already computed (embedded ahead, in
                arrival order); else they are embedded here.
        """
        out = np.full((self._steps, self.n_envs), fill_value, np.float32)
        if self._frames:
            step_idx, env_idx = (list(a) for a in zip(*self._slots, strict=True))
            if embeddings is None:
                embeddings = reward_model.embed(np.stack(self._frames))
            elif embeddings.shape[0] != len(self._frames):
                raise FrameError(
                    f"RolloutFrames.compute: {embeddings.shape[0]} embeddings for "
                    f"{len(self._frames)} frames"
                )
            if reward_model.needs_steps:
                if steps is None:
                    raise FrameError(
                        "RolloutFrames.compute: this reward needs episode flags (steps=...)"
                    )

                def pick(a: np.ndarray | None) -> np.ndarray | None:
                    return None if a is None else np.asarray(a)[step_idx, env_idx]

                flags = Steps(np.asarray(env_idx), pick(steps.starts), pick(steps.ends),
                              pick(steps.terminals), pick(steps.env_rewards))
                rewards = reward_model.step_rewards_from_embeddings(embeddings, flags)
            else:
                rewards = reward_model.rewards_from_embeddings(embeddings)
            out[step_idx, env_idx] = rewards
        self.clear()
        return out

    def take(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(frames (N, H, W, 3), step (N,), env (N,))`` of every stored frame, in the order
        added; then clear. For rewards that need the frames themselves (learned rewards)."""
        if not self._frames:
            out = (np.zeros((0, 0, 0, 3), np.uint8), np.zeros(0, int), np.zeros(0, int))
        else:
            step_idx, env_idx = (np.asarray(a) for a in zip(*self._slots, strict=True))
            out = (np.stack(self._frames), step_idx, env_idx)
        self.clear()
        return out

    def clear(self) -> None:
        """Drop all stored frames and steps."""
        self._frames.clear()
        self._slots.clear()
        self._steps = 0
