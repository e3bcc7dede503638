"""DeepMind Control Suite tasks through Shimmy's Gymnasium binding, ready for a VLM reward.

The task's own ``dm_control.suite`` env is loaded with its seed, wrapped by Shimmy
(``DmControlCompatibilityV0``) and its dict observation flattened to one vector, so SB3's
``MlpPolicy`` takes it. Frames come from MuJoCo's offscreen renderer at the requested size
and camera (``render_kwargs``), so no resizing happens. ``info["success"]`` is the step's
task reward (every DMC reward lies in [0, 1]) at or above the preset's documented threshold;
``info["task_reward"]`` keeps the reward itself.

MuJoCo renders through OpenGL; without a display this module sets ``MUJOCO_GL=egl`` before
dm_control is imported (set ``MUJOCO_GL=osmesa`` yourself for pure software rendering).

Example:
    >>> import gymnasium as gym, vlm_reward.envs  # doctest: +SKIP
    >>> env = gym.make("vlm_reward/dmc-cartpole-swingup-v0", width=64, height=64)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vlm_reward.envs.checks import check_state
from vlm_reward.envs.suites.base import SuiteEnv, require_suite, use_headless_mujoco
from vlm_reward.errors import ConfigError

__all__ = ["DMControlEnv"]


class DMControlEnv(SuiteEnv):
    """A DeepMind Control task (``domain-task``, e.g. ``cartpole-swingup``) as a suite env.

    Args:
        task: preset task name, ``<domain>-<task>`` of ``dm_control.suite``.
        render_mode: ``"rgb_array"`` (default) or None.
        width: frame width in pixels (rendered natively).
        height: frame height in pixels.
        episode_length: steps per episode; default 1000, the suite's standard length.
        camera: MuJoCo camera id or name; default the preset's (id 0, the side/fixed view).
    """

    suite = "dmc"

    def _make_inner(self) -> Any:
        use_headless_mujoco()
        suite = require_suite("dmc", "dm_control.suite")
        shimmy = require_suite("dmc", "shimmy")
        from gymnasium.wrappers import FlattenObservation

        self._no_kwargs()
        domain, _, task = self.preset.task.partition("-")
        if self.episode_length is None:
            raise ConfigError("episode_length: DeepMind Control tasks need a number of steps")
        camera: int | str = int(self.camera) if self.camera.isdigit() else self.camera
        self._dm_env = suite.load(
            domain, task.replace("-", "_"),
            task_kwargs={"time_limit": float("inf")},  # truncation is ours (episode_length)
        )
        compat = shimmy.DmControlCompatibilityV0(
            self._dm_env,
            render_mode=self.render_mode,
            render_kwargs={"width": self.width, "height": self.height, "camera_id": camera},
        )
        return FlattenObservation(compat)

    def _success(self, reward: float, info: dict[str, Any]) -> bool | None:
        info["task_reward"] = reward
        threshold = self.preset.success_threshold
        assert threshold is not None  # every DMC preset has one (tested)
        return reward >= threshold

    # ------------------------------------------------------------ state (sweeps)
    @property
    def _physics(self) -> Any:
        return self._dm_env.physics

    @property
    def state_names(self) -> tuple[str, ...]:
        """``qpos`` then ``qvel`` entries, named after the joints."""
        from vlm_reward.envs.humanoid import _state_names

        return _state_names(self._physics.model.ptr)

    def get_state(self) -> np.ndarray:
        """``qpos`` then ``qvel`` as one float64 vector."""
        data = self._physics.data
        return np.concatenate([data.qpos, data.qvel]).astype(np.float64)

    def set_state(self, state: Any) -> None:
        """Set ``qpos`` then ``qvel`` (``len(state_names)`` values) and recompute positions."""
        arr = check_state(state, self.state_names)
        physics = self._physics
        nq = physics.model.nq
        with physics.reset_context():
            physics.data.qpos[:] = arr[:nq]
            physics.data.qvel[:] = arr[nq:]
