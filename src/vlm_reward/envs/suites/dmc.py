"""DeepMind Control Suite tasks through Shimmy's Gymnasium binding, ready for a VLM reward.

The task's own ``dm_control.suite`` env is loaded with its seed, wrapped by Shimmy
(``DmControlCompatibilityV0``) and its dict observation flattened to one vector, so SB3's
``MlpPolicy`` takes it. Frames come from MuJoCo's offscreen renderer at the requested size
and camera (``render_kwargs``), so no resizing happens. ``info["success"]`` is the step's
task reward (every DMC reward lies in [0, 1]) at or above the preset's documented threshold;
``info["task_reward"]`` keeps the reward itself.

MuJoCo renders through OpenGL; without a display this module sets ``MUJOCO_GL=egl`` before
dm_control is imported (set ``MUJOCO_GL=osmesa`` yourself for pure software rendering).

Usage examples: docs/suites.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vlm_reward.envs.suites.base import MujocoState, SuiteEnv, require_suite, use_headless_mujoco
from vlm_reward.errors import ConfigError

__all__ = ["DMControlEnv"]


class DMControlEnv(MujocoState, SuiteEnv):
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

    def is_success(self) -> bool:
        """The success rule judged on the current physics state (used by state sweeps)."""
        threshold = self.preset.success_threshold
        assert threshold is not None  # every DMC preset has one (tested)
        return float(self._dm_env.task.get_reward(self._dm_env.physics)) >= threshold

    # ------------------------------------------------------------ state (sweeps)
    @property
    def _mj_model(self) -> Any:
        return self._dm_env.physics.model.ptr

    @property
    def _mj_data(self) -> Any:
        return self._dm_env.physics.data.ptr

    def _write_state(self, qpos: np.ndarray, qvel: np.ndarray) -> None:
        physics = self._dm_env.physics
        with physics.reset_context():  # recomputes positions, so the next frame shows it
            physics.data.qpos[:] = qpos
            physics.data.qvel[:] = qvel
