"""Create any Gymnasium env so that it renders ``rgb_array`` frames, at the VLM's size if it can.

The one way the project makes a rendering env and reads its frames: training
(:mod:`vlm_reward.training.env_factory`), ``vlm-reward render``, ``vlm-reward eval``
(collect and sweep) and the demo all call :func:`make_rendering_env`, and check frames with
:func:`check_frame`; ``vlm-reward render`` saves :func:`iter_random_frames` with
:func:`write_png`, so a user sees exactly what the VLM will see before training.

Errors say what to fix: an unknown id lists the closest registered ids, an env that cannot
render ``rgb_array`` says so, a missing package is named. Rendering at the model's input size
(e.g. 224x224) instead of large-then-shrunk saves render time, memory in deferred buffers and
resize time, and shows the model the picture it was made for. Envs whose constructor takes
``width``/``height`` (the ``vlm_reward/`` envs, Gymnasium's MuJoCo envs) are given the size;
envs with a fixed canvas (the classic-control ones) keep theirs, and either the model or
:func:`render_frame` resizes.

Example:
    >>> from vlm_reward.rendering_env import make_rendering_env, render_frame
    >>> env = make_rendering_env("vlm_reward/CartPole-v0", (48, 64))
    >>> _ = env.reset(seed=0)
    >>> env.render().shape
    (48, 64, 3)
    >>> pendulum = make_rendering_env("Pendulum-v1", (48, 64))  # fixed 500x500 canvas
    >>> _ = pendulum.reset(seed=0)
    >>> render_frame(pendulum, (48, 64)).shape  # resized (antialiased)
    (48, 64, 3)
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from vlm_reward.atomic import atomic_open
from vlm_reward.errors import ConfigError, EnvError

__all__ = [
    "Size",
    "check_frame",
    "iter_random_frames",
    "make_rendering_env",
    "render_frame",
    "render_size_kwargs",
    "takes_render_size",
    "write_png",
]

Size = tuple[int | None, int | None]
"""A frame size ``(height, width)``; ``None`` for a side leaves it to the env (or the aspect)."""


def _close_ids(env_id: str, ids: list[str]) -> list[str]:
    lowered = {i.lower(): i for i in ids}
    hits = difflib.get_close_matches(env_id.lower(), list(lowered), n=5, cutoff=0.5)
    short = env_id.split("/")[-1].split("-v")[0].lower()
    hits += [k for k in lowered if short and short in k and k not in hits][: 5 - len(hits)]
    return [lowered[h] for h in hits]


def _env_creator(env_id: str) -> tuple[str, Any]:
    """``(registered id, constructor)`` of ``env_id``; imports ``module:`` prefixes first."""
    import vlm_reward.envs  # noqa: F401  (registers the paper's ids)

    if ":" in env_id:  # gymnasium's "module:EnvId" form imports the module that registers it
        module, env_id = env_id.split(":", 1)
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise EnvError(f"env id: cannot import module {module!r}: {exc}") from None
    if env_id not in gym.registry:
        close = _close_ids(env_id, sorted(gym.registry))
        hint = f" Close ids: {', '.join(close)}." if close else ""
        raise EnvError(f"unknown environment id {env_id!r} (not registered with Gymnasium).{hint}")
    entry = gym.spec(env_id).entry_point
    try:
        creator = gym.envs.registration.load_env_creator(entry) if isinstance(entry, str) else entry
    except ImportError as exc:
        raise EnvError(
            f"environment {env_id!r} needs a package that is not installed: {exc}"
        ) from None
    except gym.error.Error as exc:
        raise EnvError(f"cannot load environment {env_id!r}: {exc}") from None
    return env_id, creator


def _accepts_width_height(creator: Any) -> bool:
    """True if the env constructor (or, via ``**kwargs``, a base class) takes width/height."""
    candidates = list(inspect.getmro(creator)) if inspect.isclass(creator) else [creator]
    for obj in candidates:
        func = obj.__init__ if inspect.isclass(obj) else obj
        try:
            params = inspect.signature(func).parameters
        except (TypeError, ValueError):
            return False
        if "width" in params and "height" in params:
            return True
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
            return False
    return False


def takes_render_size(env_id: str) -> bool:
    """True if ``env_id``'s constructor takes ``width``/``height`` (it renders at any size)."""
    _, creator = _env_creator(env_id)
    return creator is not None and _accepts_width_height(creator)


def _checked_size(size: Size | None) -> Size | None:
    """``size`` with each given side checked to be a positive integer."""
    if size is None:
        return None
    height, width = size
    for name, value in (("width", width), ("height", height)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1
        ):
            raise ConfigError(f"{name}: expected a positive number of pixels, got {value!r}")
    return size


def _size_kwargs(creator: Any, size: Size | None) -> dict[str, int]:
    if size is None or creator is None or not _accepts_width_height(creator):
        return {}
    height, width = size
    return {k: int(v) for k, v in (("width", width), ("height", height)) if v is not None}


def render_size_kwargs(env_id: str, size: Size | None) -> dict[str, int]:
    """``{"width": w, "height": h}`` for ``size = (h, w)`` if the env takes them, else ``{}``."""
    return _size_kwargs(_env_creator(env_id)[1], _checked_size(size)) if size is not None else {}


def make_rendering_env(env_id: str, size: Size | None = None, **kwargs: Any) -> gym.Env:
    """``gymnasium.make(env_id, render_mode="rgb_array", ...)`` rendering at ``size`` if it can.

    Args:
        env_id: registered env id (or gymnasium's ``module:EnvId``).
        size: desired frame (height, width), e.g. :func:`vlm_reward.wrappers.model_input_size`
            of the reward model, or the user's ``--height``/``--width`` (a side may be None:
            the env's own). Ignored for envs whose constructor has no width/height: their
            frames keep the env's size (see :func:`render_frame` to resize them).
        **kwargs: passed to ``gymnasium.make``. An explicit ``width`` or ``height`` here is
            the user's choice and wins: ``size`` is then not used at all.

    Raises:
        EnvError: unknown id, a missing package, or an env that cannot render ``rgb_array``.
        ConfigError: ``kwargs`` the env's constructor does not accept.
    """
    if "render_mode" in kwargs and kwargs["render_mode"] != "rgb_array":
        raise EnvError(f"render_mode: VLM rewards need 'rgb_array', got {kwargs['render_mode']!r}")
    kwargs.pop("render_mode", None)
    name, creator = _env_creator(env_id)
    metadata = getattr(creator, "metadata", None)  # env classes have it; factory functions not
    modes = metadata.get("render_modes", []) if isinstance(metadata, dict) else None
    if modes is not None and "rgb_array" not in modes:
        raise EnvError(
            f"environment {name!r} cannot render 'rgb_array' frames (its render modes: "
            f"{modes or 'none'}); the VLM reward needs an env that renders images"
        )
    if "width" in kwargs or "height" in kwargs:
        size = None
    make_kwargs = {**_size_kwargs(creator, _checked_size(size)), **kwargs}
    try:
        env = gym.make(env_id, render_mode="rgb_array", **make_kwargs)
    except TypeError as exc:
        raise ConfigError(f"{name}: does not accept these arguments: {exc}") from None
    except gym.error.Error as exc:
        raise EnvError(f"{name}: cannot create it with render_mode='rgb_array': {exc}") from None
    if env.render_mode != "rgb_array":
        env.close()
        raise EnvError(f"{name}: does not support render_mode='rgb_array'")
    return env


def check_frame(frame: Any, env_id: str = "env") -> np.ndarray:
    """Return ``frame`` if it is a uint8 ``(H, W, 3)`` array, else raise :class:`EnvError`."""
    if frame is None:
        raise EnvError(
            f"{env_id}: render() returned None; create the env with render_mode='rgb_array'"
        )
    if isinstance(frame, list):  # some envs render a list of frames (rgb_array_list)
        raise EnvError(
            f"{env_id}: render() returned a list of frames (render_mode 'rgb_array_list'?); "
            "use render_mode='rgb_array'"
        )
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[-1] != 3 or frame.shape[0] < 1 or frame.shape[1] < 1:
        raise EnvError(
            f"{env_id}: render() returned shape {frame.shape}; expected an RGB frame "
            "(H, W, 3). Wrap the env to convert its frames (e.g. drop alpha, move channels last)"
        )
    if frame.dtype != np.uint8:
        raise EnvError(
            f"{env_id}: render() returned dtype {frame.dtype}; expected uint8 RGB (0-255)"
        )
    return frame


def render_frame(env: gym.Env, size: Size | None = None) -> np.ndarray:
    """``env.render()``, checked by :func:`check_frame`, resized to ``size`` if it differs.

    For envs that cannot draw at a requested size (see :func:`make_rendering_env`), so a
    dataset or a PNG still gets the size the user asked for. With one side ``None`` the
    aspect ratio is kept. The resize is bilinear with antialiasing (torch).
    """
    env_id = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    frame = check_frame(env.render(), env_id)
    size = _checked_size(size)
    if size is None or size == (None, None):
        return frame
    h, w = frame.shape[:2]
    height, width = size
    new_h = int(height) if height is not None else max(1, round(h * width / w))  # type: ignore[operator]
    new_w = int(width) if width is not None else max(1, round(w * height / h))  # type: ignore[operator]
    if (new_h, new_w) == (h, w):
        return frame
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1).unsqueeze(0).float()
    x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", antialias=True,
                      align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8)[0].permute(1, 2, 0).numpy()


def iter_random_frames(
    env: gym.Env, n_frames: int, seed: int, size: Size | None = None
) -> Iterator[np.ndarray]:
    """Frames of a uniformly random policy: the reset frame, then one per step.

    A new episode starts (seeded ``seed + k`` for the k-th reset) whenever one ends. Frames
    come from :func:`render_frame`: checked, and resized to ``size`` if the env could not
    draw them at it.
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
