import json
import os
import subprocess
import sys

import pytest

from vlm_reward.config import load_run_config


def _offline_prefix() -> list[str]:
    """``unshare -n`` (a network namespace with no interface) where the sandbox allows it."""
    try:
        ok = subprocess.run(["unshare", "-n", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return ["unshare", "-n"] if ok.returncode == 0 else []


@pytest.mark.slow
def test_demo_command_writes_a_complete_run_folder(tmp_path):
    out = tmp_path / "run"
    # offline: with no network namespace, every HTTP(S) request goes to a closed port instead
    dead = "http://127.0.0.1:9"
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "HTTP_PROXY": dead, "HTTPS_PROXY": dead,
           "http_proxy": dead, "https_proxy": dead, "NO_PROXY": "", "no_proxy": ""}
    proc = subprocess.run(
        [*_offline_prefix(), sys.executable, "-m", "vlm_reward", "demo", "--steps", "512",
         "--eval-episodes", "2", "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "trained policy" in proc.stdout and "random policy" in proc.stdout
    res = json.loads((out / "results.json").read_text())
    assert res["status"] == "completed" and res["reward"] == "vlm"
    for policy in ("trained", "random"):
        summary = res["demo"][policy]
        assert summary["episodes"] == 2
        assert 0.0 <= summary["success_rate"] <= summary["upright_fraction"] <= 1.0
    import imageio.v2 as imageio

    frame = imageio.get_reader(out / res["eval"]["video"]).get_data(0)
    assert frame.shape == (240, 360, 3)  # the 72x48 model-size render, enlarged 5x to watch
    assert (out / "reward_vs_angle.png").stat().st_size > 0
    assert list((out / "checkpoints").glob("model_*.zip"))
    # the run folder's config reruns the same demo through `vlm-reward train`
    cfg = load_run_config(out / "config.yaml")
    assert cfg.reward.model == "demo" and cfg.env.id == "vlm_reward/CartPole-v0"


def test_demo_command_rejects_tiny_step_budget(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "vlm_reward", "demo", "--steps", "1", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2
    assert "steps" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "config.yaml").exists()


@pytest.mark.parametrize("bad", [["--eval-episodes", "0"], ["--out", "EXISTING"]])
def test_demo_command_refuses_bad_arguments_before_training(tmp_path, bad):
    existing = tmp_path / "existing"
    (existing / "checkpoints").mkdir(parents=True)
    (existing / "checkpoints" / "latest.json").write_text("{}")
    (existing / "config.yaml").write_text("name: demo\n")
    args = [str(existing) if a == "EXISTING" else a for a in bad]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "new")]
    proc = subprocess.run([sys.executable, "-m", "vlm_reward", "demo", *args],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "Training PPO" not in proc.stdout
    assert ("eval_episodes" if "0" in args else "already holds a run") in proc.stderr
    assert not (tmp_path / "new").exists()
    assert sorted(p.name for p in existing.rglob("*")) == ["checkpoints", "config.yaml",
                                                           "latest.json"]
