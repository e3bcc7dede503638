"""Subprocess smoke tests of `vlm-reward train` and `vlm-reward evaluate` with tiny budgets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from small_envs import CARTPOLE

SRC = Path(__file__).parents[2] / "src"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), str(Path(__file__).parent)]),
        "SDL_VIDEODRIVER": "dummy",
        "OMP_NUM_THREADS": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "vlm_reward", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


def _write_config(tmp_path: Path, tiny_clip_dir: Path) -> Path:
    cfg = {
        "env": {"id": CARTPOLE},
        "reward": {"model": str(tiny_clip_dir), "goal": "a pole upright", "device": "cpu",
                   "precision": "fp32"},
        "algorithm": {"name": "PPO", "hyperparameters": {"n_steps": 64, "batch_size": 64}},
        "total_steps": 64,
        "device": "cpu",
        "torch_threads": 1,
        "logging": {"eval_every": 0, "video_every": 0, "checkpoint_every": 0,
                    "eval_episodes": 1, "progress_bar": True},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


@pytest.mark.slow  # two subprocesses importing torch, open_clip and SB3: ~1 min on busy cores
def test_train_and_evaluate_cli(tmp_path, tiny_clip_dir):
    config = _write_config(tmp_path, tiny_clip_dir)
    run_dir = tmp_path / "run"
    proc = _run("train", str(config), "--set", "total_steps=128", "--run-dir", str(run_dir),
                "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((run_dir / "results.json").read_text())
    assert results["num_timesteps"] == 128 and results["status"] == "completed"
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["total_steps"] == 128

    proc = _run("evaluate", str(run_dir), "--episodes", "1", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((run_dir / "evaluation.json").read_text())["episodes"] == 1

    proc = _run("train", "--resume", str(run_dir), "--set", "total_steps=192", "--json",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    results = json.loads((run_dir / "results.json").read_text())
    assert results["num_timesteps"] == 192 and results["resumed_from"] == [128]


@pytest.mark.parametrize("overrides", [["reward.alpha=1"], ["total_steps=many"]])
def test_resume_accepts_only_a_new_total_steps(overrides):
    from vlm_reward.cli.train import _resume_total_steps
    from vlm_reward.errors import ConfigError

    assert _resume_total_steps(["total_steps=500"]) == 500
    assert _resume_total_steps([]) is None
    with pytest.raises(ConfigError, match="total_steps"):
        _resume_total_steps(overrides)


def test_cli_errors_are_one_line(tmp_path, tiny_clip_dir):
    config = _write_config(tmp_path, tiny_clip_dir)
    proc = _run("train", str(config), "--set", "algorithm.hyperparameters.n_stepz=3",
                cwd=tmp_path)
    assert proc.returncode == 2
    assert "n_stepz" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1

    proc = _run("train", cwd=tmp_path)
    assert proc.returncode == 2 and "CONFIG.yaml" in proc.stderr

    proc = _run("evaluate", str(tmp_path / "nope"), cwd=tmp_path)
    assert proc.returncode == 2 and "does not exist" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_ray_address_unreachable_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "vlm_reward", "train", "configs/cartpole-cpu.yaml",
         "--ray-address", "127.0.0.1:1", "--run-dir", str(run_dir)],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[2],
    )
    assert proc.returncode == 2, proc.stderr
    assert "127.0.0.1:1" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not run_dir.exists()
