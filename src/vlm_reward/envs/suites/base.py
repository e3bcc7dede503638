"""What every suite env shares: argument checks, fixed episode length, ``info["success"]``.

A suite env wraps the suite's own Gymnasium env (Meta-World's, Shimmy's DeepMind Control
binding, ALE's) and adds the contract of the ``vlm_reward/`` envs: ``rgb_array`` frames at
the ``width``/``height`` it is given (the VLM's input size), ``info["success"]`` on every
step where the suite defines success, truncation at ``episode_length``, and seeding through
``reset(seed=...)``. The suite package is imported in the constructor, never at module
import, so registering the ids costs nothing and a missing extra fails with
:class:`~vlm_reward.errors.DependencyNotInstalled` naming the pip command.
"""

from __future__ import annotations

import importlib
import math
import os
from types import ModuleType
from typing import Any, ClassVar, Literal

import gymnasium as gym
import numpy as np

from vlm_reward.envs.checks import (
    check_episode_length,
    check_render_mode,
    check_render_size,
    check_state,
)
from vlm_reward.envs.suites.presets import PRESETS, SUITES, Preset, preset_id
from vlm_reward.errors import ConfigError, DependencyNotInstalled, EnvError

__all__ = ["MujocoState", "SuiteEnv", "require_suite", "use_headless_mujoco"]


def require_suite(suite: str, module: str | None = None) -> ModuleType:
    """Import ``module`` (default: the suite's package) or raise DependencyNotInstalled."""
    info = SUITES[suite]
    try:
        return importlib.import_module(module or info.package)
    except ImportError as exc:
        raise DependencyNotInstalled(
            info.package, info.extra, f"The {info.title} environments"
        ) from exc


def use_headless_mujoco() -> None:
    """Default ``MUJOCO_GL`` to ``egl`` when no display is set (MuJoCo reads it on import)."""
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("MUJOCO_GL", "egl")


class SuiteEnv(gym.Env):
    """Base of the suite envs; subclasses build ``self._inner`` and define success.

    Subclass hooks: :meth:`_make_inner`, :meth:`_success` (None = no success defined),
    :meth:`_render_inner`. The observation and action spaces are the inner env's.
    ``episode_length="preset"`` takes the preset's length; None runs until the suite ends
    the episode itself.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 30}
    suite: ClassVar[str] = ""

    def __init__(
        self,
        task: str,
        render_mode: str | None = "rgb_array",
        width: int = 224,
        height: int = 224,
        episode_length: int | Literal["preset"] | None = "preset",
        camera: str | None = None,
        **kwargs: Any,
    ) -> None:
        check_render_mode(render_mode, self.metadata["render_modes"])
        env_id = preset_id(self.suite, task)
        if env_id not in PRESETS:
            known = sorted(p.task for p in PRESETS.values() if p.suite == self.suite)
            raise ConfigError(f"task: unknown {self.suite} preset {task!r}; known: {known}")
        self.preset: Preset = PRESETS[env_id]
        self.render_mode = render_mode
        self.width, self.height = check_render_size(width, height)
        if episode_length == "preset":
            episode_length = self.preset.episode_length
        self.episode_length = None if episode_length is None else check_episode_length(
            episode_length
        )
        self.camera = self.preset.camera if camera is None else str(camera)
        self._kwargs = kwargs  # passed on to the suite's own env where a subclass allows it
        self._inner: Any = self._make_inner()
        self.observation_space = self._inner.observation_space
        self.action_space = self._inner.action_space
        self.steps = 0
        self.episode_return = 0.0

    # ------------------------------------------------------------------ hooks
    def _make_inner(self) -> Any:
        raise NotImplementedError

    def _no_kwargs(self) -> None:
        """Reject keyword arguments a suite does not pass on (typos fail at make time)."""
        if self._kwargs:
            raise ConfigError(
                f"{self.preset.env_id}: unknown arguments {sorted(self._kwargs)}; valid: "
                "width, height, episode_length, camera"
            )

    def _success(self, reward: float, info: dict[str, Any]) -> bool | None:
        """Success of the step just taken; None when the suite defines none."""
        raise NotImplementedError

    def _render_inner(self) -> np.ndarray:
        return np.asarray(self._inner.render())

    # -------------------------------------------------------------------- API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the suite env; ``seed`` seeds it (and this env's ``np_random``)."""
        super().reset(seed=seed)
        obs, info = self._inner.reset(seed=seed, options=options)
        self.steps = 0
        self.episode_return = 0.0
        info = dict(info)
        if self.preset.has_success:
            info["success"] = False
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self._inner.step(action)
        reward = float(reward)
        self.steps += 1
        self.episode_return += reward
        info = dict(info)
        success = self._success(reward, info)
        if success is not None:
            info["success"] = bool(success)
        if self.episode_length is not None:
            truncated = bool(truncated) or self.steps >= self.episode_length
        return obs, reward, bool(terminated), bool(truncated), info

    def render(self) -> np.ndarray | None:
        """The frame the VLM sees: uint8 ``(height, width, 3)``."""
        if self.render_mode is None:
            gym.logger.warn("render() called with render_mode=None; pass render_mode='rgb_array'")
            return None
        frame = self._render_inner()
        if frame.shape[:2] != (self.height, self.width):
            raise EnvError(
                f"{self.preset.env_id}: the suite rendered {frame.shape[:2]}, expected "
                f"({self.height}, {self.width})"
            )
        return np.ascontiguousarray(frame, dtype=np.uint8)

    def close(self) -> None:
        inner = getattr(self, "_inner", None)
        if inner is not None:
            inner.close()
        super().close()


class MujocoState:
    """State access of the MuJoCo-based suites, for datasets and state sweeps.

    The state is ``qpos`` then ``qvel`` of the scene (names from the joints, as for
    ``vlm_reward/Humanoid-v0``); ``state_ranges`` gives a limited joint's range, and
    ``[-pi, pi]`` for an unlimited hinge. Subclasses provide the raw MuJoCo model and data
    and write a state with :meth:`_write_state`.
    """

    @property
    def _mj_model(self) -> Any:
        raise NotImplementedError

    @property
    def _mj_data(self) -> Any:
        raise NotImplementedError

    def _write_state(self, qpos: np.ndarray, qvel: np.ndarray) -> None:
        raise NotImplementedError

    @property
    def state_names(self) -> tuple[str, ...]:
        """``qpos`` then ``qvel`` entries, e.g. ``qpos_slider``, ``qvel_hinge_1``."""
        from vlm_reward.envs.humanoid import _state_names

        return _state_names(self._mj_model)

    @property
    def state_ranges(self) -> dict[str, tuple[float, float]]:
        """Natural sweep range of each joint position that has one."""
        import mujoco

        model, names = self._mj_model, self.state_names
        ranges: dict[str, tuple[float, float]] = {}
        for j in range(model.njnt):
            kind = model.jnt_type[j]
            if kind not in (mujoco.mjtJoint.mjJNT_HINGE, mujoco.mjtJoint.mjJNT_SLIDE):
                continue
            name = names[int(model.jnt_qposadr[j])]
            if model.jnt_limited[j]:
                low, high = (float(v) for v in model.jnt_range[j])
                ranges[name] = (low, high)
            elif kind == mujoco.mjtJoint.mjJNT_HINGE:
                ranges[name] = (-math.pi, math.pi)
        return ranges

    def get_state(self) -> np.ndarray:
        """``qpos`` then ``qvel`` as one float64 vector."""
        data = self._mj_data
        return np.concatenate([data.qpos, data.qvel]).astype(np.float64)

    def set_state(self, state: Any) -> None:
        """Set ``qpos`` then ``qvel`` (``len(state_names)`` values); the next frame shows it."""
        arr = check_state(state, self.state_names)
        nq = self._mj_model.nq
        self._write_state(arr[:nq], arr[nq:])
