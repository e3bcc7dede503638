import json
import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_demo_command_smoke(tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    proc = subprocess.run(
        [sys.executable, "-m", "vlm_reward", "demo", "--steps", "512", "--eval-episodes", "1",
         "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "success rate" in proc.stdout
    res = json.loads((out / "results.json").read_text())
    assert 0.0 <= res["trained"]["success_rate"] <= 1.0
    assert (out / "videos" / "trained_policy.mp4").stat().st_size > 0
    assert (out / "reward_vs_angle.png").exists()
    assert list((out / "checkpoints").glob("*.zip"))


def test_demo_command_rejects_tiny_step_budget(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "vlm_reward", "demo", "--steps", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2
    assert "steps" in proc.stderr and "Traceback" not in proc.stderr
