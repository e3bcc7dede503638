"""`vlm-reward demo`: the whole pipeline offline, with the bundled demo model."""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from vlm_reward.cli import app
from vlm_reward.demo.agent import DEMO_STEPS, check_demo_args
from vlm_reward.paths import check_output_path

__all__ = ["demo"]

console = Console()


@app.command()
def demo(
    steps: int = typer.Option(DEMO_STEPS, help="PPO environment steps (summed over 8 envs)."),
    out: Path | None = typer.Option(
        None, help="Run folder to create; default runs/demo-<timestamp>."
    ),
    seed: int = typer.Option(0, help="Seed for envs, policy and evaluation."),
    eval_episodes: int = typer.Option(20, help="Ground-truth evaluation episodes per policy."),
) -> None:
    """Train CartPole from "a pole standing upright on a cart" with the bundled demo model."""
    from vlm_reward.demo.agent import DEMO_GOAL, EPISODE_LENGTH, run_demo

    out = out if out is not None else Path("runs") / f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    check_output_path(out, "--out", "dir")
    check_demo_args(out, steps, eval_episodes)
    console.print(f'Training PPO on vlm_reward/CartPole-v0 from the sentence "{DEMO_GOAL}" '
                  f"(bundled demo model, CPU, {steps} steps; the env's own reward is not used)")
    res = run_demo(out, steps=steps, seed=seed, eval_episodes=eval_episodes)
    if res["status"] != "completed":
        console.print(f"[yellow]interrupted[/] after {res['num_timesteps']} steps; "
                      f"checkpoint in {escape(str(out / res['checkpoint']))}")
        raise typer.Exit(130)
    demo_res = res["demo"]
    t, r = demo_res["trained"], demo_res["random"]
    console.print(f"ground-truth success (pole within 12 degrees for all {EPISODE_LENGTH} "
                  f"steps), {t['episodes']} episodes each:")
    for name, s in (("trained policy", t), ("random policy", r)):
        console.print(f"  {name + ':':16s}{s['success_rate']:.0%} "
                      f"(upright {s['upright_fraction']:.0%} of steps)")
    video = (res.get("eval") or {}).get("video", "videos/")
    console.print(escape(f"took {demo_res['total_seconds']:.0f} s. Look at:\n"
                         f"  {out}/results.json\n  {out}/{video}\n  {out}/reward_vs_angle.png\n"
                         f"  tensorboard --logdir {out}/tb"))

