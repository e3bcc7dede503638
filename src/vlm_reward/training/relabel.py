"""Batched reward relabelling of Stable-Baselines3 buffers.

Envs run in ``deferred`` mode (:class:`vlm_reward.wrappers.VLMReward`): each step returns a
placeholder reward and the rendered frame in ``info["vlm_frame"]``. :class:`BatchedRelabel`
records, at every step, the frames and the buffer slot ``(pos, env)`` the transition is about
to be written to (SB3 calls callbacks *before* storing a step), and later embeds all waiting
frames in one batch and adds ``reward - placeholder`` to those slots.

When the write-back happens, so that no gradient step ever sees a placeholder:

* off-policy (SAC, DQN): in ``on_rollout_end``, which SB3 calls after the rollout's last
  transition is stored and *before* ``train()`` samples the replay buffer. While
  ``num_timesteps <= learning_starts`` no training follows, so frames keep accumulating into
  bigger batches. Every checkpoint flushes first, so a saved replay buffer has real rewards.
* on-policy (PPO): the rollout buffer's ``compute_returns_and_advantage`` is wrapped on the
  instance so the relabel runs first; SB3's timeout bootstrap (``+ gamma * V``) already added
  to the stored reward is kept, because the relabel adds rather than overwrites.
* any algorithm: once ``max_pending`` frames wait (memory bound), the already stored ones are
  flushed early, at the next step.

Nothing here needs the batch size to divide episode lengths or env counts: a flush embeds
whatever is waiting, in chunks of the embedder's ``batch_size``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np
from stable_baselines3.common.buffers import ReplayBuffer, RolloutBuffer
from stable_baselines3.common.callbacks import BaseCallback

from vlm_reward.errors import ConfigError
from vlm_reward.frame_buffer import FRAME_KEY, frames_from_infos

if TYPE_CHECKING:
    from vlm_reward.reward import RewardModel
    from vlm_reward.training.stats import RunStats, StopFlag

__all__ = ["BatchedRelabel"]


class BatchedRelabel(BaseCallback):
    """SB3 callback: embed deferred frames in large batches and write rewards into the buffer.

    Args:
        reward_model: frames -> rewards.
        stats: where VLM episode returns and inference time are reported.
        stop: shared stop flag (SIGINT/SIGTERM); a step that stops training is not stored by
            SB3, so its frames are not recorded either.
        max_pending: flush early once this many frames wait.
        placeholder_reward: the reward the deferred wrapper returned.
    """

    def __init__(
        self,
        reward_model: RewardModel,
        stats: RunStats,
        stop: StopFlag,
        max_pending: int = 4096,
        placeholder_reward: float = 0.0,
    ) -> None:
        super().__init__()
        if max_pending < 1:
            raise ConfigError(f"relabel_max_pending: expected >= 1, got {max_pending}")
        self.reward_model = reward_model
        self.stats = stats
        self.stop = stop
        self.max_pending = max_pending
        self.placeholder_reward = placeholder_reward
        self._frames: list[np.ndarray] = []
        self._slots: list[tuple[int, int, bool]] = []  # (buffer pos, env, episode done)
        self._vlm_running: np.ndarray | None = None
        self.flushes = 0
        self.relabelled = 0
        self.last_batch: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # for tests

    # -- buffer access -------------------------------------------------------------------
    @property
    def buffer(self) -> ReplayBuffer | RolloutBuffer:
        replay = getattr(self.model, "replay_buffer", None)
        if replay is not None:
            return replay
        return self.model.rollout_buffer

    @property
    def n_pending(self) -> int:
        return len(self._frames)

    def _on_training_start(self) -> None:
        n_envs = self.training_env.num_envs
        self._vlm_running = np.zeros(n_envs, np.float64)
        buffer = self.buffer
        # pending steps must never wrap around the buffer onto each other
        self.max_pending = max(1, min(self.max_pending, (buffer.buffer_size - 1) * n_envs))
        if isinstance(buffer, RolloutBuffer) and not getattr(buffer, "_vlm_relabel_hooked", False):
            original = buffer.compute_returns_and_advantage

            def compute_after_relabel(*args: Any, **kwargs: Any) -> None:
                self.flush()
                original(*args, **kwargs)

            buffer.compute_returns_and_advantage = compute_after_relabel  # type: ignore[method-assign]
            buffer._vlm_relabel_hooked = True  # type: ignore[attr-defined]

    def _on_step(self) -> bool:
        if self.stop.requested:
            return False  # SB3 will not store this step: do not record it
        if self.n_pending >= self.max_pending:
            self.flush()  # every waiting step is already stored (callbacks run before storing)
        infos = self.locals["infos"]
        dones = self.locals["dones"]
        pos = int(self.buffer.pos)
        for env_idx, frame in enumerate(frames_from_infos(infos, len(dones), FRAME_KEY)):
            if frame is None:
                raise ConfigError(
                    "reward_mode batched: the env returned no info['vlm_frame']; wrap it with "
                    "VLMReward(mode='deferred')"
                )
            self._frames.append(frame)
            self._slots.append((pos, env_idx, bool(dones[env_idx])))
        return True

    def _on_rollout_end(self) -> None:
        learning = getattr(self.model, "learning_starts", None)
        if learning is None:
            return  # on-policy: the hook in compute_returns_and_advantage already flushed
        if self.model.num_timesteps > learning or self.n_pending >= self.max_pending:
            self.flush()

    def _on_training_end(self) -> None:
        self.flush()

    # -- the relabel -----------------------------------------------------------------------
    def flush(self) -> int:
        """Embed every waiting frame in one batch and write the rewards back; returns count."""
        if not self._frames:
            return 0
        start = time.perf_counter()
        rewards = self.reward_model.rewards(np.stack(self._frames))
        self.stats.inference_seconds += time.perf_counter() - start
        slots = np.asarray([(p, e) for p, e, _ in self._slots], np.int64)
        target = self.buffer.rewards
        target[slots[:, 0], slots[:, 1]] += rewards - self.placeholder_reward
        self.last_batch = (np.stack(self._frames), slots, rewards)
        running = self._vlm_running
        if running is None:
            running = self._vlm_running = np.zeros(target.shape[1], np.float64)
        for (_, env_idx, done), reward in zip(self._slots, rewards, strict=True):
            running[env_idx] += float(reward)
            self.stats.vlm_step_rewards.append(float(reward))
            if done:
                self.stats.vlm_returns.append(float(running[env_idx]))
                running[env_idx] = 0.0
        n = len(self._frames)
        self._frames.clear()
        self._slots.clear()
        self.flushes += 1
        self.relabelled += n
        return n
