"""Progress bars: drawn by rich on a terminal, silent otherwise."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from vlm_reward.evaluation import progress
from vlm_reward.evaluation.progress import progress_bar


def _run(enabled: bool) -> None:
    with progress_bar("embed 4 frames", 4, enabled) as advance:
        for _ in range(4):
            advance(1)


@pytest.mark.parametrize("enabled", [True, False])
def test_nothing_is_written_when_stderr_is_not_a_terminal(capfd, enabled):
    _run(enabled)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_a_terminal_gets_a_rich_bar(monkeypatch):
    screen = io.StringIO()

    def terminal(*_args, **_kwargs) -> Console:
        return Console(file=screen, force_terminal=True, width=100)

    monkeypatch.setattr("rich.console.Console", terminal)
    _run(True)
    assert "embed 4 frames" in screen.getvalue() and "4/4" in screen.getvalue()
    assert progress.__all__ == ["progress_bar"]
