"""Core commands: doctor, models, score (minimal; extended by the core issue)."""

from __future__ import annotations

import platform

import typer
from rich.console import Console
from rich.table import Table

from vlm_reward.cli import app

console = Console()

@app.command()
def doctor() -> None:
    """Check versions, devices and bf16 support: what to look at first."""
    import torch

    from vlm_reward import __version__
    from vlm_reward.device import cpu_has_fast_bf16

    table = Table(title="vlm-reward doctor", show_header=False)
    table.add_row("vlm-reward", __version__)
    table.add_row("python", platform.python_version())
    table.add_row("torch", torch.__version__)
    table.add_row("cuda available", str(torch.cuda.is_available()))
    table.add_row("cpu fast bf16", str(cpu_has_fast_bf16()))
    console.print(table)

_ = typer  # typer is used by sibling modules through `app`
