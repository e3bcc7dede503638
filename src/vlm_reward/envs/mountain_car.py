"""MountainCarContinuous as used in the VLM-RM paper: realistic drawing, car held at the flag.

Dynamics are the classic continuous mountain car (Moore 1990; Gymnasium's
``MountainCarContinuous-v0`` constants). Two changes follow the paper: once the car reaches
the flag its position is held there (velocity 0) for the rest of the episode instead of the
episode terminating, and every episode lasts exactly ``episode_length`` steps. The
``textured`` option (default on) draws the realistic scene of
:mod:`vlm_reward.envs.mountain_scene`; ``textured=False`` draws the flat classic look.

Example:
    >>> import gymnasium as gym
    >>> import vlm_reward.envs
    >>> env = gym.make("vlm_reward/MountainCarContinuous-v0", width=64, height=64)
    >>> obs, info = env.reset(seed=0)
    >>> env.render().shape
    (64, 64, 3)
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from vlm_reward.envs.checks import (
    check_episode_length,
    check_render_mode,
    check_render_size,
    check_state,
)
from vlm_reward.envs.mountain_scene import MAX_POSITION, MIN_POSITION, MountainView, paint_frame
from vlm_reward.errors import ConfigError

__all__ = ["MountainCarContinuousEnv"]

MAX_SPEED = 0.07
GOAL_POSITION = 0.45
POWER = 0.0015


class MountainCarContinuousEnv(gym.Env[np.ndarray, np.ndarray]):
    """Continuous mountain car with a fixed episode length and the paper's textured rendering.

    Observation ``[position, velocity]`` (float32), action a force in ``[-1, 1]``.
    Reward (ground truth): the classic ``-0.1 * action**2`` per step and ``+100`` on the step
    the flag is reached; 0 on the held steps afterwards. ``info["success"]`` is True from the
    step the car reaches the flag (``position >= 0.45``) on. ``terminated`` is always False.

    Args:
        render_mode: ``"rgb_array"`` (default) or None.
        textured: draw the realistic scene (sky, grass/earth hill, car picture, yellow flag)
            instead of the flat classic look.
        episode_length: number of steps in every episode.
        width: frame width in pixels (drawn natively at this size).
        height: frame height in pixels.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 30}
    state_names: tuple[str, ...] = ("position", "velocity")

    def __init__(
        self,
        render_mode: str | None = "rgb_array",
        textured: bool = True,
        episode_length: int = 200,
        width: int = 400,
        height: int = 400,
    ) -> None:
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        if not isinstance(textured, (bool, np.bool_)):
            raise ConfigError(f"textured: expected true or false, got {textured!r}")
        self.textured = bool(textured)
        self.episode_length = check_episode_length(episode_length)
        self.width, self.height = check_render_size(width, height)
        self.observation_space = spaces.Box(
            np.array([MIN_POSITION, -MAX_SPEED], dtype=np.float32),
            np.array([MAX_POSITION, MAX_SPEED], dtype=np.float32),
            dtype=np.float32,
        )
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.state = np.array([-0.5, 0.0])
        self.reached = False
        self.steps = 0
        self._view = MountainView(self.width, self.height)

    def set_state(self, state: np.ndarray) -> None:
        """Put the car at ``state = [position, velocity]`` (clipped to the valid ranges).

        A position at or past the flag counts as reached: the car is held there afterwards.
        """
        pos, vel = check_state(state, self.state_names)
        pos = float(np.clip(pos, MIN_POSITION, MAX_POSITION))
        vel = float(np.clip(vel, -MAX_SPEED, MAX_SPEED))
        self.reached = pos >= GOAL_POSITION
        self.state = np.array([pos, 0.0 if self.reached else vel])

    def _obs(self) -> np.ndarray:
        return self.state.astype(np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start at rest in the valley (position uniform in [-0.6, -0.4]) or at options["state"]."""
        super().reset(seed=seed)
        self.steps = 0
        if options and "state" in options:
            self.set_state(options["state"])
        else:
            self.state = np.array([self.np_random.uniform(-0.6, -0.4), 0.0])
            self.reached = False
        return self._obs(), {"success": self.reached}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        act = np.asarray(action, dtype=np.float64).reshape(-1)
        if act.shape != (1,) or not np.isfinite(act[0]):
            raise ConfigError(f"action: expected one finite force in [-1, 1], got {action!r}")
        self.steps += 1
        reward = 0.0
        if not self.reached:
            force = float(np.clip(act[0], -1.0, 1.0))
            pos, vel = self.state
            vel = float(np.clip(vel + force * POWER - 0.0025 * math.cos(3 * pos), -MAX_SPEED,
                                MAX_SPEED))
            pos = float(np.clip(pos + vel, MIN_POSITION, MAX_POSITION))
            if pos == MIN_POSITION and vel < 0:
                vel = 0.0
            reward = -0.1 * force**2
            if pos >= GOAL_POSITION:  # reached: hold the car at the flag from now on
                self.reached = True
                pos, vel = GOAL_POSITION, 0.0
                reward += 100.0
            self.state = np.array([pos, vel])
        truncated = self.steps >= self.episode_length
        return self._obs(), reward, False, truncated, {"success": self.reached}

    def render(self) -> np.ndarray | None:
        """Draw the current state as a uint8 ``(height, width, 3)`` frame."""
        if self.render_mode is None:
            gym.logger.warn("render() called with render_mode=None; pass render_mode='rgb_array'")
            return None
        return paint_frame(self._view, float(self.state[0]), GOAL_POSITION, self.textured)
