"""Build the training and evaluation envs of a run from its config.

Wrapper order inside every sub-env: ``gym.make(..., render_mode="rgb_array")`` ->
``Monitor`` (episode return = the env's own, ground-truth reward) -> ``VLMReward``. The VLM
wrapper sits inside each sub-env, so it renders the terminal state before the VecEnv
auto-resets.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gymnasium as gym
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv

from vlm_reward.wrappers import VLMReward, make_rendering_env, model_input_size

if TYPE_CHECKING:
    from vlm_reward.config import RunConfig
    from vlm_reward.reward import RewardModel

__all__ = [
    "ignore_stop_signals", "make_env", "make_eval_env", "make_vec_env", "register_project_envs",
]


def register_project_envs() -> None:
    """Import ``vlm_reward.envs`` (registers the ``vlm_reward/`` ids) if it is installed."""
    with contextlib.suppress(ImportError):
        import vlm_reward.envs  # noqa: F401


def _render_size(cfg: RunConfig, reward_model: RewardModel | None) -> tuple[int, int] | None:
    if cfg.env.render_size is not None:
        return cfg.env.render_size
    return model_input_size(reward_model) if reward_model is not None else None


def make_env(
    cfg: RunConfig,
    reward_model: RewardModel | None,
    mode: str,
    render_size: tuple[int, int] | None = None,
) -> gym.Env:
    """One env of the run; ``mode`` is ``per_step``, ``deferred`` or ``none`` (no VLM).

    ``render_size`` must be resolved by the caller (subprocess workers get no reward model).
    """
    register_project_envs()
    env = make_rendering_env(cfg.env.id, render_size, **cfg.env.kwargs)
    env = Monitor(env)
    if mode == "deferred":  # rewards are computed in the main process: no model needed here
        learned = cfg.reward.learned if cfg.uses_vlm else None  # type: ignore[union-attr]
        env = VLMReward(env, None, mode="deferred", keep_episode_frames=False,
                        keep_observation=learned is not None and learned.inputs == "observation")
    elif mode == "per_step":
        env = VLMReward(env, reward_model, mode="per_step")
    return env


def make_vec_env(cfg: RunConfig, reward_model: RewardModel | None) -> VecEnv:
    """The training VecEnv, seeded from ``cfg.seed`` (env ``i`` gets ``seed + i``)."""
    if reward_model is None:
        mode = "none"
    else:
        mode = "deferred" if cfg.reward_mode == "batched" else "per_step"
    size = _render_size(cfg, reward_model)

    env_model = reward_model if mode == "per_step" else None
    subproc = cfg.vec_env == "subproc" and cfg.n_envs > 1

    def factory(rank: int) -> Callable[[], gym.Env]:
        def _init() -> gym.Env:
            if subproc:
                ignore_stop_signals()
            env = make_env(cfg, env_model, mode, size)
            env.action_space.seed(cfg.seed + rank)
            return env

        return _init

    fns = [factory(i) for i in range(cfg.n_envs)]
    vec: VecEnv = SubprocVecEnv(fns) if subproc else DummyVecEnv(fns)
    vec.seed(cfg.seed)
    return vec


def ignore_stop_signals() -> None:
    """In an env worker process: ignore SIGINT and SIGTERM.

    Ctrl-C in a terminal, ``docker stop`` and SLURM signal the whole process group. A worker
    that died of it would break the main process's next step (``EOFError``) before it could
    save; ignoring them lets the main process stop at a step boundary, save a checkpoint and
    then close the workers itself.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def make_eval_env(cfg: RunConfig, reward_model: RewardModel | None) -> gym.Env:
    """A single env for evaluation: the VLM reward is deferred and computed per episode."""
    register_project_envs()
    size = _render_size(cfg, reward_model)
    env: Any = make_rendering_env(cfg.env.id, size, **cfg.env.kwargs)
    if reward_model is not None:
        env = VLMReward(env, reward_model, mode="deferred", keep_episode_frames=True)
    return env
