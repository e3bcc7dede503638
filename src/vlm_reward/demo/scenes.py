"""Render the project's CartPole and MountainCar for given true states (demo data and sweeps).

The demo model is trained on, evaluated on and used with the same frames: the project's
``vlm_reward/CartPole-v0`` and textured ``vlm_reward/MountainCarContinuous-v0`` drawn directly
at the model's input size (:data:`RENDER_SIZE`), which is also the size the training pipeline
asks the env for when the reward model is the demo model. The state is set on the unwrapped
env, so the next ``render()`` shows it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

__all__ = ["RENDER_SIZE", "SCENES", "make_scene_env", "render_states", "sample_states"]

SCENES: dict[str, str] = {
    "cartpole": "vlm_reward/CartPole-v0",
    "mountaincar": "vlm_reward/MountainCarContinuous-v0",
}
RENDER_SIZE: tuple[int, int] = (48, 72)
"""(height, width) of demo frames: the demo model's input size, so no resize is needed."""


def make_scene_env(scene: str, size: tuple[int, int] = RENDER_SIZE):
    """Create the project env of ``scene`` rendering ``size`` (height, width) frames, reset."""
    from vlm_reward.rendering_env import make_rendering_env

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    env = make_rendering_env(SCENES[scene], size)
    env.reset(seed=0)
    return env


def render_states(env, states: np.ndarray, chunk: int = 256) -> Iterator[np.ndarray]:
    """Yield uint8 frame batches ``(n, H, W, 3)`` showing each state, ``chunk`` at a time."""
    base = env.unwrapped
    for start in range(0, len(states), chunk):
        frames = []
        for state in states[start : start + chunk]:
            base.set_state(np.asarray(state, dtype=np.float64))
            frames.append(env.render())
        yield np.stack(frames)


def sample_states(scene: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Random true states covering the scene; CartPole angles are denser near upright."""
    if scene == "cartpole":
        theta = np.where(
            rng.random(n) < 0.5, rng.uniform(-np.pi, np.pi, n), rng.normal(0.0, 0.35, n)
        )
        theta = np.arctan2(np.sin(theta), np.cos(theta))
        x = rng.uniform(-2.3, 2.3, n)
        return np.stack([x, np.zeros(n), theta, np.zeros(n)], axis=1)
    if scene == "mountaincar":
        return np.stack([rng.uniform(-1.2, 0.6, n), np.zeros(n)], axis=1)
    raise KeyError(scene)
