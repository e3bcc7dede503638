"""Sample frames of any rendering env and save them as PNGs (``vlm-reward render``).

So a user can see exactly what the VLM will see before training. The env comes from
:func:`~vlm_reward.rendering_env.make_rendering_env`, like every env of the project.

Example:
    >>> from vlm_reward.rendering_env import make_rendering_env
    >>> env = make_rendering_env("vlm_reward/CartPole-v0", (48, 64))
    >>> [f.shape for f in iter_random_frames(env, 2, seed=0)]
    [(48, 64, 3), (48, 64, 3)]
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vlm_reward.atomic import atomic_open
from vlm_reward.rendering_env import Size, render_frame

__all__ = ["iter_random_frames", "write_png"]


def iter_random_frames(
    env: Any, n_frames: int, seed: int, size: Size | None = None
) -> Iterator[np.ndarray]:
    """Frames of a uniformly random policy: the reset frame, then one per step.

    A new episode starts (seeded ``seed + k`` for the k-th reset) whenever one ends. Frames
    are checked and, for envs that cannot draw at ``size`` (height, width), resized to it
    (:func:`~vlm_reward.rendering_env.render_frame`).
    """
    env.action_space.seed(seed)
    env.reset(seed=seed)
    episode = 0
    for i in range(n_frames):
        if i:
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                episode += 1
                env.reset(seed=seed + episode)
        yield render_frame(env, size)


def write_png(frame: np.ndarray, path: Path) -> None:
    """Write ``frame`` as a PNG via a temp file and a rename (no half-written files)."""
    from PIL import Image

    with atomic_open(path, "wb") as fh:
        Image.fromarray(frame).save(fh, format="PNG", optimize=True)
