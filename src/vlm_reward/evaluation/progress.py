"""Progress bars for long evaluation work (collection, embedding), drawn by rich.progress.

A bar is drawn only when asked for *and* stderr is an interactive terminal: piped or
redirected output (logs, ``--json`` runs, CI) stays free of bar frames.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["progress_bar"]


@contextmanager
def progress_bar(description: str, total: int, enabled: bool = True) -> Iterator[
    Callable[[int], None]
]:
    """Yield ``advance(n)``; a rich bar on stderr when ``enabled`` and stderr is a terminal.

    Example:
        >>> with progress_bar("work", 3, enabled=False) as advance:
        ...     advance(3)
    """
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console(stderr=True)
    if not console.is_terminal:
        yield lambda n: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n: bar.advance(task, n)
