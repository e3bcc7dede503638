"""Argument checks shared by the paper's environments.

Constructors validate their keyword arguments first, so a typo in a config fails at
``gymnasium.make`` with a message that names the argument, rather than deep inside a render.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from vlm_reward.errors import ConfigError

__all__ = ["check_episode_length", "check_render_mode", "check_render_size", "check_state"]

# Largest frame side we accept: bigger frames only slow the VLM down (it sees ~224 px).
MAX_RENDER_SIDE = 4096


def check_episode_length(value: object) -> int:
    """Return ``value`` as a positive int, or raise :class:`ConfigError` naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(
            f"episode_length: expected a positive integer number of steps, got {value!r}"
        )
    return int(value)


def check_render_size(width: object, height: object) -> tuple[int, int]:
    """Return ``(width, height)`` as ints in ``[16, MAX_RENDER_SIDE]``."""
    out = []
    for name, value in (("width", width), ("height", height)):
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, np.integer))
            or not 16 <= value <= MAX_RENDER_SIDE
        ):
            raise ConfigError(
                f"{name}: expected an integer number of pixels in [16, {MAX_RENDER_SIDE}], "
                f"got {value!r}"
            )
        out.append(int(value))
    return out[0], out[1]


def check_render_mode(render_mode: object, supported: Sequence[str]) -> str | None:
    """Accept ``None`` (no rendering) or one of ``supported``."""
    if render_mode is not None and render_mode not in supported:
        raise ConfigError(
            f"render_mode: expected one of {list(supported)} or None, got {render_mode!r}"
        )
    return render_mode  # type: ignore[return-value]


def check_state(state: object, names: Sequence[str]) -> np.ndarray:
    """Return ``state`` as a finite float64 vector with one entry per name in ``names``."""
    try:
        arr = np.asarray(state, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"state: expected {len(names)} numbers {list(names)}, got {state!r}"
        ) from exc
    if arr.shape != (len(names),):
        raise ConfigError(
            f"state: expected {len(names)} values {list(names)}, got {arr.size}"
        )
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"state: all values must be finite, got {arr.tolist()}")
    return arr


def wrap_angle(theta: float) -> float:
    """Wrap an angle in radians to ``[-pi, pi)``."""
    return float((theta + math.pi) % (2.0 * math.pi) - math.pi)


__all__ += ["MAX_RENDER_SIDE", "wrap_angle"]
