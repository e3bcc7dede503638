"""``vlm-reward render``: save sample frames of an environment (what the VLM will see)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from vlm_reward.cli import app
from vlm_reward.cli.options import check_frame_size
from vlm_reward.errors import ConfigError
from vlm_reward.paths import check_output_path

__all__ = ["render"]

console = Console()


@app.command()
def render(
    env_id: str = typer.Argument(..., help="Gymnasium id, e.g. vlm_reward/CartPole-v0."),
    out: Path = typer.Option(..., "--out", help="Folder for the PNGs (created if missing)."),
    n_frames: int = typer.Option(8, "--n-frames", help="How many frames to save."),
    seed: int = typer.Option(0, help="Seed of the env and of the random policy."),
    width: int | None = typer.Option(None, help="Frame width in pixels."),
    height: int | None = typer.Option(None, help="Frame height in pixels."),
    env_kwarg: list[str] = typer.Option(
        [], "--env-kwarg", "--set",
        help="Env keyword argument KEY=VALUE, value read as YAML (repeatable), e.g. "
        "textured=false.",
    ),
) -> None:
    """Run a random policy and save its frames as PNGs, to check what the VLM will see.

    Frames are rendered at --width/--height when the env accepts them (the vlm_reward envs
    and MuJoCo envs do); other envs are rendered at their own size and resized.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from vlm_reward.overrides import parse_overrides
    from vlm_reward.rendering_env import (
        iter_random_frames,
        make_rendering_env,
        takes_render_size,
        write_png,
    )

    check_output_path(out, "--out", "dir")
    if n_frames < 1:
        raise ConfigError(f"--n-frames: expected at least 1, got {n_frames}")
    check_frame_size(width, height)
    kwargs = parse_overrides(env_kwarg, "--env-kwarg", "textured=false")
    size = (height, width) if width or height else None
    env = make_rendering_env(env_id, size, **kwargs)
    resized = size is not None and not takes_render_size(env_id)
    out.mkdir(parents=True, exist_ok=True)
    shape = None
    try:
        with Progress(
            TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), console=console,
            transient=True,
        ) as progress:
            task = progress.add_task("frames", total=n_frames)
            for i, frame in enumerate(iter_random_frames(env, n_frames, seed, size)):
                write_png(frame, out / f"frame_{i:05d}.png")
                shape = frame.shape[:2]
                progress.advance(task)
    finally:
        env.close()
    note = " (resized: the env does not take width/height)" if resized else ""
    console.print(
        escape(f"saved {n_frames} frames of {env_id} ({shape[1]}x{shape[0]}){note} to {out}"),
        highlight=False,
    )
