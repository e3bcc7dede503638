"""Render CartPole and MountainCar frames for given true states (demo-model data and sweeps).

Renders Gymnasium's ``CartPole-v1`` / ``MountainCarContinuous-v0`` (600x400, flat look): the
bundled demo weights were trained on exactly these renders, so data, held-out checks and the
demo agent must all see them. (Retraining on the project's ``vlm_reward/`` envs, textured
MountainCar included, is a follow-up; pass ``project_envs=True`` to render those.) The state
is set directly on the unwrapped env so the next ``render()`` shows it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

__all__ = ["SCENES", "make_scene_env", "render_states", "sample_states"]

# scene name -> (project env id, Gymnasium env id the demo weights were trained on)
SCENES: dict[str, tuple[str, str]] = {
    "cartpole": ("vlm_reward/CartPole-v0", "CartPole-v1"),
    "mountaincar": ("vlm_reward/MountainCarContinuous-v0", "MountainCarContinuous-v0"),
}


def make_scene_env(
    scene: str, width: int | None = None, height: int | None = None, project_envs: bool = False
):
    """Create the env of a scene with ``render_mode="rgb_array"``, reset and ready to render."""
    import gymnasium as gym

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    project_id, gymnasium_id = SCENES[scene]
    if project_envs:
        import vlm_reward.envs  # noqa: F401  (registers the project envs)

        kwargs = {} if width is None else {"width": width, "height": height}
        env = gym.make(project_id, render_mode="rgb_array", **kwargs)
    else:
        env = gym.make(gymnasium_id, render_mode="rgb_array")
    env.reset(seed=0)
    return env


def _set_state(env, state: np.ndarray) -> None:
    base = env.unwrapped
    if hasattr(base, "set_state"):
        base.set_state(np.asarray(state, dtype=np.float64))
    else:
        base.state = np.asarray(state, dtype=np.float64)


def render_states(env, states: np.ndarray, chunk: int = 256) -> Iterator[np.ndarray]:
    """Yield uint8 frame batches ``(n, H, W, 3)`` showing each state, ``chunk`` at a time."""
    for start in range(0, len(states), chunk):
        frames = []
        for state in states[start : start + chunk]:
            _set_state(env, state)
            frames.append(env.render())
        yield np.stack(frames)


def sample_states(scene: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Random true states covering the scene; CartPole angles are denser near upright."""
    if scene == "cartpole":
        theta = np.where(
            rng.random(n) < 0.5, rng.uniform(-np.pi, np.pi, n), rng.normal(0.0, 0.35, n)
        )
        theta = np.arctan2(np.sin(theta), np.cos(theta))
        x = rng.uniform(-2.2, 2.2, n)
        return np.stack([x, np.zeros(n), theta, np.zeros(n)], axis=1)
    if scene == "mountaincar":
        return np.stack([rng.uniform(-1.2, 0.6, n), np.zeros(n)], axis=1)
    raise KeyError(scene)
