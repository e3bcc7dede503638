"""The ``vlm-reward`` command line (typer).

Each command group lives in its own module under ``vlm_reward.cli`` and registers itself on
:data:`app`. User mistakes (:class:`~vlm_reward.errors.VLMRewardError`) become one red line on
stderr (``error: <message>``) and exit code 2, also under ``typer.testing.CliRunner``, because
the top-level group handles them; ``--debug`` (or ``VLM_REWARD_DEBUG=1``) adds the traceback
for bug reports. Anything else is a bug and keeps its traceback (exit 1).
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from vlm_reward.cli.options import GlobalOptions, options
from vlm_reward.errors import VLMRewardError

__all__ = ["app", "main", "print_user_error"]

err_console = Console(stderr=True)


def print_user_error(exc: BaseException) -> None:
    """Print ``error: <message>`` as one line: the message is escaped (``[mujoco]`` in a pip
    command is text, not rich markup) and its line breaks are joined."""
    message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    err_console.print(f"[bold red]error:[/] {escape(message or type(exc).__name__)}",
                      highlight=False, soft_wrap=True)


class _UserErrorsAsOneLine(TyperGroup):
    """The top-level group: turns user mistakes raised by any (sub)command into exit code 2."""

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except VLMRewardError as exc:
            if options.debug:
                traceback.print_exc(file=sys.stderr)
            print_user_error(exc)
            ctx.exit(2)
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]")
            ctx.exit(130)


app = typer.Typer(
    name="vlm-reward",
    cls=_UserErrorsAsOneLine,
    help="Specify an RL task with one sentence; a vision-language model provides the reward.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

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
    debug: bool = typer.Option(
        False, "--debug", envvar="VLM_REWARD_DEBUG",
        help="Show the traceback of errors too (for bug reports).",
    ),
) -> None:
    options.debug = debug
    options.device = device
    options.precision = precision
    options.offline = offline
    if offline:
        os.environ["HF_HUB_OFFLINE"] = "1"


for _module in COMMAND_MODULES:
    importlib.import_module(f"vlm_reward.cli.{_module}")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (errors are handled by the group, see the module doc)."""
    app(args=argv)


__all__ += ["GlobalOptions"]
