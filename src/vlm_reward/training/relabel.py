"""Batched VLM rewards written into Stable-Baselines3 buffers before anything reads them.

Envs run in ``deferred`` mode (:class:`vlm_reward.wrappers.VLMReward`): each step returns a
placeholder reward and the rendered frame in ``info["vlm_frame"]``. The buffers here are SB3's
own buffer classes with one addition: they keep the frames of the transitions they store, and
embed all of them in one batch (``flush``) before the stored rewards are used.
They are passed to SB3 through its ``replay_buffer_class`` / ``rollout_buffer_class``
arguments (:func:`buffer_arguments`), so "no gradient step sees a placeholder" holds by
construction, not by callback timing:

* off-policy (SAC, DQN): :class:`RelabelReplayBuffer` (and its dict-observation and n-step
  variants) takes the frames from the ``infos`` SB3 passes to ``add``, at the slot ``pos`` the
  transition is written to. **The VLM reward enters in ``sample()``**: it flushes first, so
  every gradient step samples real rewards. Before ``learning_starts`` nothing samples, so
  frames accumulate into large batches.
* on-policy (PPO): :class:`RelabelRolloutBuffer` (and :class:`RelabelDictRolloutBuffer`).
  **The VLM reward enters in ``compute_returns_and_advantage()``**: it flushes before SB3
  computes advantages; ``get()`` only hands out those advantages. SB3's ``RolloutBuffer.add``
  receives no infos, so :class:`FeedRolloutFrames`, a callback, hands each step's frames to the
  buffer (``stage``); SB3 calls callbacks right before ``add``, which binds the staged frames to
  its own ``pos``. The callback only delivers frames; every write-back stays in the buffer. A
  step that a callback stops is never added, and its staged frames are replaced at the next
  step. (A VecEnv wrapper could deliver the frames too, but it would need the buffer, which SB3
  creates from the env after the wrapper exists.)

The write-back adds ``reward - placeholder`` rather than overwriting, so SB3's timeout
bootstrap (``+ gamma * V(terminal obs)``, added by PPO to the stored reward of a truncated step)
is kept. Flushes also happen early once ``max_pending`` frames wait (memory bound) and, in a
replay buffer, before ``add`` would overwrite a slot whose frame is still waiting (buffers
smaller than the flush interval wrap around safely).

With ``reward.learned`` (:mod:`vlm_reward.learned`), the same flush asks the learned reward
instead of the VLM, for every step (it asks the VLM itself about the steps its query rule
picks). The buffer also keeps each step's learned-model input (downsampled frame or post-step
observation), the reward it wrote and whether the VLM labelled it; when the learned model
changes after a flush (:meth:`LearnedReward.maybe_update`), every stored reward that was not a
VLM label is recomputed from those inputs (PEBBLE's relabel; in a rollout buffer, the rollout
about to be used). The write-back adds the difference, as above.

The reward model is not part of a buffer's state: :class:`Relabelling` holds it (and the
episode statistics and counters) and is attached after the algorithm is built or loaded
(:meth:`Relabelling.attach`). Pickling a buffer (``save_replay_buffer``) flushes it first and
leaves the reward model out, so a saved replay buffer holds real rewards only; after
``load_replay_buffer`` the run attaches the reward model again.
"""

from __future__ import annotations

import inspect
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import (
    DictReplayBuffer,
    DictRolloutBuffer,
    NStepReplayBuffer,
    ReplayBuffer,
    RolloutBuffer,
)
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm

from vlm_reward.errors import CheckpointError, ConfigError
from vlm_reward.frame_buffer import (
    FRAME_KEY,
    OBSERVATION_KEY,
    RolloutFrames,
    frames_from_infos,
)
from vlm_reward.reward.model import Steps
from vlm_reward.training.embed_ahead import EmbedAhead

if TYPE_CHECKING:
    from stable_baselines3.common.base_class import BaseAlgorithm

    from vlm_reward.learned import LearnedReward
    from vlm_reward.reward import RewardModel
    from vlm_reward.training.stats import RunStats

__all__ = [
    "FeedRolloutFrames",
    "RelabelDictReplayBuffer",
    "RelabelDictRolloutBuffer",
    "RelabelNStepReplayBuffer",
    "RelabelReplayBuffer",
    "RelabelReplayMixin",
    "RelabelRolloutBuffer",
    "RelabelRolloutMixin",
    "Relabelling",
    "buffer_arguments",
]


class Relabelling:
    """The reward side of relabelling: the reward model, VLM episode returns, counters.

    One per run; it outlives the buffers it is attached to (a resumed off-policy run replaces
    the replay buffer with the loaded one and attaches again). Never pickled.

    Args:
        reward_model: frames -> rewards (batched in chunks of its ``batch_size``).
        stats: where VLM step rewards, episode returns and inference time are reported.
        placeholder_reward: the reward the deferred wrapper returned.
        embed_ahead: embed full chunks of waiting frames in a worker thread while the envs
            step (:mod:`vlm_reward.training.embed_ahead`); rewards are the same either way.
        learned: a learned reward that gives every step's reward instead of ``reward_model``
            (it asks the VLM itself); None: the VLM rewards every step.
    """

    def __init__(
        self,
        reward_model: RewardModel,
        stats: RunStats | None = None,
        placeholder_reward: float = 0.0,
        embed_ahead: bool = False,
        learned: LearnedReward | None = None,
    ) -> None:
        self.reward_model = reward_model
        self.stats = stats
        self.placeholder_reward = placeholder_reward
        self.ahead = (EmbedAhead(self._timed_embed, reward_model.embedder.batch_size)
                      if embed_ahead else None)
        self._ahead_seconds = 0.0  # worker time not yet added to stats
        self.learned = learned
        self.buffer: _RelabelMixin | None = None
        self.relabelled = 0
        self.flushes = 0
        self.model_updates = 0  # learned-model updates, each followed by a relabel
        self.recomputed = 0  # stored rewards recomputed after learned-model updates
        self._model: BaseAlgorithm | None = None
        self._running = np.zeros(0, np.float64)  # VLM return so far of each env's episode

    def attach(self, model: BaseAlgorithm) -> list[BaseCallback]:
        """Attach to ``model``'s buffer; returns the callbacks ``learn`` needs (PPO: one).

        Call after building or loading the algorithm, and again after ``load_replay_buffer``.
        """
        off_policy = isinstance(model, OffPolicyAlgorithm)
        buffer = model.replay_buffer if off_policy else model.rollout_buffer  # type: ignore[attr-defined]
        if not isinstance(buffer, _RelabelMixin):
            raise CheckpointError(
                f"the {type(model).__name__} buffer is a {type(buffer).__name__}, which cannot "
                "relabel deferred frames (a replay buffer saved by a run without reward_mode "
                "batched?): resume with the run's own reward_mode, or build the algorithm with "
                "buffer_arguments(...)"
            )
        buffer.relabelling = self
        buffer._next_start = np.ones(buffer.n_envs, bool)  # learn() resets the envs first
        self.buffer = buffer
        self._model = model
        self._running = np.zeros(buffer.n_envs, np.float64)
        return [FeedRolloutFrames()] if isinstance(buffer, RolloutBuffer) else []

    def flush(self) -> int:
        """Relabel every frame the attached buffer holds now; returns how many."""
        return self.buffer.flush() if self.buffer is not None else 0

    def close(self) -> None:
        """Stop the embed-ahead worker, if any."""
        if self.ahead is not None:
            self.ahead.close()

    def _timed_embed(self, frames: np.ndarray) -> torch.Tensor:
        start = time.perf_counter()
        out = self.reward_model.embed(frames)
        self._ahead_seconds += time.perf_counter() - start  # one worker: no race
        return out

    def offer(self, frames: RolloutFrames) -> None:
        """A buffer's waiting frames grew: start embedding full chunks ahead (if enabled)."""
        if self.ahead is not None:
            self.ahead.offer(frames.frames)

    def discard(self) -> None:
        """A buffer dropped its waiting frames: drop what was embedded ahead for them."""
        if self.ahead is not None:
            self.ahead.discard()

    def rewards(self, frames: RolloutFrames, flags: Steps) -> np.ndarray:
        """``(T, n_envs)`` VLM rewards of ``frames`` in one call (which empties it); records
        step rewards and the VLM returns of episodes that ``flags.ends (T, n_envs)`` ends."""
        start = time.perf_counter()
        embeddings = self.ahead.collect(frames.frames) if self.ahead is not None else None
        rewards = frames.compute(self.reward_model, steps=flags, embeddings=embeddings)
        self._record(rewards, flags.ends, start)
        return rewards

    def learned_rewards(
        self, frames: RolloutFrames, observations: np.ndarray | None, flags: Steps
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The learned reward's ``(T, n_envs)`` rewards of ``frames`` (which it empties),
        with each step's stored input ``(T, n_envs, ...)`` and whether the VLM labelled it.

        ``observations`` are ``(T, n_envs, ...)`` post-step observations, or None when the
        learned model sees frames.
        """
        learned = self.learned
        assert learned is not None  # the buffer calls this only with a learned reward
        start = time.perf_counter()
        t, n_envs = flags.ends.shape
        stacked, _, env_idx = frames.take()  # step-major; every env gives a frame (checked)
        obs = None if observations is None else observations.reshape(t * n_envs, -1)
        steps = int(self._model.num_timesteps) if self._model is not None else 0
        streams = Steps(env_idx, flags.starts.reshape(-1), flags.ends.reshape(-1),
                        None if flags.terminals is None else flags.terminals.reshape(-1))
        rewards = learned.rewards(stacked, obs, steps, streams).reshape(t, n_envs)
        queried = learned.queried()
        inputs = learned.inputs(stacked, obs)
        mask = np.zeros(t * n_envs, bool) if queried is None else np.asarray(queried, bool)
        self._record(rewards, flags.ends, start)
        return (rewards, inputs.reshape(t, n_envs, *inputs.shape[1:]),
                mask.reshape(t, n_envs))

    def after_flush(self, buffer: _RelabelMixin) -> None:
        """Let the learned model train on its schedule; if it changed, recompute ``buffer``'s
        stored rewards that were not VLM labels."""
        if self.learned is None:
            return
        start = time.perf_counter()
        steps = int(self._model.num_timesteps) if self._model is not None else 0
        if self.learned.maybe_update(steps):
            self.model_updates += 1
            self.recomputed += buffer.recompute_learned(self.learned)
        if self.stats is not None:
            self.stats.inference_seconds += time.perf_counter() - start

    def _record(self, rewards: np.ndarray, dones: np.ndarray, start: float) -> None:
        self.relabelled += rewards.size
        self.flushes += 1
        if self.stats is not None:
            # time waited here, plus the worker's time: with the worker, the two overlap only
            # where the flush waits for a chunk still in flight
            ahead, self._ahead_seconds = self._ahead_seconds, 0.0
            self.stats.inference_seconds += time.perf_counter() - start + ahead
            self.stats.vlm_step_rewards.extend(rewards.ravel().tolist())
        for step_rewards, step_dones in zip(rewards, dones, strict=True):
            self._running += step_rewards
            for env in np.flatnonzero(step_dones):
                if self.stats is not None:
                    self.stats.vlm_returns.append(float(self._running[env]))
                self._running[env] = 0.0


class _RelabelMixin:
    """Frames of stored transitions waiting for their VLM reward, and the write-back.

    Mixed in front of an SB3 buffer class; ``rewards``, ``n_envs`` and ``buffer_size`` are the
    buffer's own.
    """

    rewards: np.ndarray
    n_envs: int
    buffer_size: int

    def __init__(self, *args: Any, max_pending: int = 4096, **kwargs: Any) -> None:
        if max_pending < 1:
            raise ConfigError(f"relabel_max_pending: expected >= 1, got {max_pending}")
        self.max_pending = max_pending
        self.relabelling: Relabelling | None = None
        super().__init__(*args, **kwargs)
        self._clear_pending()

    def _clear_pending(self) -> None:
        if getattr(self, "relabelling", None) is not None:
            self.relabelling.discard()  # no-op after a flush, which collected them
        self._pending = RolloutFrames(self.n_envs)  # frames of the waiting steps
        self._pending_obs: list[np.ndarray] = []  # post-step observations (learned inputs)
        self._pending_rows: list[int] = []  # buffer row each waiting step is stored in
        self._pending_flags: list[tuple[np.ndarray, ...]] = []  # (start, done, terminal, r_env)
        if not hasattr(self, "_next_start"):
            self._next_start = np.ones(self.n_envs, bool)  # the next step begins an episode

    @property
    def n_pending(self) -> int:
        """Frames waiting for their reward."""
        return self._pending.n_frames

    def _check_frames(self, infos: Any) -> None:
        """Refuse a step without frames (or without a reward model) before SB3 stores it."""
        if self.relabelling is None:
            raise RuntimeError(
                f"{type(self).__name__}: no reward model attached; call Relabelling.attach(model)"
            )
        if any(frame is None for frame in frames_from_infos(infos, self.n_envs, FRAME_KEY)):
            raise ConfigError(
                "reward_mode batched: the env returned no info['vlm_frame']; wrap it with "
                "VLMReward(mode='deferred')"
            )
        if self._wants_observations and any(
            o is None for o in frames_from_infos(infos, self.n_envs, OBSERVATION_KEY)
        ):
            raise ConfigError(
                "reward.learned.inputs observation: the env returned no "
                "info['vlm_observation']; wrap it with VLMReward(mode='deferred', "
                "keep_observation=True)"
            )

    @property
    def _wants_observations(self) -> bool:
        learned = self.relabelling.learned if self.relabelling is not None else None
        return learned is not None and not learned.scores_frames

    def _hold(self, row: int, infos: Any, dones: np.ndarray) -> None:
        done = np.asarray(dones, bool).reshape(self.n_envs)
        truncated = np.array([bool(i.get("TimeLimit.truncated", False)) for i in infos])
        env_reward = np.array([float(i.get("env_reward", 0.0)) for i in infos])
        self._pending.add(infos)
        self.relabelling.offer(self._pending)  # type: ignore[union-attr]  # checked on add
        if self._wants_observations:
            self._pending_obs.append(np.stack(
                frames_from_infos(infos, self.n_envs, OBSERVATION_KEY)  # type: ignore[arg-type]
            ))
        self._pending_rows.append(row)
        self._pending_flags.append((self._next_start.copy(), done, done & ~truncated, env_reward))
        self._next_start = done.copy()  # SB3 VecEnvs reset a finished env within the step
        if self.n_pending >= self.max_pending:
            self.flush()

    def flush(self) -> int:
        """Embed every waiting frame in one batch and add ``reward - placeholder`` to its slot."""
        if not self._pending_rows:
            return 0
        assert self.relabelling is not None  # _check_frames refuses frames without it
        n = self.n_pending
        starts, ends, terminals, env_rewards = (np.stack(a) for a in zip(*self._pending_flags,
                                                                       strict=True))
        flags = Steps(np.zeros(0, int), starts, ends, terminals, env_rewards)
        rows = np.asarray(self._pending_rows)
        relabelling = self.relabelling
        if relabelling.learned is not None:
            obs = np.stack(self._pending_obs) if self._pending_obs else None
            rewards, inputs, queried = relabelling.learned_rewards(self._pending, obs, flags)
            self._keep_learned(rows, inputs, rewards, queried)
        else:
            rewards = relabelling.rewards(self._pending, flags)
        delta = rewards - relabelling.placeholder_reward
        self.rewards[rows] += delta.astype(self.rewards.dtype)
        self._clear_pending()
        relabelling.after_flush(self)
        return n

    def _keep_learned(self, rows: np.ndarray, inputs: np.ndarray, rewards: np.ndarray,
                      queried: np.ndarray) -> None:
        """Store the learned-model inputs of ``rows`` with the rewards written and the VLM
        mask, for :meth:`recompute_learned` (allocated on first use; numpy commits the pages
        of a big replay buffer only as rows are filled)."""
        if getattr(self, "_learned_inputs", None) is None or (
            self._learned_inputs.shape[2:] != inputs.shape[2:]
        ):
            size = (self.buffer_size, self.n_envs)
            self._learned_inputs = np.zeros((*size, *inputs.shape[2:]), inputs.dtype)
            self._learned_values = np.zeros(size, np.float32)
            self._learned_queried = np.zeros(size, bool)
            self._learned_valid = np.zeros(self.buffer_size, bool)
        self._learned_inputs[rows] = inputs
        self._learned_values[rows] = rewards
        self._learned_queried[rows] = queried
        self._learned_valid[rows] = True

    def recompute_learned(self, learned: LearnedReward) -> int:
        """Rewrite every stored reward that is not a VLM label with ``learned.predict``;
        returns how many. The difference is added, so bootstraps SB3 added are kept."""
        valid = getattr(self, "_learned_valid", None)
        if valid is None or not valid.any():
            return 0
        rows = np.flatnonzero(valid)
        inputs = self._learned_inputs[rows]
        predicted = learned.predict(inputs.reshape(-1, *inputs.shape[2:])).reshape(
            len(rows), self.n_envs)
        old = self._learned_values[rows]
        new = np.where(self._learned_queried[rows], old, predicted).astype(np.float32)
        self.rewards[rows] += (new - old).astype(self.rewards.dtype)
        self._learned_values[rows] = new
        return int((~self._learned_queried[rows]).sum())

    def reset(self) -> None:
        """Drop waiting frames with the data they belong to (a rollout SB3 discards)."""
        super().reset()  # type: ignore[misc]
        self._clear_pending()  # also runs inside RolloutBuffer.__init__, after n_envs is set
        if getattr(self, "_learned_valid", None) is not None:
            self._learned_valid[:] = False  # those rows are free again

    def __getstate__(self) -> dict[str, Any]:
        self.flush()  # a saved buffer holds real rewards only
        state = self.__dict__.copy()
        state["relabelling"] = None  # the reward model is reattached after loading
        state.pop("_staged", None)
        return state


class RelabelReplayMixin(_RelabelMixin):
    """Put in front of any SB3 replay buffer class: frames come with ``add``'s infos and
    ``sample`` relabels first."""

    def add(self, obs: Any, next_obs: Any, action: Any, reward: Any, done: Any,
            infos: list[dict[str, Any]]) -> None:
        self._check_frames(infos)
        if len(self._pending_rows) >= self.buffer_size:
            self.flush()  # the row at pos still waits for its reward: write it before reuse
        row = int(self.pos)  # type: ignore[attr-defined]
        super().add(obs, next_obs, action, reward, done, infos)  # type: ignore[misc]
        self._hold(row, infos, done)

    def sample(self, *args: Any, **kwargs: Any) -> Any:
        self.flush()  # off-policy: where the VLM reward enters
        return super().sample(*args, **kwargs)  # type: ignore[misc]


class RelabelRolloutMixin(_RelabelMixin):
    """Put in front of any SB3 rollout buffer class: frames are staged by
    :class:`FeedRolloutFrames` before ``add``; advantages are computed after relabelling."""

    _staged: tuple[Any, np.ndarray] | None = None

    def stage(self, infos: Any, dones: np.ndarray) -> None:
        """Infos (frames) and dones of the step SB3 is about to ``add`` (replaces unused ones)."""
        self._check_frames(infos)
        self._staged = (infos, np.asarray(dones))

    def add(self, *args: Any, **kwargs: Any) -> None:
        if self._staged is None:
            raise RuntimeError(
                f"{type(self).__name__}.add: no frames staged for this step; pass the "
                "callbacks returned by Relabelling.attach(model) to learn()"
            )
        (infos, dones), self._staged = self._staged, None
        row = int(self.pos)  # type: ignore[attr-defined]
        super().add(*args, **kwargs)  # type: ignore[misc]
        self._hold(row, infos, dones)

    def compute_returns_and_advantage(self, *args: Any, **kwargs: Any) -> None:
        self.flush()  # on-policy: where the VLM reward enters
        super().compute_returns_and_advantage(*args, **kwargs)  # type: ignore[misc]


class RelabelReplayBuffer(RelabelReplayMixin, ReplayBuffer):
    """SB3 ``ReplayBuffer`` whose deferred rewards are relabelled before ``sample``."""


class RelabelDictReplayBuffer(RelabelReplayMixin, DictReplayBuffer):
    """SB3 ``DictReplayBuffer`` (dict observations) relabelled before ``sample``."""


class RelabelNStepReplayBuffer(RelabelReplayMixin, NStepReplayBuffer):
    """SB3 ``NStepReplayBuffer`` (``n_steps > 1``) relabelled before ``sample``."""


class RelabelRolloutBuffer(RelabelRolloutMixin, RolloutBuffer):
    """SB3 ``RolloutBuffer`` relabelled before ``compute_returns_and_advantage``."""


class RelabelDictRolloutBuffer(RelabelRolloutMixin, DictRolloutBuffer):
    """SB3 ``DictRolloutBuffer`` (dict observations) relabelled before advantages."""


class FeedRolloutFrames(BaseCallback):
    """Hands each step's frames to the rollout buffer, which SB3 ``add``s right after callbacks.

    Delivery only: the buffer binds the frames to its slot and writes the rewards back.
    """

    def _on_step(self) -> bool:
        buffer = self.model.rollout_buffer
        assert isinstance(buffer, RelabelRolloutMixin)  # Relabelling.attach returns this only then
        buffer.stage(self.locals["infos"], self.locals["dones"])
        return True


def buffer_arguments(
    algo_cls: type[BaseAlgorithm],
    observation_space: spaces.Space,
    hyperparameters: dict[str, Any],
    max_pending: int,
) -> dict[str, Any]:
    """The ``*_buffer_class`` / ``*_buffer_kwargs`` constructor arguments for batched rewards.

    Keeps the user's ``*_buffer_kwargs``; the same arguments are passed when loading, so a
    checkpoint always comes back with a relabelling buffer.
    """
    is_dict = isinstance(observation_space, spaces.Dict)
    off_policy = issubclass(algo_cls, OffPolicyAlgorithm)
    prefix = "replay" if off_policy else "rollout"
    if f"{prefix}_buffer_class" in hyperparameters:
        raise ConfigError(
            f"algorithm.hyperparameters.{prefix}_buffer_class cannot be combined with "
            "reward_mode batched (it needs its own buffer); use reward_mode per_step"
        )
    kwargs = {**hyperparameters.get(f"{prefix}_buffer_kwargs", {}), "max_pending": max_pending}
    cls: type
    if not off_policy:
        cls = RelabelDictRolloutBuffer if is_dict else RelabelRolloutBuffer
    elif is_dict:
        cls = RelabelDictReplayBuffer
    elif hyperparameters.get("n_steps", 1) > 1:  # SB3 ignores n_steps with a custom class
        cls = RelabelNStepReplayBuffer
        gamma = inspect.signature(algo_cls).parameters["gamma"].default
        kwargs |= {"n_steps": hyperparameters["n_steps"],
                   "gamma": hyperparameters.get("gamma", gamma)}
    else:
        cls = RelabelReplayBuffer
    return {f"{prefix}_buffer_class": cls, f"{prefix}_buffer_kwargs": kwargs}
