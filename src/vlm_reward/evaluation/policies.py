"""Policies that drive an env while a dataset is collected: random, scripted, or a trained agent.

A policy spec is a string:

* ``random`` - uniform samples from the action space (seeded);
* ``scripted`` - a simple controller that solves the task, known for CartPole (push the cart
  under the falling pole) and MountainCar (push in the direction of motion to pump energy);
* ``PATH.zip`` or ``sb3:PATH.zip`` - a Stable-Baselines3 checkpoint; the algorithm is read from
  the zip itself (SAC, DQN, TD3/DDPG by policy class; PPO vs A2C by their saved settings), or
  named explicitly as ``sb3:ALGO:PATH`` (e.g. ``sb3:sac:run/checkpoints/last.zip``);
* ``RUN_DIR`` - a training run folder: its newest checkpoint that loads (older ones are tried,
  with a warning, when the newest is damaged).
"""

from __future__ import annotations

import json
import logging
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from vlm_reward.errors import CheckpointError, ConfigError, EnvError
from vlm_reward.run_dir import RunDir

__all__ = ["Policy", "make_policy", "sb3_algorithm"]

Policy = Callable[[Any], Any]
logger = logging.getLogger(__name__)

_SB3_ALGOS = ("A2C", "DDPG", "DQN", "PPO", "SAC", "TD3")


def _cartpole_controller(obs: Any) -> int:
    o = np.asarray(obs, dtype=np.float64).reshape(-1)
    theta, theta_dot = o[2], o[3]
    return int(theta + 0.5 * theta_dot > 0)


def _scripted(env: Any) -> Policy:
    from gymnasium import spaces

    from vlm_reward.evaluation.envstate import state_names

    names = state_names(env)
    space = env.action_space
    if {"x", "theta"} <= set(names) and isinstance(space, spaces.Discrete) and space.n == 2:
        return _cartpole_controller
    if "position" in names and "velocity" in names:
        vel = names.index("velocity")
        if isinstance(space, spaces.Box):
            high = float(np.asarray(space.high).reshape(-1)[0])

            def push(obs: Any) -> np.ndarray:
                v = np.asarray(obs, dtype=np.float64).reshape(-1)[vel]
                return np.full(space.shape, high if v >= 0 else -high, dtype=space.dtype)

            return push
        if isinstance(space, spaces.Discrete) and space.n == 3:
            return lambda obs: 2 if np.asarray(obs).reshape(-1)[vel] >= 0 else 0
    raise EnvError(
        f"policy: no scripted policy for {env.spec.id if env.spec else type(env).__name__} "
        "(known: CartPole, MountainCar); use --policy random or a trained SB3 checkpoint"
    )


def sb3_algorithm(path: str | Path) -> str:
    """Name of the SB3 algorithm (``PPO``, ``SAC``, ...) that saved a checkpoint zip."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            data = json.loads(zf.read("data"))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
        raise CheckpointError(
            f"policy: {path} is not a Stable-Baselines3 checkpoint zip ({exc})"
        ) from None
    module = str(data.get("policy_class", {}).get("__module__", ""))
    for algo in ("SAC", "DQN", "TD3"):  # DDPG saves TD3 policies and loads as TD3
        if f".{algo.lower()}." in f".{module}.":
            return algo
    if module.endswith("common.policies"):  # on-policy actor-critic: PPO or A2C
        return "PPO" if "clip_range" in data else "A2C"
    raise CheckpointError(
        f"policy: cannot tell which SB3 algorithm saved {path} (policy module {module!r}); "
        f"name it explicitly: sb3:ALGO:PATH with ALGO one of {', '.join(_SB3_ALGOS)}"
    )


def _sb3(path: Path, seed: int, algo: str | None = None) -> Policy:
    import stable_baselines3

    algo = algo or sb3_algorithm(path)
    try:
        model = getattr(stable_baselines3, algo).load(str(path), device="cpu")
    except Exception as exc:  # SB3 raises many types on corrupt or mismatched zips
        raise CheckpointError(f"policy: cannot load {algo} checkpoint {path}: {exc}") from None
    model.set_random_seed(seed)

    def act(obs: Any) -> Any:
        action, _ = model.predict(obs, deterministic=True)
        return action

    return act


def _newest_loadable(run: RunDir, seed: int, algo: str | None) -> Policy:
    failures = []
    for ckpt in run.checkpoints():
        try:
            return _sb3(ckpt.model, seed, algo)
        except CheckpointError as exc:
            logger.warning("%s; trying an older checkpoint", exc)
            failures.append(str(exc))
    raise CheckpointError(f"policy: no checkpoint of {run.path} loads"
                          + (f" ({'; '.join(failures)})" if failures else ""))


def make_policy(spec: str, env: Any, *, seed: int = 0) -> Policy:
    """Build the policy named by ``spec`` for ``env`` (see the module docstring)."""
    if spec == "random":
        env.action_space.seed(seed)
        return lambda obs: env.action_space.sample()
    if spec == "scripted":
        return _scripted(env)
    rest = spec.removeprefix("sb3:")
    algo = None
    head, sep, tail = rest.partition(":")
    if spec.startswith("sb3:") and sep and head.upper() in _SB3_ALGOS:
        algo, rest = head.upper(), tail
    path = Path(rest)
    run = RunDir(path)
    if path.is_dir() and run.checkpoint_dir.is_dir():  # a training run folder
        return _newest_loadable(run, seed, algo)
    if spec.startswith("sb3:") or path.suffix == ".zip":
        if not path.is_file():
            raise ConfigError(f"policy: checkpoint {path} does not exist")
        return _sb3(path, seed, algo)
    raise ConfigError(
        f"policy: unknown {spec!r}; use 'random', 'scripted', an SB3 .zip checkpoint or a "
        "training run folder"
    )
