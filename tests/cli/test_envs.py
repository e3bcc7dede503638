"""Subprocess smoke tests of ``vlm-reward render``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

SRC = str(Path(__file__).resolve().parents[2] / "src")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "MUJOCO_GL": "egl"}
    env["PYTHONPATH"] = SRC + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "vlm_reward", "render", *args],
        capture_output=True, text=True, timeout=180, env=env,
    )


def test_render_saves_pngs_at_the_asked_size(tmp_path: Path) -> None:
    out = tmp_path / "frames"
    proc = run("vlm_reward/MountainCarContinuous-v0", "--out", str(out), "--n-frames", "3",
               "--width", "48", "--height", "32", "--set", "textured=false")
    assert proc.returncode == 0, proc.stderr
    files = sorted(out.glob("*.png"))
    assert [f.name for f in files] == ["frame_00000.png", "frame_00001.png", "frame_00002.png"]
    assert all(Image.open(f).size == (48, 32) for f in files)
    assert "saved 3 frames" in proc.stdout


def test_render_works_for_a_foreign_env(tmp_path: Path) -> None:
    proc = run("Pendulum-v1", "--out", str(tmp_path), "--n-frames", "2", "--width", "40",
               "--height", "40")
    assert proc.returncode == 0, proc.stderr
    assert Image.open(tmp_path / "frame_00001.png").size == (40, 40)


def test_unknown_env_is_one_line_with_close_ids(tmp_path: Path) -> None:
    proc = run("vlm_reward/CartPol-v0", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "vlm_reward/CartPole-v0" in proc.stderr and "Traceback" not in proc.stderr
    assert not list(tmp_path.glob("*.png"))
