"""`vlm-reward demo`: the whole pipeline offline, with the bundled demo model."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from vlm_reward.cli import app

__all__ = ["demo"]

console = Console()


@app.command()
def demo(
    steps: int = typer.Option(12_000, help="PPO environment steps."),
    out: Path = typer.Option(Path("runs/demo"), help="Run folder to write."),
    seed: int = typer.Option(0, help="Seed for envs, policy and evaluation."),
    eval_episodes: int = typer.Option(20, help="Ground-truth evaluation episodes per policy."),
) -> None:
    """Train CartPole from "a pole standing upright on a cart" with the bundled demo model."""
    from vlm_reward.demo.agent import DEMO_GOAL, run_demo

    console.print(f'Training PPO on CartPole from the sentence "{DEMO_GOAL}" '
                  f"(demo model, CPU, {steps} steps)...")
    res = run_demo(out, steps=steps, seed=seed, eval_episodes=eval_episodes)
    t, r = res["trained"], res["random"]
    console.print(f"ground-truth success rate: trained {t['success_rate']:.0%} "
                  f"(upright {t['upright_fraction']:.0%} of steps), random "
                  f"{r['success_rate']:.0%} (upright {r['upright_fraction']:.0%})")
    console.print(f"took {res['total_seconds']:.0f} s. Look at: {out}/results.json, "
                  f"{out}/videos/trained_policy.mp4, {out}/reward_vs_angle.png, "
                  f"tensorboard --logdir {out}/tb")
