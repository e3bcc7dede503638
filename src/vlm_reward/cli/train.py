"""Training commands: ``vlm-reward train`` and ``vlm-reward evaluate``."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vlm_reward.cli import app
from vlm_reward.cli.options import options
from vlm_reward.errors import ConfigError
from vlm_reward.overrides import parse_override
from vlm_reward.paths import check_output_path

__all__ = ["evaluate", "train"]

console = Console()
err_console = Console(stderr=True)


def _apply_global_options(overrides: list[str]) -> list[str]:
    """``--device``/``--precision`` of the top-level command apply to the reward model."""
    extra = []
    if options.device != "auto":
        extra.append(f"reward.device={options.device}")
    if options.precision != "auto":
        extra.append(f"reward.precision={options.precision}")
    return extra + list(overrides)


def _print_results(title: str, results: dict) -> None:
    table = Table(title=title, show_header=False)
    for key, value in results.items():
        if isinstance(value, dict):
            for sub, sub_value in value.items():
                table.add_row(escape(f"{key}.{sub}"), _fmt(sub_value))
        else:
            table.add_row(escape(key), _fmt(value))
    console.print(table)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "-" if value is None else escape(str(value))


@app.command()
def train(
    config: Path | None = typer.Argument(None, help="Run config YAML (see configs/)."),
    set_: list[str] = typer.Option(
        [], "--set", help="Override a config key KEY=VALUE, value read as YAML (repeatable), "
        "e.g. --set total_steps=5000 --set reward.alpha=0.5."
    ),
    run_dir: Path | None = typer.Option(
        None, "--run-dir", help="Run folder (default runs/<name>-<time>)."
    ),
    resume: Path | None = typer.Option(
        None, "--resume",
        help="Continue the run in this folder from its last checkpoint (extend it with "
        "--set total_steps=N).",
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address",
        help="Compute rewards on a Ray cluster: 'auto', HOST:PORT, or 'local' to start one here "
        "(sets reward.backend=ray).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print results as JSON."),
) -> None:
    """Train an agent from a config; Ctrl-C or SIGTERM saves a checkpoint (exit 130 / 143;
    continue with --resume)."""
    from vlm_reward import training
    from vlm_reward.config import load_run_config

    if resume is None:  # the default run folder goes under runs/
        check_output_path(run_dir if run_dir is not None else Path("runs"), "--run-dir", "dir")
    if ray_address is not None:
        from vlm_reward.distributed import init_ray

        # Connect first: the Ray embedder then reuses this connection, also on --resume.
        init_ray(None if ray_address == "local" else ray_address)
        if resume is None:
            set_ = [*set_, "reward.backend=ray"]
            if ray_address != "local":
                set_.append(f"reward.ray_address={ray_address}")
    if resume is not None:
        if config is not None or run_dir is not None:
            raise ConfigError(
                "--resume: the run's own config.yaml is used; drop CONFIG and --run-dir"
            )
        results = training.resume(resume, total_steps=_resume_total_steps(set_))
    else:
        if config is None:
            raise ConfigError("train: give a CONFIG.yaml (see configs/) or --resume RUN_DIR")
        cfg = load_run_config(config, _apply_global_options(set_))
        results = training.train(cfg, run_dir)
    interrupted = results.get("status") == "interrupted"
    if as_json:
        console.print_json(json.dumps(results))
    elif not interrupted:
        _print_results("training results", results)
    if interrupted:
        name = results.get("signal") or "SIGINT"
        err_console.print(
            f"[yellow]{name}[/]: stopped at step {results['num_timesteps']} and saved a "
            "checkpoint; continue with: vlm-reward train --resume "
            f"{escape(str(results['run_dir']))}",
            highlight=False, soft_wrap=True,
        )
        sys.exit(128 + signal.Signals[name])


def _resume_total_steps(overrides: list[str]) -> int | None:
    """``--resume`` takes ``--set total_steps=N`` only: the rest of the run is fixed."""
    total = None
    for item in overrides:
        key, value = parse_override(item, "--set", "total_steps=100000")
        if key != "total_steps":
            raise ConfigError(
                f"--resume: only total_steps may change (got --set {item}); the run's "
                "config.yaml fixes everything else, start a new run to change it"
            )
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"--set {item}: total_steps must be a whole number of env steps")
        total = value
    return total


@app.command()
def evaluate(
    run_dir: Path = typer.Argument(..., help="Run folder written by `vlm-reward train`."),
    episodes: int = typer.Option(5, "--episodes", help="Evaluation episodes."),
    video: bool = typer.Option(True, help="Save a video of the first episode."),
    as_json: bool = typer.Option(False, "--json", help="Print results as JSON."),
) -> None:
    """Roll out a run's latest checkpoint: ground-truth return, success rate, VLM reward."""
    from vlm_reward.training import evaluate_run

    check_output_path(run_dir, "RUN_DIR", "dir")  # evaluation.json and videos/ go in there
    results = evaluate_run(run_dir, episodes=episodes, video=video)
    if as_json:
        console.print_json(json.dumps(results))
    else:
        _print_results(f"evaluation of {run_dir}", results)
