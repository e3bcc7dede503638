"""The ``vlm-reward`` command line (typer).

Each command group lives in its own module under ``vlm_reward.cli`` and registers itself on
:data:`app`. User mistakes (:class:`~vlm_reward.errors.VLMRewardError`) become one red line on
stderr and exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer
from rich.console import Console

from vlm_reward.cli.options import GlobalOptions, options
from vlm_reward.errors import VLMRewardError

__all__ = ["app", "main"]

app = typer.Typer(
    name="vlm-reward",
    help="Specify an RL task with one sentence; a vision-language model provides the reward.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err_console = Console(stderr=True)

# Command modules, each adding its commands to `app` at import.
COMMAND_MODULES: tuple[str, ...] = (
    "core",
    "envs",
    "train",
    "eval",
    "label",
    "demo",
)


@app.callback()
def _global_options(
    device: str = typer.Option("auto", help="Where models run: auto, cpu, cuda, cuda:N."),
    precision: str = typer.Option("auto", help="Model precision: auto, fp32, bf16, fp16."),
    offline: bool = typer.Option(
        False, help="Never touch the network; load weights from local caches and files only."
    ),
) -> None:
    options.device = device
    options.precision = precision
    options.offline = offline
    if offline:
        os.environ["HF_HUB_OFFLINE"] = "1"


for _module in COMMAND_MODULES:
    importlib.import_module(f"vlm_reward.cli.{_module}")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: usage errors are handled by typer, ours become one line."""
    try:
        app(args=argv)
    except VLMRewardError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(130)


__all__ += ["GlobalOptions"]
