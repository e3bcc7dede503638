"""The CLI entry point: user mistakes become one line and exit 2, usage errors exit 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vlm_reward.cli import app, main
from vlm_reward.errors import ConfigError


@app.command("_raise-config-error", hidden=True)
def _raise_config_error() -> None:
    raise ConfigError("alpha: expected a value in [0, 1], got 3")


def test_user_error_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["_raise-config-error"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "alpha: expected a value in [0, 1], got 3" in err
    assert "Traceback" not in err


def test_unknown_command_is_usage_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vlm_reward", "no-such-command"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert "No such command" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_help_lists_commands() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vlm_reward", "--help"], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0
    assert "doctor" in proc.stdout
