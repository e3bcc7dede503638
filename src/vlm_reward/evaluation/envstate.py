"""Put an environment into a given state and read it back, for datasets and state sweeps.

The ``vlm_reward/...`` environments implement ``env.unwrapped.set_state(state)`` and
``env.unwrapped.state_names`` (the contract). Other environments are supported when their
unwrapped env keeps its state in a ``state`` attribute that ``render()`` reads, which is how
Gymnasium's classic-control envs (CartPole-v1, MountainCarContinuous-v0, ...) work; we know
their state names, the track limits and their success rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from vlm_reward.errors import ConfigError, EnvError

__all__ = [
    "default_range",
    "get_state",
    "make_env",
    "render_frame",
    "set_state",
    "state_names",
    "success_of_state",
]

# Class name of the unwrapped env -> names of its state variables.
_KNOWN_STATE_NAMES: dict[str, tuple[str, ...]] = {
    "CartPoleEnv": ("x", "x_dot", "theta", "theta_dot"),
    "Continuous_MountainCarEnv": ("position", "velocity"),
    "MountainCarEnv": ("position", "velocity"),
    "PendulumEnv": ("theta", "theta_dot"),
}


def make_env(
    env_id: str,
    *,
    width: int | None = None,
    height: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> Any:
    """``gym.make(env_id, render_mode="rgb_array")``, passing a frame size where supported.

    ``vlm_reward/...`` ids take ``width``/``height`` as constructor kwargs. Other envs render at
    their own size (classic-control drawing code uses fixed pixel offsets, so changing their
    screen size breaks the picture); :func:`render_frame` resizes those frames instead.
    """
    import gymnasium as gym

    kwargs = dict(env_kwargs or {})
    if env_id.startswith("vlm_reward/"):
        try:
            import vlm_reward.envs  # noqa: F401 - registers the ids
        except ImportError as exc:
            raise EnvError(
                f"env: {env_id!r} needs the vlm_reward.envs package, which cannot be imported "
                f"({exc}); use a Gymnasium id such as CartPole-v1 instead"
            ) from None
        if width is not None:
            kwargs.setdefault("width", width)
        if height is not None:
            kwargs.setdefault("height", height)
    try:
        env = gym.make(env_id, render_mode="rgb_array", **kwargs)
    except gym.error.Error as exc:
        raise EnvError(f"env: cannot make {env_id!r}: {exc}") from None
    except TypeError as exc:
        raise EnvError(f"env: {env_id!r} rejected the arguments {kwargs}: {exc}") from None
    return env


def render_frame(env: Any, width: int | None = None, height: int | None = None) -> np.ndarray:
    """``env.render()`` as uint8 ``(H, W, 3)``, resized (antialiased) to the requested size.

    With only one of ``width``/``height`` the aspect ratio is kept.
    """
    frame = env.render()
    if frame is None:
        raise EnvError("env: render() returned None; the env must support render_mode='rgb_array'")
    frame = np.asarray(frame, dtype=np.uint8)
    if frame.ndim != 3 or frame.shape[-1] != 3:
        raise EnvError(f"env: render() must return (H, W, 3) RGB frames, got {frame.shape}")
    if width is None and height is None:
        return frame
    h, w = frame.shape[:2]
    new_h = height if height is not None else max(1, round(h * width / w))  # type: ignore[operator]
    new_w = width if width is not None else max(1, round(w * height / h))  # type: ignore[operator]
    if (new_h, new_w) == (h, w):
        return frame
    import torch
    import torch.nn.functional as F

    x = torch.from_numpy(frame.copy()).permute(2, 0, 1).unsqueeze(0).float()
    x = F.interpolate(x, size=(new_h, new_w), mode="bilinear", antialias=True,
                      align_corners=False)
    return x.round().clamp(0, 255).to(torch.uint8)[0].permute(1, 2, 0).numpy()


def state_names(env: Any) -> tuple[str, ...]:
    """Names of the state variables (``env.unwrapped.state_names`` or a known table)."""
    unwrapped = env.unwrapped
    names = getattr(unwrapped, "state_names", None)
    if names:
        return tuple(str(n) for n in names)
    known = _KNOWN_STATE_NAMES.get(type(unwrapped).__name__)
    if known is not None:
        return known
    state = getattr(unwrapped, "state", None)
    if state is not None:
        return tuple(f"s{i}" for i in range(np.asarray(state).reshape(-1).size))
    raise EnvError(
        f"env: {type(unwrapped).__name__} exposes neither state_names nor a state attribute, "
        "so its states cannot be recorded or swept"
    )


def get_state(env: Any) -> np.ndarray:
    """The current state vector as float64."""
    unwrapped = env.unwrapped
    getter = getattr(unwrapped, "get_state", None)
    if callable(getter):
        return np.asarray(getter(), dtype=np.float64).reshape(-1)
    state = getattr(unwrapped, "state", None)
    if state is None:
        raise EnvError(
            f"env: {type(unwrapped).__name__} has no readable state; reset it first, or give "
            "it a get_state() method or a state attribute"
        )
    return np.asarray(state, dtype=np.float64).reshape(-1).copy()


def set_state(env: Any, state: np.ndarray) -> None:
    """Put the env into ``state`` so that the next ``render()`` shows it."""
    unwrapped = env.unwrapped
    state = np.asarray(state, dtype=np.float64).reshape(-1)
    setter = getattr(unwrapped, "set_state", None)
    if callable(setter):
        setter(state)
        return
    if not hasattr(unwrapped, "state"):
        raise EnvError(
            f"env: {type(unwrapped).__name__} has neither set_state() nor a state attribute; "
            "state sweeps need one of them"
        )
    current = getattr(unwrapped, "state", None)
    if current is not None and np.asarray(current).size != state.size:
        raise EnvError(
            f"env: state has {np.asarray(current).size} values, got {state.size}"
        )
    if current is not None and isinstance(current, tuple):
        unwrapped.state = tuple(state.tolist())
    else:
        unwrapped.state = state.copy()


def default_range(env: Any, name: str) -> tuple[float, float] | None:
    """The natural sweep range of a state variable, when known.

    Pole or pendulum angle: ``[-pi, pi]``; car position: the track ``[min_position,
    max_position]``; cart position: ``[-x_threshold, x_threshold]``.
    """
    unwrapped = env.unwrapped
    ranges = getattr(unwrapped, "state_ranges", None)
    if isinstance(ranges, Mapping) and name in ranges:
        low, high = ranges[name]
        return float(low), float(high)
    if name == "theta":
        return -math.pi, math.pi
    if name == "position" and hasattr(unwrapped, "min_position"):
        return float(unwrapped.min_position), float(unwrapped.max_position)
    if name == "x" and hasattr(unwrapped, "x_threshold"):
        return -float(unwrapped.x_threshold), float(unwrapped.x_threshold)
    return None


def success_of_state(env: Any, state: np.ndarray) -> bool | None:
    """Whether ``state`` is a success by the env's own rule, or None when unknown.

    CartPole: the pole within the env's failure threshold (``|theta| <= theta_threshold_radians``,
    12 degrees) and the cart on the track. MountainCar: the car at or past ``goal_position``.
    An env may define ``is_success(state)`` to override this.
    """
    unwrapped = env.unwrapped
    rule = getattr(unwrapped, "is_success", None)
    if callable(rule):
        return bool(rule(np.asarray(state, dtype=np.float64)))
    names = state_names(env)
    values = dict(zip(names, np.asarray(state, dtype=np.float64).reshape(-1), strict=False))
    if "theta" in values and hasattr(unwrapped, "theta_threshold_radians"):
        theta = (values["theta"] + math.pi) % (2 * math.pi) - math.pi
        ok = abs(theta) <= float(unwrapped.theta_threshold_radians)
        if "x" in values and hasattr(unwrapped, "x_threshold"):
            ok = ok and abs(values["x"]) <= float(unwrapped.x_threshold)
        return bool(ok)
    if "position" in values and hasattr(unwrapped, "goal_position"):
        return bool(values["position"] >= float(unwrapped.goal_position))
    return None


def parse_assignments(items: list[str] | None, what: str = "--fix") -> dict[str, float]:
    """Parse ``["name=value", ...]`` into a dict of floats."""
    out: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"{what}: expected NAME=VALUE, got {item!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"{what}: {name.strip()}: expected a number, got {value!r}") from None
    return out


__all__ += ["parse_assignments"]
