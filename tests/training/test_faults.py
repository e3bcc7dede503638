"""Fault injection: signals, SIGKILL and damaged checkpoints, then resume.

Runs are tiny (the tiny random CLIP, the project CartPole rendered at the model's 32x32
input, a few hundred steps, a checkpoint every 64 steps) and the kill points are drawn from a
seeded RNG. After every fault the run is resumed and checked:

* the steps lost are at most one checkpoint interval (none for SIGINT/SIGTERM);
* every file in the run folder parses (JSON, YAML, CSV, zip, pickle, TensorBoard events);
* ``progress.csv`` has no gap: the rows logged before the fault up to the checkpoint resumed
  from are all still there, and the step column never decreases.
"""

from __future__ import annotations

import csv
import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from vlm_reward.run_dir import RunDir

pytestmark = pytest.mark.slow
pytest.importorskip("vlm_reward.envs")

SRC = Path(__file__).parents[2] / "src"
EVERY = 64  # checkpoint interval, env steps
RNG = random.Random(20261202)


def _config(tiny_clip_dir: Path, algorithm: str, **over: Any) -> dict[str, Any]:
    hp = ({"n_steps": 32, "batch_size": 64, "n_epochs": 1} if algorithm == "PPO" else
          {"learning_starts": 32, "buffer_size": 2000, "train_freq": 4})
    cfg = {
        "env": {"id": "vlm_reward/CartPole-v0", "kwargs": {"episode_length": 48}},
        "reward": {"model": str(tiny_clip_dir), "goal": "a pole standing upright",
                   "device": "cpu", "precision": "fp32"},
        "algorithm": {"name": algorithm, "hyperparameters": hp},
        "total_steps": 100_000, "device": "cpu", "torch_threads": 1,
        "logging": {"eval_every": 0, "video_every": 0, "checkpoint_every": EVERY,
                    "eval_episodes": 1, "progress_bar": False},
    }
    cfg.update(over)
    return cfg


def _cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(SRC), "SDL_VIDEODRIVER": "dummy",
           "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(  # own session: killpg reaches it and its workers, not pytest
        [sys.executable, "-m", "vlm_reward", *args], env=env, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _rows(run: RunDir) -> list[dict[str, str]]:
    if not run.progress_csv.is_file():
        return []
    with open(run.progress_csv, newline="") as fh:
        text = fh.read()
    return list(csv.DictReader(text[: text.rfind("\n") + 1].splitlines()))


def _steps(rows: list[dict[str, str]]) -> list[float]:
    return [float(r["time/total_timesteps"]) for r in rows]


def check_every_file_parses(run: RunDir) -> None:
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    for path in run.path.rglob("*"):
        if not path.is_file():
            continue
        assert ".tmp" not in path.name, f"left-over temp file {path}"
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".yaml":
            assert isinstance(yaml.safe_load(path.read_text()), dict)
        elif path.suffix == ".csv":
            with open(path, newline="") as fh:
                rows = list(csv.reader(fh))
            assert rows and all(len(r) == len(rows[0]) for r in rows), path
        elif path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                assert zf.testzip() is None, path
        elif path.suffix == ".pkl":
            with open(path, "rb") as fh:
                pickle.load(fh)
        elif path.name.startswith("events.out.tfevents"):
            list(EventFileLoader(str(path)).Load())
        elif path.suffix == ".mp4":
            assert path.stat().st_size > 1000, path
        else:
            raise AssertionError(f"unexpected file in the run folder: {path}")


def check_resumed(run: RunDir, before: list[dict[str, str]], lost_at_most: int) -> dict:
    """The checks of the module docstring, after a fault at step ``steps(before)[-1]``."""
    results = json.loads(run.results_path.read_text())
    assert results["status"] == "completed", results
    resumed_from = results["resumed_from"][-1]
    reached = max(_steps(before), default=0)
    assert reached - resumed_from <= lost_at_most, (reached, resumed_from)
    after = _rows(run)
    kept = [r for r in before if float(r["time/total_timesteps"]) <= resumed_from]
    assert [{k: r[k] for k in before[0]} for r in after[: len(kept)]] == kept
    steps = _steps(after)
    assert steps == sorted(steps) and steps[-1] == results["num_timesteps"]
    check_every_file_parses(run)
    return results


def _wait_for_checkpoint(run: RunDir, proc: subprocess.Popen, steps: int) -> None:
    deadline = time.monotonic() + 240
    while not (run.checkpoints() and run.checkpoints()[0].steps >= steps):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.1)


# (how, signal, algorithm, vec_env): the main process alone or the whole group; SIGKILL
# cannot be caught, so it costs the steps since the last checkpoint
FAULTS = [
    ("kill", signal.SIGTERM, "PPO", "subproc"),
    ("killpg", signal.SIGINT, "PPO", "subproc"),
    ("kill", signal.SIGKILL, "DQN", "dummy"),
    ("killpg", signal.SIGKILL, "PPO", "subproc"),
]


def test_signals_and_sigkill_at_random_points_then_resume(tmp_path, tiny_clip_dir):
    """All runs at once (the machine has two cores; most of each run is start-up)."""
    runs = []
    for i, (how, sig, algorithm, vec_env) in enumerate(FAULTS):
        cfg_path = tmp_path / f"cfg{i}.yaml"
        n_envs = 2 if vec_env == "subproc" else 1
        cfg_path.write_text(yaml.safe_dump(_config(tiny_clip_dir, algorithm, n_envs=n_envs,
                                                   vec_env=vec_env)))
        run = RunDir(tmp_path / f"run{i}")
        proc = _cli("train", str(cfg_path), "--run-dir", str(run.path))
        runs.append((how, sig, run, proc, RNG.choice([EVERY, 2 * EVERY, 3 * EVERY]),
                     RNG.uniform(0.0, 0.5)))
    for how, sig, run, proc, after_steps, delay in runs:
        _wait_for_checkpoint(run, proc, after_steps)
        time.sleep(delay)
        (os.killpg if how == "killpg" else os.kill)(proc.pid, sig)
    stopped = []
    for _how, sig, run, proc, _, _ in runs:
        _out, err = proc.communicate(timeout=120)
        before = _rows(run)
        newest = run.checkpoints()[0].steps
        if sig == signal.SIGKILL:
            assert proc.returncode == -signal.SIGKILL
        else:
            assert proc.returncode == 128 + sig, err
            assert f"vlm-reward train --resume {run.path}" in err
            assert len(err.strip().splitlines()) == 1, err
            interrupted = json.loads(run.results_path.read_text())
            assert interrupted["status"] == "interrupted"
            assert interrupted["signal"] == sig.name
            assert interrupted["num_timesteps"] == newest  # saved at the stop
            check_every_file_parses(run)
        stopped.append((sig, run, before, newest))
    resumes = [(sig, run, before, _cli("train", "--resume", str(run.path), "--set",
                                      f"total_steps={newest + 2 * EVERY}"))
               for sig, run, before, newest in stopped]
    for sig, run, before, proc in resumes:
        _out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        # SIGKILL: one interval (checkpoints land on the rollout end after each multiple)
        lost = 0 if sig != signal.SIGKILL else EVERY + 4
        check_resumed(run, before, lost)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_at_a_random_step_in_process(tmp_path, tiny_clip_dir, monkeypatch, sig):
    from vlm_reward.config import validate_run_config
    from vlm_reward.training import callbacks, resume, train

    at = RNG.randrange(40, 200)
    original = callbacks.Metrics._on_step

    def signal_once(self):
        if self.model.num_timesteps == at:
            os.kill(os.getpid(), sig)
        return original(self)

    monkeypatch.setattr(callbacks.Metrics, "_on_step", signal_once)
    run = RunDir(tmp_path / "run")
    cfg = validate_run_config(_config(tiny_clip_dir, "DQN", total_steps=256))
    stopped = train(cfg, run.path)
    assert stopped["status"] == "interrupted" and stopped["num_timesteps"] == at
    before = _rows(run)
    monkeypatch.setattr(callbacks.Metrics, "_on_step", original)
    done = resume(run.path)
    assert done["resumed_from"] == [at] and done["num_timesteps"] == 256
    check_resumed(run, before, lost_at_most=0)


@pytest.fixture(scope="module")
def dqn_run(tmp_path_factory, tiny_clip_dir) -> Path:
    from vlm_reward.config import validate_run_config
    from vlm_reward.training import train

    run = tmp_path_factory.mktemp("faults") / "run"
    train(validate_run_config(_config(tiny_clip_dir, "DQN", total_steps=4 * EVERY)), run)
    return run


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _scramble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    start = RNG.randrange(len(data) // 4, len(data) // 2)
    data[start: start + 256] = RNG.randbytes(256)
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [_truncate, _scramble], ids=["truncated", "corrupt"])
@pytest.mark.parametrize("part", ["model", "replay_buffer"])
def test_damaged_newest_checkpoint_costs_one_interval(dqn_run, tmp_path, damage, part, caplog):
    from vlm_reward.training import evaluate_run, resume

    run = RunDir(tmp_path / "run")
    shutil.copytree(dqn_run, run.path)
    before = _rows(run)
    newest, previous = run.checkpoints()[:2]
    damaged = getattr(newest, part)
    damage(damaged)
    if part == "model":
        assert evaluate_run(run.path, episodes=1, video=False)["num_timesteps"] == previous.steps
    done = resume(run.path, total_steps=newest.steps + EVERY)
    assert damaged.name in caplog.text
    assert done["resumed_from"] == [previous.steps]
    check_resumed(run, before, lost_at_most=EVERY)
