"""Damaged checkpoints: reported, skipped for the newest loadable older one, an error if none."""

from __future__ import annotations

import logging
import shutil

import pytest

from conftest import CARTPOLE
from vlm_reward.errors import CheckpointError
from vlm_reward.training import evaluate_run, resume, train


def truncate(path) -> None:
    """What ``head -c HALF file > file`` (a copy cut short, a full disk) leaves."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, tiny_clip_dir):
    """DQN, 300 steps, checkpoints at 100, 200, 300 (trained once, copied by each test)."""
    from vlm_reward.config import validate_run_config

    cfg = validate_run_config({
        "env": {"id": CARTPOLE},
        "reward": {"model": str(tiny_clip_dir), "goal": "a pole standing upright",
                   "device": "cpu", "precision": "fp32"},
        "algorithm": {"name": "DQN", "hyperparameters": {"learning_starts": 50,
                                                          "buffer_size": 2000}},
        "total_steps": 300, "device": "cpu", "torch_threads": 1,
        "logging": {"eval_every": 0, "video_every": 0, "checkpoint_every": 100,
                    "eval_episodes": 1, "progress_bar": False},
    })
    run = tmp_path_factory.mktemp("trained") / "run"
    train(cfg, run)
    return run


@pytest.fixture
def run(trained_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(trained_run, copy)
    return copy


def _extend(run, steps: int) -> None:
    """Raise total_steps by editing config.yaml, as a user can."""
    text = (run / "config.yaml").read_text().replace("total_steps: 300", f"total_steps: {steps}")
    (run / "config.yaml").write_text(text)


def _newest(run):
    from vlm_reward.run_dir import RunDir

    return RunDir(run).checkpoints()


def test_truncated_newest_model_falls_back_on_resume(run, caplog):
    truncate(run / "checkpoints" / "model_300.zip")
    _extend(run, 400)
    with caplog.at_level(logging.WARNING):
        results = resume(run)
    assert "model_300.zip" in caplog.text and "model_200.zip" in caplog.text
    assert results["status"] == "completed" and results["num_timesteps"] == 400
    assert results["resumed_from"] == [200]


def test_truncated_newest_model_falls_back_on_evaluate(run, caplog):
    truncate(run / "checkpoints" / "model_300.zip")
    with caplog.at_level(logging.WARNING):
        summary = evaluate_run(run, episodes=1, video=False)
    assert summary["checkpoint"] == "model_200.zip" and summary["num_timesteps"] == 200
    assert "model_300.zip" in caplog.text


def test_damaged_replay_buffer_falls_back_to_the_previous_checkpoint(run, caplog):
    buffer = _newest(run)[0].replay_buffer
    assert buffer is not None and buffer.name == "replay_buffer_300.pkl"
    truncate(buffer)
    _extend(run, 400)
    with caplog.at_level(logging.WARNING):
        results = resume(run)
    assert "replay_buffer_300.pkl" in caplog.text
    assert results["resumed_from"] == [200] and results["num_timesteps"] == 400


def test_bytes_overwritten_inside_the_zip_fall_back_too(run):
    path = _newest(run)[0].model
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    data[mid: mid + 64] = bytes(64)
    path.write_bytes(bytes(data))
    assert evaluate_run(run, episodes=1, video=False)["num_timesteps"] == 200


def test_no_loadable_checkpoint_is_one_clear_error(run):
    for ckpt in _newest(run):
        truncate(ckpt.model)
    _extend(run, 400)
    for call in (lambda: resume(run), lambda: evaluate_run(run, video=False)):
        with pytest.raises(CheckpointError, match=r"no checkpoint loads.*model_300\.zip"):
            call()


def test_policy_from_a_run_folder_skips_a_damaged_newest_checkpoint(run, caplog):
    import gymnasium as gym
    import small_envs  # noqa: F401  (registers the test env)

    from vlm_reward.evaluation.policies import make_policy

    truncate(run / "checkpoints" / "model_300.zip")
    env = gym.make("vlmr_test/SmallCartPole-v0")
    with caplog.at_level(logging.WARNING):
        policy = make_policy(str(run), env)
    assert "model_300.zip" in caplog.text
    obs, _ = env.reset(seed=0)
    assert env.action_space.contains(int(policy(obs)))
    for ckpt in _newest(run):
        truncate(ckpt.model)
    with pytest.raises(CheckpointError, match="no checkpoint of"):
        make_policy(str(run), env)
