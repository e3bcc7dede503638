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

import difflib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from vlm_reward.atomic import atomic_open
from vlm_reward.errors import ConfigError, EnvError

__all__ = ["check_frame", "iter_random_frames", "make_rgb_env", "parse_env_kwargs", "write_png"]


def _close_ids(env_id: str, ids: list[str]) -> list[str]:
    lowered = {i.lower(): i for i in ids}
    hits = difflib.get_close_matches(env_id.lower(), list(lowered), n=5, cutoff=0.5)
    short = env_id.split("/")[-1].split("-v")[0].lower()
    hits += [k for k in lowered if short and short in k and k not in hits][: 5 - len(hits)]
    return [lowered[h] for h in hits]


def make_rgb_env(
    env_id: str,
    *,
    width: int | None = None,
    height: int | None = None,
    kwargs: dict[str, Any] | None = None,
) -> tuple[Any, bool]:
    """``gym.make(env_id, render_mode="rgb_array", ...)`` with clear errors.

    ``width``/``height`` are passed to the env when given (the paper's envs and MuJoCo envs
    take them and render natively at that size). Envs that do not accept them are made
    without, and the second return value is False so the caller knows to resize.

    Returns:
        ``(env, native_size)``.
    """
    import gymnasium as gym

    import vlm_reward.envs  # noqa: F401  (registers the paper's ids)

    kwargs = dict(kwargs or {})
    if ":" not in env_id and env_id not in gym.registry:
        close = _close_ids(env_id, sorted(gym.registry))
        hint = f" Close ids: {', '.join(close)}." if close else ""
        raise EnvError(f"unknown environment id {env_id!r}.{hint}")
    size = {}
    if width is not None:
        size["width"] = width
    if height is not None:
        size["height"] = height
    try:
        spec = gym.spec(env_id)
        creator = spec.entry_point
        if isinstance(creator, str):
            from gymnasium.envs.registration import load_env_creator

            creator = load_env_creator(creator)
        modes = getattr(creator, "metadata", {}).get("render_modes", [])
    except gym.error.Error as exc:
        raise EnvError(f"cannot load environment {env_id!r}: {exc}") from exc
    except ImportError as exc:
        raise EnvError(
            f"environment {env_id!r} needs a package that is not installed: {exc}"
        ) from exc
    if "rgb_array" not in modes:
        raise EnvError(
            f"environment {env_id!r} cannot render 'rgb_array' frames (its render modes: "
            f"{modes or 'none'}); the VLM reward needs an env that renders images"
        )
    native = bool(size)
    try:
        try:
            env = gym.make(env_id, render_mode="rgb_array", **size, **kwargs)
        except TypeError as exc:
            if not size or "unexpected keyword argument" not in str(exc) or not any(
                k in str(exc) for k in size
            ):
                raise
            env = gym.make(env_id, render_mode="rgb_array", **kwargs)
            native = False
    except TypeError as exc:
        raise ConfigError(f"--set: {env_id} does not accept these arguments: {exc}") from exc
    except gym.error.Error as exc:
        raise EnvError(f"cannot make environment {env_id!r}: {exc}") from exc
    return env, native


def check_frame(frame: object, env_id: str) -> np.ndarray:
    """Return ``frame`` if it is a ``(H, W, 3)`` uint8 array, else raise :class:`EnvError`."""
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[-1] != 3:
        got = getattr(frame, "shape", type(frame).__name__)
        raise EnvError(f"{env_id}: render() should return an (H, W, 3) image, got {got}")
    if frame.dtype != np.uint8:
        raise EnvError(f"{env_id}: render() should return uint8 pixels, got {frame.dtype}")
    return frame


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
