"""Collect datasets of states: roll out policies, or sweep one state variable over a range.

Row semantics of a rollout: each row is the frame rendered *after* an environment step, with
the reward and ``info["success"]`` returned by that step, i.e. exactly the frame a VLM reward
would score for that transition. Reset frames are not recorded (no reward belongs to them).
Envs that report no ``info["success"]`` get the flag from their own rule where one is known
(:func:`~vlm_reward.evaluation.envstate.success_of_state`), else it is left empty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vlm_reward.errors import ConfigError
from vlm_reward.evaluation.dataset import DatasetWriter, StateDataset, load_dataset
from vlm_reward.evaluation.envstate import (
    default_range,
    get_state,
    set_state,
    state_names,
    success_of_state,
)
from vlm_reward.evaluation.policies import make_policy
from vlm_reward.evaluation.progress import progress_bar
from vlm_reward.rendering_env import Size, make_rendering_env, render_frame

__all__ = ["collect_dataset", "sweep_dataset", "sweep_values"]


def _requested_size(width: int | None, height: int | None) -> Size | None:
    return (height, width) if width is not None or height is not None else None


def _success_from_info(info: Mapping[str, Any]) -> bool | None:
    if "success" in info:
        return bool(info["success"])
    if "is_success" in info:
        return bool(info["is_success"])
    return None


def collect_dataset(
    out: str | Path,
    env_id: str,
    *,
    policies: Sequence[str] = ("random",),
    episodes: int = 4,
    max_steps: int = 200,
    seed: int = 0,
    width: int | None = None,
    height: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    task: str | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> StateDataset:
    """Roll out policies and save every post-step frame with its state, reward and success.

    Episodes are shared out over ``policies`` in turn (episode ``k`` uses
    ``policies[k % len(policies)]``), so ``("random", "scripted")`` gives a dataset with both
    failures and successes. Episode ``k`` is reset with seed ``seed + k``.

    Args:
        out: dataset folder to create.
        env_id: Gymnasium id (``vlm_reward/...`` ids register on demand).
        policies: policy specs, see :mod:`vlm_reward.evaluation.policies`.
        episodes: number of episodes.
        max_steps: cap on steps per episode (episodes also stop when the env ends them).
        seed: base seed for resets and random policies.
        width: frame width (the env renders at it if it can, else frames are resized).
        height: frame height (likewise). With neither, frames keep the env's own size.
        env_kwargs: more ``gym.make`` keyword arguments.
        task: task sentence stored in the metadata.
        overwrite: replace an existing dataset.
        progress: draw a progress bar.
    """
    if episodes < 1:
        raise ConfigError(f"episodes: expected a positive integer, got {episodes}")
    if max_steps < 1:
        raise ConfigError(f"max_steps: expected a positive integer, got {max_steps}")
    if not policies:
        raise ConfigError("policy: give at least one policy")
    size = _requested_size(width, height)
    env = make_rendering_env(env_id, size, **dict(env_kwargs or {}))
    try:
        env.reset(seed=seed)  # some envs only have a state (and so state names) after reset
        names = state_names(env)
        built = [make_policy(p, env, seed=seed + i) for i, p in enumerate(policies)]
        meta = {"episodes": episodes, "max_steps": max_steps, "seed": seed,
                "env_kwargs": dict(env_kwargs or {})}
        with DatasetWriter(out, env_id=env_id, state_names=names, policy="+".join(policies),
                           task=task, overwrite=overwrite, extra_meta=meta) as writer, \
                progress_bar(f"collect {env_id}", episodes * max_steps, progress) as advance:
            for ep in range(episodes):
                policy = built[ep % len(built)]
                obs, _ = env.reset(seed=seed + ep)
                for t in range(max_steps):
                    obs, reward, terminated, truncated, info = env.step(policy(obs))
                    state = get_state(env)
                    success = _success_from_info(info)
                    if success is None:
                        success = success_of_state(env, state)
                    frame = render_frame(env, size)
                    writer.add(frame, episode=ep, step=t, state=state,
                               env_reward=float(reward), success=success)
                    if terminated or truncated:
                        break
                advance(max_steps)
    finally:
        env.close()
    return load_dataset(out)


def sweep_values(env: Any, variable: str, n: int, low: float | None = None,
                 high: float | None = None) -> np.ndarray:
    """``n`` evenly spaced values of ``variable`` over ``[low, high]`` (its natural range)."""
    names = state_names(env)
    if variable not in names:
        raise ConfigError(
            f"variable: {variable!r} is not a state variable of this env; choose from "
            f"{', '.join(names)}"
        )
    if n < 2:
        raise ConfigError(f"n: a sweep needs at least 2 points, got {n}")
    if low is None or high is None:
        natural = default_range(env, variable)
        if natural is None:
            raise ConfigError(
                f"variable: no default range is known for {variable!r}; give --low and --high"
            )
        low = natural[0] if low is None else low
        high = natural[1] if high is None else high
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        raise ConfigError(f"range: expected finite low < high, got low={low}, high={high}")
    return np.linspace(low, high, n)


def sweep_dataset(
    out: str | Path,
    env_id: str,
    variable: str,
    *,
    n: int = 61,
    low: float | None = None,
    high: float | None = None,
    fix: Mapping[str, float] | None = None,
    seed: int = 0,
    width: int | None = None,
    height: int | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    task: str | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> StateDataset:
    """Render the env at ``n`` values of one state variable; other variables stay fixed.

    The base state is the state after ``reset(seed=seed)``, with ``fix`` overriding chosen
    variables (e.g. ``{"x": 0.0}`` to centre the cart). Each frame is rendered after
    ``set_state``; its success flag comes from the env's own rule
    (:func:`~vlm_reward.evaluation.envstate.success_of_state`); env rewards are left empty
    because no step is taken.
    """
    size = _requested_size(width, height)
    env = make_rendering_env(env_id, size, **dict(env_kwargs or {}))
    try:
        env.reset(seed=seed)
        names = state_names(env)
        values = sweep_values(env, variable, n, low, high)
        base = get_state(env)
        for name, value in (fix or {}).items():
            if name not in names:
                raise ConfigError(
                    f"--fix: {name!r} is not a state variable; choose from {', '.join(names)}"
                )
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ConfigError(f"--fix: {name}: expected a number, got {value!r}")
            base[names.index(name)] = float(value)
        col = names.index(variable)
        meta = {"sweep": {"variable": variable, "low": float(values[0]),
                          "high": float(values[-1]), "n": n, "base_state": base.tolist()},
                "env_kwargs": dict(env_kwargs or {})}
        with DatasetWriter(out, env_id=env_id, state_names=names, policy=f"sweep:{variable}",
                           task=task, overwrite=overwrite, extra_meta=meta) as writer, \
                progress_bar(f"sweep {variable}", n, progress) as advance:
            for i, value in enumerate(values):
                state = base.copy()
                state[col] = value
                set_state(env, state)
                writer.add(render_frame(env, size), episode=0, step=i, state=state,
                           success=success_of_state(env, state))
                advance(1)
    finally:
        env.close()
    return load_dataset(out)
