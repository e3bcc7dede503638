"""The demo-model scripts run as a user runs them: train (tiny budget), then evaluate."""

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).parents[2] / "scripts"


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    return proc


def test_train_then_evaluate_a_demo_model(tmp_path):
    model = tmp_path / "model"
    proc = _run(str(SCRIPTS / "train_demo_model.py"), "--out", str(model), "--seed", "3",
                "--states-per-scene", "24", "--steps", "3", "--batch-size", "16")
    summary = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert summary["args"]["steps"] == "3" and summary["loss_first"] > 0
    assert sorted(p.name for p in model.iterdir()) == ["open_clip_config.json",
                                                       "open_clip_model.safetensors"]
    out = tmp_path / "eval"
    proc = _run(str(SCRIPTS / "evaluate_demo_model.py"), "--model", f"local-dir:{model}",
                "--out", str(out))
    assert "cartpole/corr_reward_vs_abs_angle" in proc.stdout
    results = json.loads((out / "demo_heldout_results.json").read_text())
    assert 0.0 <= results["mountaincar/frame_to_class_accuracy"] <= 1.0
    assert (out / "demo_cartpole_reward_vs_angle.png").stat().st_size > 0
