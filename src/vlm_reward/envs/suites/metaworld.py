"""Meta-World v3 manipulation tasks (Farama's ``metaworld``), ready for a VLM reward.

Each preset is one Meta-World task with its 50 goal variants (the ``MT1`` task set, fixed
by ``task_seed``); every ``reset(seed=...)`` draws one variant from this env's seeded RNG
and seeds the simulator, so a seed fixes the episode. Frames come from MuJoCo's offscreen
renderer at the requested size through the preset's camera, turned upright where the camera
is mounted upside down (Meta-World's corner cameras) (``corner`` by default, a view
of the arm, the object and the goal; Meta-World's other cameras: ``corner2``, ``corner3``,
``corner4``, ``topview``, ``behindGripper``, ``gripperPOV``).

``info["success"]`` is Meta-World's own per-task ``success`` flag, as a bool. Episodes last
``episode_length`` steps (at most Meta-World's ``max_path_length`` of 500) and never
terminate early.

MuJoCo renders through OpenGL; without a display this module sets ``MUJOCO_GL=egl`` before
metaworld (and so mujoco) is imported.

Usage examples: docs/suites.md.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vlm_reward.envs.suites.base import MujocoState, SuiteEnv, require_suite, use_headless_mujoco
from vlm_reward.errors import ConfigError

__all__ = ["MetaWorldEnv"]


class MetaWorldEnv(MujocoState, SuiteEnv):
    """A Meta-World v3 task (e.g. ``door-open``) as a suite env.

    Args:
        task: preset task name (Meta-World's name without ``-v3``).
        render_mode: ``"rgb_array"`` (default) or None.
        width: frame width in pixels (rendered natively).
        height: frame height in pixels.
        episode_length: steps per episode, at most 500; default 500.
        camera: Meta-World camera name; default the preset's.
        task_seed: seed of the ``MT1`` set of 50 goal variants (default 0).
    """

    suite = "metaworld"

    def _make_inner(self) -> Any:
        use_headless_mujoco()
        metaworld = require_suite("metaworld")
        task_seed = self._kwargs.pop("task_seed", 0)
        self._no_kwargs()
        name = f"{self.preset.task}-v3"
        benchmark = metaworld.MT1(name, seed=task_seed)
        env_cls = benchmark.train_classes[name]
        limit = int(env_cls.max_path_length)
        if self.episode_length is None or self.episode_length > limit:
            raise ConfigError(
                f"episode_length: Meta-World episodes last at most {limit} steps, "
                f"got {self.episode_length}"
            )
        self._tasks = list(benchmark.train_tasks)
        return env_cls(render_mode=self.render_mode, camera_name=self.camera,
                       width=self.width, height=self.height)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Draw a goal variant from this env's RNG (seeded by ``seed``), then reset."""
        if seed is not None:
            super(SuiteEnv, self).reset(seed=seed)  # seeds self.np_random
            self._inner.seed(seed)
        self._inner.set_task(self._tasks[int(self.np_random.integers(len(self._tasks)))])
        return super().reset(seed=None, options=options)

    def _success(self, reward: float, info: dict[str, Any]) -> bool | None:
        return bool(info.get("success", 0.0))

    def _render_inner(self) -> np.ndarray:
        """The camera's frame, upright: Meta-World's corner cameras point their up axis down."""
        frame = np.asarray(self._inner.render())
        inner = self._inner
        cam = inner.model.camera(self.camera).id
        up_z = inner.data.cam_xmat[cam].reshape(3, 3)[2, 1]  # world z of the image's up axis
        return frame[::-1, ::-1] if up_z < 0 else frame  # a 180 degree turn, not a mirror

    def is_success(self) -> bool:
        """Meta-World's success flag judged on the current state (used by state sweeps)."""
        inner = self._inner
        _, info = inner.evaluate_state(inner._get_obs(), np.zeros(4, dtype=np.float32))
        return bool(info["success"])

    # ------------------------------------------------------------ state (sweeps)
    @property
    def _mj_model(self) -> Any:
        return self._inner.model

    @property
    def _mj_data(self) -> Any:
        return self._inner.data

    def _write_state(self, qpos: np.ndarray, qvel: np.ndarray) -> None:
        self._inner.set_state(qpos, qvel)
