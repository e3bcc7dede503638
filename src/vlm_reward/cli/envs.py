"""``vlm-reward render``: save frames of any Gymnasium env, to see what the VLM will see."""

from __future__ import annotations

import difflib
import os
import tempfile
from pathlib import Path
from typing import Any

import typer

from vlm_reward.cli import app
from vlm_reward.errors import ConfigError, DependencyNotInstalled, EnvError

__all__ = ["make_render_env", "parse_env_kwargs", "render"]

POLICIES = ("random", "zero")


def parse_env_kwargs(pairs: list[str]) -> dict[str, Any]:
    """Turn ``["key=value", ...]`` into env kwargs; values are parsed as YAML scalars."""
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set: expected key=value (e.g. textured=false), got {pair!r}")
        try:
            out[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {pair!r}: cannot parse the value ({exc})") from exc
    return out


def make_render_env(env_id: str, kwargs: dict[str, Any]) -> Any:
    """``gymnasium.make(env_id, render_mode="rgb_array", **kwargs)`` with user-facing errors."""
    import gymnasium as gym

    import vlm_reward.envs  # noqa: F401  (registers the paper's ids)

    if env_id not in gym.registry:
        close = difflib.get_close_matches(env_id, list(gym.registry), n=5, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise EnvError(f"unknown environment id {env_id!r}.{hint}")
    import warnings

    try:
        with warnings.catch_warnings():  # an unsupported render mode is only a warning there
            warnings.simplefilter("ignore", UserWarning)
            env = gym.make(env_id, render_mode="rgb_array", **kwargs)
    except gym.error.DependencyNotInstalled as exc:
        raise DependencyNotInstalled("mujoco", "mujoco", f"Environment {env_id}") from exc
    except TypeError as exc:
        raise ConfigError(f"{env_id}: bad environment keyword argument ({exc})") from exc
    except gym.error.Error as exc:
        if "render" in str(exc).lower():
            raise EnvError(f"{env_id} cannot render rgb_array frames: {exc}") from exc
        raise EnvError(f"{env_id}: {exc}") from exc
    modes = list(env.metadata.get("render_modes", []))
    if "rgb_array" not in modes:
        env.close()
        raise EnvError(
            f"{env_id} cannot render rgb_array frames (its render modes: {modes}); "
            "a VLM reward needs an env that renders rgb_array"
        )
    return env


def _save_png(frame: Any, path: Path) -> None:
    import imageio.v3 as iio

    fd, tmp = tempfile.mkstemp(suffix=".png", dir=path.parent)
    os.close(fd)
    try:
        iio.imwrite(tmp, frame, extension=".png")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


@app.command()
def render(
    env_id: str = typer.Argument(..., help="Gymnasium id, e.g. vlm_reward/CartPole-v0."),
    out: Path = typer.Option(..., "--out", help="Folder for frame_00000.png, ..."),
    n_frames: int = typer.Option(8, "--n-frames", min=1, help="Number of frames to save."),
    seed: int = typer.Option(0, help="Seed for the env reset and the policy."),
    policy: str = typer.Option("random", help="How to act between frames: random or zero."),
    width: int | None = typer.Option(None, help="Frame width (env kwarg), if the env has one."),
    height: int | None = typer.Option(None, help="Frame height (env kwarg), if the env has one."),
    set_: list[str] = typer.Option(
        [], "--set", help="Extra env kwarg key=value (repeatable), e.g. --set textured=false."
    ),
) -> None:
    """Save frames of an environment as PNGs: what the VLM will see."""
    import numpy as np
    from rich.progress import Progress

    if policy not in POLICIES:
        raise ConfigError(f"--policy: expected one of {list(POLICIES)}, got {policy!r}")
    kwargs = parse_env_kwargs(set_)
    if width is not None:
        kwargs["width"] = width
    if height is not None:
        kwargs["height"] = height
    env = make_render_env(env_id, kwargs)
    try:
        out.mkdir(parents=True, exist_ok=True)
        env.action_space.seed(seed)
        env.reset(seed=seed)
        with Progress(transient=True) as progress:
            task = progress.add_task(f"rendering {env_id}", total=n_frames)
            for i in range(n_frames):
                frame = env.render()
                frame = None if frame is None else np.asarray(frame)
                if frame is None or frame.ndim != 3 or frame.shape[-1] != 3:
                    got = None if frame is None else frame.shape
                    raise EnvError(
                        f"{env_id}: render() returned {got}, not an (H, W, 3) rgb_array frame"
                    )
                _save_png(frame.astype(np.uint8, copy=False), out / f"frame_{i:05d}.png")
                progress.advance(task)
                if i + 1 < n_frames:
                    if policy == "random":
                        action = env.action_space.sample()
                    else:
                        action = np.zeros_like(env.action_space.sample())
                    _, _, terminated, truncated, _ = env.step(action)
                    if terminated or truncated:
                        env.reset()
    finally:
        env.close()
    typer.echo(f"saved {n_frames} frames ({frame.shape[1]}x{frame.shape[0]}) to {out}")
