"""Training with ``reward.backend: ray`` releases its Ray actors, and the Ray instance it
started, on every way out of :func:`vlm_reward.training.train`."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vlm_reward.distributed import init_ray, shutdown_ray
from vlm_reward.training import train

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

RAY_REWARD = {"backend": "ray", "num_workers": 1, "num_cpus_per_worker": 1.0}


def _cfg(make_cfg):
    return make_cfg("PPO", total_steps=48, hyperparameters={"n_steps": 48, "batch_size": 48,
                                                            "n_epochs": 1},
                    reward=RAY_REWARD)


@pytest.fixture
def no_ray() -> Iterator[None]:
    if ray.is_initialized():
        shutdown_ray()
    yield
    shutdown_ray()


def _alive_actors() -> int:
    """Actors still holding their CPU: killed ones hand it back (a few ms later)."""
    deadline = time.monotonic() + 30
    while True:
        held = ray.cluster_resources()["CPU"] - ray.available_resources().get("CPU", 0.0)
        if held == 0 or time.monotonic() > deadline:
            return round(held)
        time.sleep(0.2)


def test_train_stops_the_ray_instance_it_started(make_cfg, tmp_path: Path, no_ray) -> None:
    results = train(_cfg(make_cfg), tmp_path / "run")
    assert results["status"] == "completed" and results["relabelled_frames"] == 48
    assert not ray.is_initialized()


def test_train_failing_midway_still_stops_ray(make_cfg, tmp_path: Path, no_ray,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("env construction failed")

    monkeypatch.setattr("vlm_reward.training.env_factory.make_eval_env", broken)
    with pytest.raises(RuntimeError, match="env construction failed"):
        train(_cfg(make_cfg), tmp_path / "run")
    assert not ray.is_initialized()


def test_train_leaves_a_joined_ray_running_without_its_actors(make_cfg, tmp_path: Path,
                                                              no_ray) -> None:
    init_ray(None, num_cpus=2)  # the caller's instance: not the embedder's to stop
    results = train(_cfg(make_cfg), tmp_path / "run")
    assert results["status"] == "completed"
    assert ray.is_initialized()
    assert _alive_actors() == 0
