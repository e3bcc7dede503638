"""`vlm-reward demo`: train a CartPole agent from one sentence with the bundled demo model.

The demo is an ordinary run of :func:`vlm_reward.training.train` (config from
:func:`demo_config`), so its run folder is like any other: ``config.yaml`` (rerun it with
``vlm-reward train RUN/config.yaml``), TensorBoard logs, checkpoints and an annotated video. The
agent never sees the environment's reward; in the project CartPole the episode does not end
when the pole falls, so only the VLM reward says what to do. Afterwards the trained policy and a
uniformly random one are rolled out on the ground truth, which training never used.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from vlm_reward.atomic import atomic_open
from vlm_reward.errors import ConfigError
from vlm_reward.run_dir import RunDir

__all__ = ["DEMO_GOAL", "DEMO_STEPS", "check_demo_args", "demo_config", "run_demo"]

DEMO_GOAL = "a pole standing upright on a cart"
EPISODE_LENGTH = 200
DEMO_STEPS = 60_000
"""Default PPO budget: every seed of 0-4 reached 100 % success here (docs/demo.md)."""
N_ENVS = 8


def demo_config(steps: int, seed: int = 0, goal: str = DEMO_GOAL, model: str = "demo"):
    """The demo's run config: PPO on ``vlm_reward/CartPole-v0`` with the VLM reward only.

    PPO settings follow the RL Zoo's tuned CartPole values (8 envs, short rollouts, many
    epochs), with a linearly decaying learning rate replaced by a constant one to keep the
    config plain YAML.
    """
    from vlm_reward.config import validate_run_config

    if steps < N_ENVS:
        raise ConfigError(f"steps: expected at least {N_ENVS} (one step per env), got {steps}")
    return validate_run_config({
        "name": "demo",
        "env": {"id": "vlm_reward/CartPole-v0", "kwargs": {"episode_length": EPISODE_LENGTH}},
        "seed": seed,
        "reward": {"model": model, "goal": goal, "device": "cpu", "precision": "auto",
                   "batch_size": 256},
        "reward_mode": "batched",
        "algorithm": {"name": "PPO", "hyperparameters": {
            "n_steps": 32, "batch_size": 256, "n_epochs": 20, "gamma": 0.98,
            "gae_lambda": 0.8, "learning_rate": 1e-3, "ent_coef": 0.0,
        }},
        "n_envs": N_ENVS,
        "total_steps": steps,
        "device": "cpu",
        "logging": {"eval_every": 0, "eval_episodes": 1, "video_every": 0,
                    "checkpoint_every": 0},
    }, source="demo config")


class RandomPolicy:
    """The baseline: uniformly random actions, with SB3's ``predict`` signature."""

    def __init__(self, action_space: Any, seed: int) -> None:
        self.action_space = action_space
        self.action_space.seed(seed)

    def predict(self, obs: Any, deterministic: bool = True) -> tuple[Any, None]:
        return self.action_space.sample(), None


def ground_truth_summary(results: list) -> dict[str, float]:
    """Success = pole within 12 degrees for every step of the episode (return = length)."""
    returns = np.array([r.ground_truth_return for r in results])
    lengths = np.array([r.length for r in results])
    return {
        "episodes": len(results),
        "success_rate": float(np.mean(returns >= lengths)),
        "upright_fraction": float(np.mean(returns / lengths)),
        "ground_truth_return": float(returns.mean()),
    }


def evaluate_against_random(run_dir: Path, episodes: int, seed: int) -> dict[str, Any]:
    """Roll out the run's final policy and a random policy on the same ground-truth episodes."""
    from stable_baselines3 import PPO

    from vlm_reward.training.checkpoints import load_checkpoint
    from vlm_reward.training.env_factory import make_eval_env
    from vlm_reward.training.rollout import run_episodes

    run = RunDir(run_dir)
    cfg = run.read_config()
    agent = load_checkpoint(run, PPO, device="cpu").model
    env = make_eval_env(cfg, None)  # ground truth only: no VLM needed
    try:
        eval_seed = seed + 20_000  # episodes training and its own evaluation never saw
        trained = run_episodes(agent, env, episodes, eval_seed)
        random = run_episodes(RandomPolicy(env.action_space, seed), env, episodes, eval_seed)
    finally:
        env.close()
    return {"trained": ground_truth_summary(trained), "random": ground_truth_summary(random)}


def check_demo_args(out: Path, steps: int, eval_episodes: int) -> None:
    """Refuse bad arguments before anything is printed, trained or written."""
    if eval_episodes < 1:
        raise ConfigError(f"eval_episodes: expected a positive integer, got {eval_episodes}")
    demo_config(steps)
    if RunDir(out).holds_run():
        raise ConfigError(f"out: {out} already holds a run; choose another folder (the default "
                          "is a new runs/demo-<timestamp>)")


def run_demo(
    out: Path, steps: int, seed: int = 0, eval_episodes: int = 20, model: str = "demo"
) -> dict[str, Any]:
    """Train, compare with random on the ground truth, plot the reward; returns the results.

    Everything lands in ``out`` (a new run folder); ``out/results.json`` gains a ``demo``
    section with both success rates.
    """
    from vlm_reward.demo.heldout import cartpole_angle_sweep
    from vlm_reward.models import load_model
    from vlm_reward.training import train

    check_demo_args(out, steps, eval_episodes)
    cfg = demo_config(steps, seed, model=model)
    t0 = time.perf_counter()
    results = train(cfg, out)
    if results["status"] != "completed":
        return results
    comparison = evaluate_against_random(out, eval_episodes, seed)
    angles, rewards = cartpole_angle_sweep(load_model(model, device="cpu", precision="fp32"),
                                           [DEMO_GOAL])
    plot_reward_vs_angle(out / "reward_vs_angle.png", angles, rewards)
    results["demo"] = {"goal": DEMO_GOAL, **comparison,
                       "total_seconds": round(time.perf_counter() - t0, 1)}
    RunDir(out).write_results(results)
    return results


def plot_reward_vs_angle(path: Path, angles: np.ndarray, rewards: np.ndarray) -> None:
    """The demo reward over pole angle, with the 12 degree success band shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.axvspan(-12, 12, color="tab:green", alpha=0.15, label="success band (12 degrees)")
    ax.plot(np.degrees(angles), rewards)
    ax.set(xlabel="pole angle (degrees, + = right)", ylabel="VLM reward (cosine)",
           title=f'"{DEMO_GOAL}"')
    ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_open(path, "wb") as fh:
        fig.savefig(fh, format="png", dpi=120)
    plt.close(fig)
