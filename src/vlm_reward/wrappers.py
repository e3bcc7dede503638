"""Turn any Gymnasium env that renders ``rgb_array`` frames into a language-rewarded env.

:class:`VLMReward` replaces the env's reward with a vision-language reward of the frame
rendered after each step. The env's own reward is kept in ``info["env_reward"]`` so ground
truth is always logged next to the VLM reward; ``info["success"]`` (where the env sets it)
passes through untouched.

Two modes:

* ``per_step`` renders, embeds and returns the VLM reward on every step. Simple and works
  with any algorithm or loop, but the VLM sees batches of one frame (per env), which wastes
  most of its throughput.
* ``deferred`` renders and stores the frame (in ``info["vlm_frame"]`` and, optionally, an
  episode buffer) and returns ``placeholder_reward``. Rewards are computed later, many frames
  at once: :meth:`VLMReward.episode_rewards` for one env, or
  :class:`vlm_reward.frame_buffer.RolloutFrames` for vector envs. Far faster, but the loop must
  write the rewards back (``vlm_reward.training`` does this for Stable-Baselines3).

Example:
    >>> import gymnasium as gym
    >>> env = VLMReward(gym.make("Pendulum-v1", render_mode="rgb_array"), reward_model)
    ...                                                                   # doctest: +SKIP
    >>> obs, info = env.reset(seed=0)                                     # doctest: +SKIP
    >>> obs, r, term, trunc, info = env.step(env.action_space.sample())   # doctest: +SKIP
    >>> info["env_reward"], info["vlm_reward"] == r                       # doctest: +SKIP
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal, SupportsFloat

import gymnasium as gym
import numpy as np

from vlm_reward.errors import ConfigError, EnvError
from vlm_reward.frame_buffer import FRAME_KEY, OBSERVATION_KEY, FrameBuffer
from vlm_reward.rendering_env import check_frame, make_rendering_env, render_size_kwargs
from vlm_reward.reward.model import Steps

if TYPE_CHECKING:
    from vlm_reward.reward import RewardModel

__all__ = [
    "VLMReward",
    "VLMRewardWrapper",
    "check_frame",
    "make_rendering_env",
    "model_input_size",
    "render_size_kwargs",
]

Mode = Literal["per_step", "deferred"]


class VLMReward(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Reward each step with a VLM score of the rendered frame (see module docstring).

    Args:
        env: an env created with ``render_mode="rgb_array"``.
        reward_model: frames -> rewards (:class:`vlm_reward.reward.RewardModel`). May be
            ``None`` in ``deferred`` mode when rewards are computed elsewhere (training does
            this, so subprocess envs do not each receive a copy of the model).
        mode: ``per_step`` (reward now) or ``deferred`` (placeholder now, batch later).
        placeholder_reward: reward returned in ``deferred`` mode.
        keep_episode_frames: ``deferred`` mode: also keep the current episode's frames in the
            wrapper for :meth:`episode_rewards`. Turn off when a collector reads
            ``info["vlm_frame"]`` (as training does), so frames are not held twice.
        keep_observation: ``deferred`` mode: also put the post-step observation in
            ``info["vlm_observation"]`` (learned rewards with ``inputs: observation``; a
            VecEnv's own obs of a finished env is already the reset one).

    Info keys added every step: ``env_reward`` (the env's reward), and ``vlm_reward`` plus
    ``vlm_inference_seconds`` in ``per_step`` mode, or ``vlm_frame`` (and
    ``vlm_observation``) in ``deferred`` mode.
    """

    def __init__(
        self,
        env: gym.Env,
        reward_model: RewardModel | None,
        mode: Mode = "per_step",
        placeholder_reward: float = 0.0,
        keep_episode_frames: bool = True,
        keep_observation: bool = False,
    ) -> None:
        if mode not in ("per_step", "deferred"):
            raise ConfigError(f"mode: expected 'per_step' or 'deferred', got {mode!r}")
        if (reward_model is None and mode == "per_step") or (
            reward_model is not None and not hasattr(reward_model, "rewards")
        ):
            raise ConfigError(
                f"reward_model: expected a vlm_reward.reward.RewardModel, got "
                f"{type(reward_model).__name__}"
            )
        env_id = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
        if env.render_mode != "rgb_array":
            raise EnvError(
                f"{env_id}: render_mode is {env.render_mode!r}; VLM rewards need frames, so "
                f"create it with gymnasium.make({env_id!r}, render_mode='rgb_array')"
            )
        gym.utils.RecordConstructorArgs.__init__(
            self, mode=mode, placeholder_reward=placeholder_reward,
            keep_episode_frames=keep_episode_frames, keep_observation=keep_observation,
        )
        gym.Wrapper.__init__(self, env)
        self.reward_model = reward_model
        self.mode: Mode = mode
        self.placeholder_reward = float(placeholder_reward)
        self.keep_episode_frames = keep_episode_frames
        self.keep_observation = keep_observation
        self.episode_frames = FrameBuffer()
        self._episode_env_rewards: list[float] = []  # beside episode_frames, for reward mixes
        self._episode_terminated = False
        self.inference_seconds = 0.0
        self._env_id = env_id
        self._episode_start = True

    def render_frame(self) -> np.ndarray:
        """Render the current state and check it is a uint8 RGB frame."""
        return check_frame(self.env.render(), self._env_id)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self.episode_frames.clear()
        self._episode_env_rewards.clear()
        self._episode_terminated = False
        self._episode_start = True
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        info = dict(info)
        info["env_reward"] = float(env_reward)
        frame = self.render_frame()
        first, self._episode_start = self._episode_start, False
        if self.mode == "per_step":
            start = time.perf_counter()
            rm = self.reward_model
            assert rm is not None  # checked in __init__ for per_step mode
            if rm.needs_steps:  # temporal family or shaping/mixing: the stream's state matters
                steps = Steps(np.array([id(self)]), np.array([first]),
                              np.array([terminated or truncated]), np.array([terminated]),
                              np.array([float(env_reward)]))
                reward = float(rm.step_rewards(frame[None], steps)[0])
            else:
                reward = float(rm.rewards(frame[None])[0])
            elapsed = time.perf_counter() - start
            self.inference_seconds += elapsed
            info["vlm_reward"] = reward
            info["vlm_inference_seconds"] = elapsed
            return obs, reward, terminated, truncated, info
        info[FRAME_KEY] = frame
        if self.keep_observation:
            info[OBSERVATION_KEY] = np.array(obs, copy=True)
        if self.keep_episode_frames:
            self.episode_frames.append(frame)
            self._episode_env_rewards.append(float(env_reward))
            self._episode_terminated = bool(terminated)
        return obs, self.placeholder_reward, terminated, truncated, info

    def episode_rewards(self) -> np.ndarray:
        """``deferred`` mode: VLM rewards ``(T,)`` of this episode's steps, in one batch.

        Covers the steps since the last reset (the finished episode until the next reset).
        """
        if self.mode != "deferred" or not self.keep_episode_frames:
            raise ConfigError(
                "episode_rewards() needs mode='deferred' and keep_episode_frames=True"
            )
        if self.reward_model is None:
            raise ConfigError("episode_rewards() needs a reward_model; this wrapper has none")
        if len(self.episode_frames) == 0:
            return np.zeros(0, np.float32)
        start = time.perf_counter()
        frames = self.episode_frames.stacked()
        if self.reward_model.needs_steps:
            n = len(frames)
            ends = np.arange(n) == n - 1
            steps = Steps(np.full(n, id(self)), np.arange(n) == 0, ends,
                          ends & self._episode_terminated,
                          np.asarray(self._episode_env_rewards, np.float32))
            rewards = self.reward_model.step_rewards(frames, steps)
        else:
            rewards = self.reward_model.rewards(frames)
        self.inference_seconds += time.perf_counter() - start
        return rewards


VLMRewardWrapper = VLMReward  # name used in the issue text


def model_input_size(reward_model: Any) -> tuple[int, int] | None:
    """The (height, width) the VLM resizes frames to, if the model exposes it."""
    embedder = getattr(reward_model, "embedder", reward_model)
    for attr in ("input_size", "image_size"):
        size = getattr(embedder, attr, None)
        if size is not None:
            return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    preprocess = getattr(embedder, "preprocess", None)
    size = getattr(preprocess, "size", None)
    if size is not None:
        return int(size[0]), int(size[1])
    return None
