"""Make any Gymnasium env render ``rgb_array`` frames, and save sample frames as PNGs.

Used by ``vlm-reward render`` so a user can see exactly what the VLM will see before
training. Works for the paper's ids (``vlm_reward/...``) and any other registered id, with
errors that say what to fix: an unknown id lists the closest registered ids; an env that
cannot render ``rgb_array`` says so.

Example:
    >>> from vlm_reward.envs.frames import make_rgb_env
    >>> env, native = make_rgb_env("vlm_reward/CartPole-v0", width=64, height=48)
    >>> native
    True
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vlm_reward.atomic import atomic_open
from vlm_reward.errors import ConfigError
from vlm_reward.wrappers import check_frame

__all__ = ["check_frame", "iter_random_frames", "make_rgb_env", "parse_env_kwargs", "write_png"]


def make_rgb_env(
    env_id: str,
    *,
    width: int | None = None,
    height: int | None = None,
    kwargs: dict[str, Any] | None = None,
) -> tuple[Any, bool]:
    """:func:`~vlm_reward.rendering_env.make_rendering_env` with an optional width or height.

    ``width``/``height`` (either or both) are passed to the env when its constructor takes
    them (the paper's envs and MuJoCo envs do, and render natively at that size). Other envs
    are made at their own size, and the second return value is False so the caller resizes.

    Returns:
        ``(env, native_size)``.
    """
    from vlm_reward.rendering_env import make_rendering_env, takes_render_size

    size = {k: v for k, v in (("width", width), ("height", height)) if v is not None}
    native = bool(size) and takes_render_size(env_id)
    env = make_rendering_env(env_id, None, **(size if native else {}), **(kwargs or {}))
    return env, native


def iter_random_frames(env: Any, env_id: str, n_frames: int, seed: int) -> Iterator[np.ndarray]:
    """Frames of a uniformly random policy: the reset frame, then one per step.

    A new episode starts (seeded ``seed + k`` for the k-th reset) whenever one ends.
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
        yield check_frame(env.render(), env_id)


def write_png(frame: np.ndarray, path: Path, size: tuple[int, int] | None = None) -> None:
    """Write ``frame`` as a PNG via a temp file and a rename; resize to ``size`` (w, h)."""
    from PIL import Image

    image = Image.fromarray(frame)
    if size is not None and image.size != size:
        image = image.resize(size, Image.Resampling.BILINEAR)
    with atomic_open(path, "wb") as fh:
        image.save(fh, format="PNG", optimize=True)


def _parse_value(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_env_kwargs(items: list[str], parse: Callable[[str], Any] = _parse_value) -> dict:
    """Turn ``["textured=false", "episode_length=50"]`` into ``{"textured": False, ...}``.

    Values become bools (true/false), None (none/null), ints, floats, else strings.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ConfigError(f"--set: expected key=value with a Python name as key, got {item!r}")
        out[key] = parse(value.strip())
    return out
