"""Training with ``reward.learned: distill``: stored rewards follow the student after each
update (replay buffers that wrap around included), PPO/DQN runs resume with the student and
its labels, the run folder's learned reward scores frames from the CLI, bad configs fail."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from gymnasium import spaces

from vlm_reward.config import LearnedConfig, validate_run_config
from vlm_reward.errors import ConfigError
from vlm_reward.learned import load_learned_reward
from vlm_reward.learned.distill import DistillReward
from vlm_reward.run_dir import RunDir
from vlm_reward.training.relabel import Relabelling, RelabelReplayBuffer

from .test_distill import BarVLM, bar_frames

STUDENT = {"kind": "distill", "frame_size": 16, "hidden": 16, "ensemble": 2,
           "warmup_steps": 64, "update_every": 64, "gradient_steps": 5, "batch_size": 32,
           "query_fraction": 0.2}


def test_replay_buffer_rewards_follow_the_student_after_each_update_and_wrap() -> None:
    """After every flush, each stored reward is the VLM label (queried steps) or the current
    student's prediction from the stored input: updates rewrite the whole wrapped buffer."""
    n_envs, size = 2, 40
    vlm = BarVLM()
    student = DistillReward(LearnedConfig(**{**STUDENT, "warmup_steps": 32,
                                             "update_every": 40}), vlm, seed=0)  # type: ignore[arg-type]
    buffer = RelabelReplayBuffer(size, spaces.Box(-1, 1, (2,)), spaces.Discrete(2),
                                 device="cpu", n_envs=n_envs, max_pending=6)
    relabel = Relabelling(None, learned=student)  # type: ignore[arg-type]
    relabel.buffer, buffer.relabelling = buffer, relabel
    relabel._model = SimpleNamespace(num_timesteps=0)  # type: ignore[assignment]
    relabel._running = np.zeros(n_envs)
    rng = np.random.default_rng(0)
    frames_at: dict[int, np.ndarray] = {}
    obs = np.zeros((n_envs, 2), np.float32)
    for _ in range(3 * size):
        frames = bar_frames(n_envs, rng)
        frames_at[int(buffer.pos)] = frames
        relabel._model.num_timesteps += n_envs  # type: ignore[union-attr]
        infos = [{"vlm_frame": f, "env_reward": 0.0} for f in frames]
        buffer.add(obs, obs, np.zeros((n_envs, 1)), np.zeros(n_envs), np.zeros(n_envs), infos)
    buffer.flush()
    rows = buffer.buffer_size  # SB3 keeps buffer_size // n_envs rows of n_envs transitions
    assert buffer.full and relabel.model_updates >= 3 and relabel.recomputed > rows
    frames = np.concatenate([frames_at[row] for row in range(rows)])
    queried = buffer._learned_queried.reshape(-1)
    expected = np.where(queried, BarVLM().rewards(frames),
                        student.predict(student.inputs(frames, None)))
    np.testing.assert_allclose(buffer.rewards.reshape(-1), expected, atol=1e-5)
    assert 0 < queried.sum() < queried.size


def _cfg(algorithm: str, hp: dict[str, Any], learned: dict[str, Any] | None = None,
         **top: Any):
    data = {
        "env": {"id": "vlm_reward/CartPole-v0", "kwargs": {"episode_length": 50}},
        "reward": {"model": "demo", "goal": "a pole standing upright on a cart",
                   "device": "cpu", "precision": "fp32", "learned": learned or STUDENT},
        "algorithm": {"name": algorithm, "hyperparameters": hp},
        "n_envs": 2, "total_steps": 256, "device": "cpu",
        "logging": {"eval_every": 0, "video_every": 0, "checkpoint_every": 128,
                    "eval_episodes": 1, "progress_bar": False},
        **top,
    }
    return validate_run_config(data)


@pytest.fixture(scope="module")
def ppo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    import torch

    from vlm_reward.training import train

    torch.set_num_threads(1)
    run = tmp_path_factory.mktemp("ppo") / "run"
    cfg = _cfg("PPO", {"n_steps": 32, "batch_size": 64, "n_epochs": 1})
    return run, train(cfg, run)


def test_ppo_run_logs_queries_and_keeps_its_learned_reward(ppo_run) -> None:
    run, results = ppo_run
    learned = results["learned"]
    assert results["reward"] == "learned" and learned["kind"] == "distill"
    assert 64 <= learned["vlm_queries"] < results["num_timesteps"]
    assert learned["vlm_queries_per_step"] == pytest.approx(
        learned["vlm_queries"] / results["num_timesteps"])
    assert learned["learned_updates"] >= 2 and "learned_loss" in learned
    header = (run / "tb" / "progress.csv").read_text().splitlines()[0].split(",")
    for key in ("reward/vlm_queries", "reward/vlm_queries_per_step", "reward/learned_loss",
                "reward/learned_pearson", "reward/learned_epic"):
        assert key in header
    saved = load_learned_reward(run)  # the run folder, without the VLM
    assert saved.vlm is None and saved.metrics()["vlm_queries"] == learned["vlm_queries"]
    assert [c.learned is not None for c in RunDir(run).checkpoints()] == [True, True]


def test_ppo_resume_continues_the_student_and_its_counts(ppo_run, tmp_path: Path) -> None:
    import shutil

    from vlm_reward.training import resume

    run, first = ppo_run
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    results = resume(copy, total_steps=384)
    assert results["num_timesteps"] == 384 and results["resumed_from"] == [256]
    student = load_learned_reward(copy)
    assert student.seen == 384  # counted from the checkpoint's 256, not from 0
    assert results["learned"]["vlm_queries"] > first["learned"]["vlm_queries"]
    assert results["learned"]["learned_updates"] > first["learned"]["learned_updates"]


def test_resume_without_the_learned_state_is_refused(ppo_run, tmp_path: Path) -> None:
    import shutil

    from vlm_reward.errors import CheckpointError
    from vlm_reward.training import resume

    copy = tmp_path / "run"
    shutil.copytree(ppo_run[0], copy)
    for ckpt in RunDir(copy).checkpoints():
        assert ckpt.learned is not None
        ckpt.learned.unlink()
    with pytest.raises(CheckpointError, match="no learned reward"):
        resume(copy, total_steps=384)


@pytest.mark.slow
def test_dqn_with_a_wrapping_replay_buffer_resumes(tmp_path: Path) -> None:
    from vlm_reward.training import resume, train

    cfg = _cfg("DQN", {"learning_starts": 64, "buffer_size": 100, "train_freq": 4,
                       "target_update_interval": 50})
    first = train(cfg, tmp_path / "run")
    assert first["learned"]["segment_recomputed_rewards"] > 0
    results = resume(tmp_path / "run", total_steps=384)
    assert results["num_timesteps"] == 384
    assert load_learned_reward(tmp_path / "run").seen == 384


def test_observation_inputs_train_from_the_post_step_observation(tmp_path: Path) -> None:
    from vlm_reward.training import train

    cfg = _cfg("PPO", {"n_steps": 32, "batch_size": 64, "n_epochs": 1},
               learned={**STUDENT, "inputs": "observation"}, total_steps=128,
               logging={"eval_every": 0, "video_every": 0, "checkpoint_every": 0,
                        "eval_episodes": 1, "progress_bar": False})
    results = train(cfg, tmp_path / "run")
    student = load_learned_reward(tmp_path / "run")
    assert student.input_shape == (4,) and results["learned"]["learned_updates"] >= 1
    with pytest.raises(ConfigError, match="cannot score frames"):
        student.score_frames(np.zeros((1, 8, 8, 3), np.uint8))


def test_cli_scores_frames_with_a_run_folder(ppo_run, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from vlm_reward.cli import main

    frames = bar_frames(3, np.random.default_rng(0))
    np.save(tmp_path / "frames.npy", frames)
    with pytest.raises(SystemExit) as done:
        main(["score", str(tmp_path / "frames.npy"), "--reward", str(ppo_run[0]), "--json"])
    assert done.value.code in (0, None)
    rows = json.loads(capsys.readouterr().out)["results"]
    expected = load_learned_reward(ppo_run[0]).score_frames(frames)
    np.testing.assert_allclose([r["reward"] for r in rows], expected, rtol=1e-5)
    with pytest.raises(SystemExit) as done:
        main(["score", str(tmp_path / "frames.npy"), "--reward", str(ppo_run[0]),
              "--goal", "a pole"])
    assert done.value.code == 2 and "drop --goal" in capsys.readouterr().err


@pytest.mark.parametrize(("reward", "top", "message"), [
    ({"kind": "window", "window": 4}, {}, "learned rewards learn a per-frame score"),
    ({"normalize": True}, {}, "normalize cannot be applied"),
    ({"env_weight": 0.5}, {}, "env_weight cannot be applied"),
    ({}, {"reward_mode": "per_step"}, "needs reward_mode batched"),
    ({"learned": {**STUDENT, "query_budget": 10}}, {}, "query_budget"),
    ({"learned": {**STUDENT, "query_fraction": 0}}, {}, "query_fraction"),
    ({"learned": {**STUDENT, "kind": "oracle"}}, {}, "kind"),
])
def test_bad_learned_configs_are_refused(reward: dict[str, Any], top: dict[str, Any],
                                         message: str) -> None:
    data = {"env": {"id": "vlm_reward/CartPole-v0"},
            "reward": {"model": "demo", "goal": "a pole upright", "learned": STUDENT, **reward},
            "algorithm": {"name": "PPO"}, "total_steps": 100, **top}
    with pytest.raises(ConfigError, match=message):
        validate_run_config(data)


def test_eval_metrics_scores_a_dataset_with_a_run_folder(ppo_run, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    import json

    from vlm_reward.cli import main
    from vlm_reward.evaluation.dataset import DatasetWriter, load_dataset

    frames = bar_frames(12, np.random.default_rng(1))
    with DatasetWriter(tmp_path / "ds", env_id="bars", state_names=["x"]) as writer:
        for i, frame in enumerate(frames):
            writer.add(frame, episode=0, step=i, state=[float(i)], env_reward=float(i % 5))
    with pytest.raises(SystemExit) as done:
        main(["eval", "metrics", str(tmp_path / "ds"), "--reward", str(ppo_run[0]),
              "--n-boot", "0", "--json"])
    assert done.value.code in (0, None)
    data = json.loads(capsys.readouterr().out)
    from vlm_reward.evaluation.metrics import pearson

    student = load_learned_reward(ppo_run[0])
    ds = load_dataset(tmp_path / "ds")
    expected = pearson(student.score_frames(np.array(ds.frames)), ds.env_reward)
    assert data["reward"] == str(ppo_run[0])
    assert data["metrics"]["pearson"]["value"] == pytest.approx(expected, abs=1e-6)


@pytest.mark.slow
def test_ray_backend_labels_through_the_actors(tmp_path: Path) -> None:
    """The VLM labels go through the reward model's embedder, here Ray actors."""
    pytest.importorskip("ray")
    from vlm_reward.distributed import shutdown_ray
    from vlm_reward.training import train

    cfg = _cfg("PPO", {"n_steps": 32, "batch_size": 64, "n_epochs": 1}, total_steps=128,
               logging={"eval_every": 0, "video_every": 0, "checkpoint_every": 0,
                        "eval_episodes": 1, "progress_bar": False})
    data = cfg.model_dump(mode="json")
    data["reward"] |= {"backend": "ray", "num_workers": 1, "num_cpus_per_worker": 1.0}
    try:
        results = train(validate_run_config(data), tmp_path / "run")
    finally:
        shutdown_ray()
    assert results["learned"]["vlm_queries"] >= 64 and results["num_timesteps"] == 128


def test_observation_inputs_on_a_discrete_observation_env_fail_before_the_run(
        tmp_path: Path) -> None:
    from vlm_reward.training import train

    data = _cfg("PPO", {"n_steps": 32, "batch_size": 64, "n_epochs": 1},
                learned={**STUDENT, "inputs": "observation"}).model_dump(mode="json")
    data["env"] = {"id": "FrozenLake-v1"}
    with pytest.raises(ConfigError, match="needs a Box"):
        train(validate_run_config(data), tmp_path / "run")
    assert not RunDir(tmp_path / "run").holds_run()
