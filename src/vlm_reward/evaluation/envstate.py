"""Put an environment into a given state and read it back, for datasets and state sweeps.

The ``vlm_reward/...`` environments implement ``env.unwrapped.set_state(state)`` and
``env.unwrapped.state_names`` (the contract). Other environments are supported when their
unwrapped env keeps its state in a ``state`` attribute that ``render()`` reads, which is how
Gymnasium's classic-control envs (CartPole-v1, MountainCarContinuous-v0, ...) work; we know
their state names, the track limits and their success rule. Gymnasium's MuJoCo envs are
handled too: their state is ``qpos`` followed by ``qvel``. Envs are made, and frames read, by
:mod:`vlm_reward.rendering_env`, like everywhere else in the project.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from vlm_reward.errors import EnvError

__all__ = [
    "default_range",
    "get_state",
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


def _is_mujoco(unwrapped: Any) -> bool:
    data, model = getattr(unwrapped, "data", None), getattr(unwrapped, "model", None)
    return hasattr(data, "qpos") and hasattr(data, "qvel") and hasattr(model, "nq")


def _n_params(func: Any) -> int:
    import inspect

    try:
        return len(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return 1


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
    if _is_mujoco(unwrapped):
        nq, nv = int(unwrapped.model.nq), int(unwrapped.model.nv)
        return (*(f"qpos{i}" for i in range(nq)), *(f"qvel{i}" for i in range(nv)))
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
    if state is None and _is_mujoco(unwrapped):
        return np.concatenate([np.asarray(unwrapped.data.qpos, dtype=np.float64),
                               np.asarray(unwrapped.data.qvel, dtype=np.float64)])
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
    if callable(setter) and _is_mujoco(unwrapped) and _n_params(setter) == 2:
        # Gymnasium's MujocoEnv.set_state(qpos, qvel); our envs take one vector (contract).
        nq, nv = int(unwrapped.model.nq), int(unwrapped.model.nv)
        if state.size != nq + nv:
            raise EnvError(f"env: state has {nq + nv} values (qpos + qvel), got {state.size}")
        setter(state[:nq], state[nq:])
        return
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
    return _observation_bounds(env, name)


def _observation_bounds(env: Any, name: str) -> tuple[float, float] | None:
    """Finite bounds of ``name`` from a Box observation space that mirrors the state."""
    from gymnasium import spaces

    space = getattr(env.unwrapped, "observation_space", None)
    names = state_names(env)
    if not isinstance(space, spaces.Box) or space.shape != (len(names),):
        return None
    i = names.index(name)
    low, high = float(space.low[i]), float(space.high[i])
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high or high > 1e6:
        return None
    return low, high


def success_of_state(env: Any, state: np.ndarray) -> bool | None:
    """Whether ``state`` is a success by the env's own rule, or None when unknown.

    An env's own ``is_success(state)`` wins; an ``is_success()`` without arguments judges the
    env's current state, so call this right after :func:`set_state`. Otherwise: CartPole, the
    pole within the env's failure threshold (``|theta| <= theta_threshold_radians``, 12 degrees)
    and the cart on the track; MountainCar, the car at or past ``goal_position`` (an attribute
    or a ``GOAL_POSITION`` constant of the env's module).
    """
    unwrapped = env.unwrapped
    rule = getattr(unwrapped, "is_success", None)
    if callable(rule):
        if _n_params(rule) == 0:  # judges the env's current state
            return bool(rule())
        return bool(rule(np.asarray(state, dtype=np.float64)))
    names = state_names(env)
    values = dict(zip(names, np.asarray(state, dtype=np.float64).reshape(-1), strict=False))
    if "theta" in values and hasattr(unwrapped, "theta_threshold_radians"):
        theta = (values["theta"] + math.pi) % (2 * math.pi) - math.pi
        ok = abs(theta) <= float(unwrapped.theta_threshold_radians)
        if "x" in values and hasattr(unwrapped, "x_threshold"):
            ok = ok and abs(values["x"]) <= float(unwrapped.x_threshold)
        return bool(ok)
    goal = getattr(unwrapped, "goal_position", None)
    if goal is None:  # e.g. vlm_reward's MountainCar keeps it as a module constant
        goal = getattr(sys.modules.get(type(unwrapped).__module__), "GOAL_POSITION", None)
    if "position" in values and goal is not None:
        return bool(values["position"] >= float(goal))
    return None
