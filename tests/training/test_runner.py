"""End-to-end training through the VLM-reward path, run folders, resume, interruption."""

from __future__ import annotations

import csv
import json
import os
import signal

import numpy as np
import pytest
from small_envs import PENDULUM

from vlm_reward.config import load_run_config
from vlm_reward.errors import CheckpointError, ConfigError
from vlm_reward.run_dir import RunDir
from vlm_reward.training import evaluate_run, resume, train


def _csv_columns(run_dir) -> dict[str, list[str]]:
    with open(run_dir / "tb" / "progress.csv") as fh:
        rows = list(csv.DictReader(fh))
    return {key: [r[key] for r in rows if r.get(key)] for key in rows[0]}


def _check_run_folder(run_dir, cfg, results, expect_videos=True):
    assert load_run_config(run_dir / "config.yaml") == cfg
    assert list((run_dir / "tb").glob("events.out.tfevents.*"))
    newest = RunDir(run_dir).checkpoints()[0]
    assert newest.model.is_file()
    assert newest.steps == results["num_timesteps"] >= cfg.total_steps
    if expect_videos:
        videos = sorted((run_dir / "videos").glob("*.mp4"))
        assert videos and all(v.stat().st_size > 1000 for v in videos)
    on_disk = json.loads((run_dir / "results.json").read_text())
    assert on_disk == json.loads(json.dumps(results))
    assert results["status"] == "completed"


@pytest.mark.parametrize(
    ("algorithm", "hp", "n_envs"),
    [
        ("PPO", {"n_steps": 250, "batch_size": 100, "n_epochs": 2}, 2),
        ("DQN", {"learning_starts": 500, "train_freq": 16, "gradient_steps": 4,
                 "target_update_interval": 100}, 1),
    ],
)
def test_batched_vlm_training_end_to_end(make_cfg, tmp_path, algorithm, hp, n_envs):
    cfg = make_cfg(
        algorithm, hyperparameters=hp, n_envs=n_envs, total_steps=2000,
        logging={"eval_every": 1000, "video_every": 1000, "checkpoint_every": 1000},
    )
    run_dir = tmp_path / "run"
    results = train(cfg, run_dir)
    _check_run_folder(run_dir, cfg, results)
    assert results["relabelled_frames"] == results["num_timesteps"]
    assert results["train"]["vlm_return"] is not None
    assert results["train"]["ground_truth_return"] > 0
    assert 0 < results["reward_inference_share"] < 1
    assert results["eval"]["vlm_return"] is not None
    cols = _csv_columns(run_dir)
    for key in ("reward/vlm", "reward/ground_truth", "time/fps", "time/reward_inference_share",
                "eval/ground_truth_return", "eval/vlm_return"):
        assert cols.get(key), f"{key} never logged"
    steps = sorted(int(p.stem.split("_")[-1]) for p in (run_dir / "checkpoints").glob("*.zip"))
    assert len(steps) >= 2 and steps[-1] == results["num_timesteps"]
    assert len(list((run_dir / "videos").glob("eval_step_*.mp4"))) >= 2


def test_per_step_sac_on_continuous_env(make_cfg, tmp_path):
    cfg = make_cfg(
        "SAC", env=PENDULUM, reward_mode="per_step", total_steps=300,
        hyperparameters={"learning_starts": 100, "batch_size": 32,
                         "policy_kwargs": {"net_arch": [32]}},
        logging={"eval_every": 0, "video_every": 0, "checkpoint_every": 150},
    )
    results = train(cfg, tmp_path / "run")
    _check_run_folder(tmp_path / "run", cfg, results)
    assert results["relabelled_frames"] is None  # per-step: nothing to relabel
    assert results["train"]["vlm_return"] is not None  # 50-step episodes
    assert RunDir(tmp_path / "run").checkpoints()[0].replay_buffer.is_file()


def test_resume_continues_with_replay_buffer(make_cfg, tmp_path):
    cfg = make_cfg("DQN", total_steps=300, hyperparameters={"learning_starts": 100},
                   logging={"checkpoint_every": 100})
    run_dir = tmp_path / "run"
    first = train(cfg, run_dir)
    assert first["num_timesteps"] == 300
    with pytest.raises(ConfigError, match="--resume"):
        train(cfg, run_dir)
    # extend the run, as after a crash with budget left
    text = (run_dir / "config.yaml").read_text().replace("total_steps: 300", "total_steps: 500")
    (run_dir / "config.yaml").write_text(text)
    before = _progress_rows(run_dir)
    assert before
    second = resume(run_dir)
    after = _progress_rows(run_dir)  # appended: the rows of the first segment are all there
    assert [{k: r[k] for k in before[0]} for r in after[:len(before)]] == before
    assert len(after) > len(before)
    assert second["resumed_from"] == [300]
    assert second["num_timesteps"] == 500
    from stable_baselines3 import DQN

    newest = RunDir(run_dir).checkpoints()[0]
    model = DQN.load(newest.model)
    model.load_replay_buffer(newest.replay_buffer)
    assert model.replay_buffer.pos == 500  # the first 300 transitions were carried over
    assert np.all(model.replay_buffer.rewards[:500] != 0.0)  # all relabelled


def test_sigterm_saves_checkpoint_then_resume(make_cfg, tmp_path, monkeypatch):
    from vlm_reward.training import callbacks

    cfg = make_cfg("DQN", total_steps=400, hyperparameters={"learning_starts": 50})
    original = callbacks.Metrics._on_step

    def send_sigterm_at_150(self):
        if self.model.num_timesteps == 150:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(self)

    monkeypatch.setattr(callbacks.Metrics, "_on_step", send_sigterm_at_150)
    run_dir = tmp_path / "run"
    handler_before = signal.getsignal(signal.SIGTERM)
    results = train(cfg, run_dir)
    assert results["status"] == "interrupted" and results["signal"] == "SIGTERM"
    on_disk = json.loads((run_dir / "results.json").read_text())
    assert on_disk["status"] == "interrupted" and on_disk["num_timesteps"] == 150
    newest = RunDir(run_dir).checkpoints()[0]
    # the signal arrives during step 150; SB3 drops the next step, so 150 steps are complete
    assert newest.steps == results["num_timesteps"] == 150 and newest.replay_buffer
    from stable_baselines3 import DQN

    saved = DQN.load(newest.model)
    saved.load_replay_buffer(newest.replay_buffer)
    assert saved.num_timesteps == saved.replay_buffer.pos == 150
    assert np.all(saved.replay_buffer.rewards[:150] != 0.0)  # flushed before saving
    assert signal.getsignal(signal.SIGTERM) is handler_before  # handler restored
    monkeypatch.setattr(callbacks.Metrics, "_on_step", original)
    done = resume(run_dir)
    # stops exactly at total_steps, not at the end of the train_freq=4 rollout (402)
    assert done["status"] == "completed" and done["num_timesteps"] == 400
    assert done["resumed_from"] == [150]
    assert done["train"]["episodes"] >= results["train"]["episodes"]


def test_evaluate_run(make_cfg, tmp_path):
    cfg = make_cfg("PPO", total_steps=128, hyperparameters={"n_steps": 64, "batch_size": 64})
    run_dir = tmp_path / "run"
    train(cfg, run_dir)
    first = (run_dir / "results.json").read_text()
    again = resume(run_dir)  # a finished run: nothing to do, its results are kept as they are
    assert again == json.loads(first) and (run_dir / "results.json").read_text() == first
    summary = evaluate_run(run_dir, episodes=2)
    assert summary["episodes"] == 2
    assert summary["ground_truth_return"] > 0 and summary["vlm_return"] is not None
    assert (run_dir / summary["video"]).stat().st_size > 1000
    assert json.loads((run_dir / "evaluation.json").read_text())["episodes"] == 2
    with pytest.raises(CheckpointError, match="no checkpoint"):
        (tmp_path / "empty").mkdir()
        (tmp_path / "empty" / "config.yaml").write_text((run_dir / "config.yaml").read_text())
        evaluate_run(tmp_path / "empty")


@pytest.mark.slow
def test_ground_truth_ppo_learns_cartpole(tmp_path):
    cfg = load_run_config(
        os.path.join(os.path.dirname(__file__), "..", "..", "configs",
                     "cartpole-ground-truth-cpu.yaml"),
        ["total_steps=20000", "logging.eval_every=0", "logging.checkpoint_every=0",
         "logging.eval_episodes=5", "logging.progress_bar=false"],
    )
    results = train(cfg, tmp_path / "run")
    # a random policy scores about 22 on CartPole-v1; learning lifts it far above that
    assert results["eval"]["ground_truth_return"] > 150, results["eval"]
    assert results["train"]["vlm_return"] is None


@pytest.mark.slow  # spawns two worker processes (~30 s on busy cores)
def test_subprocess_envs_with_batched_rewards(make_cfg, tmp_path):
    """Frames travel back through info; the workers never receive the reward model."""
    cfg = make_cfg("PPO", n_envs=2, vec_env="subproc", total_steps=128,
                   hyperparameters={"n_steps": 64, "batch_size": 64})
    results = train(cfg, tmp_path / "run")
    assert results["relabelled_frames"] == 128
    assert results["train"]["ground_truth_return"] > 0


def test_project_cartpole_env_sized_to_the_model(make_cfg, tmp_path):
    """The project's CartPole renders at the VLM input size and reports success."""
    pytest.importorskip("vlm_reward.envs")
    cfg = make_cfg("PPO", env="vlm_reward/CartPole-v0", total_steps=128,
                   hyperparameters={"n_steps": 64, "batch_size": 64})
    cfg.env.kwargs = {"episode_length": 32}
    results = train(cfg, tmp_path / "run")
    assert results["train"]["episodes"] == 4  # fixed episode length, no early termination
    assert results["train"]["success_rate"] is not None
    assert results["eval"]["success_rate"] is not None
    import imageio.v2 as imageio

    frame = imageio.get_reader(tmp_path / "run" / results["eval"]["video"]).get_data(0)
    # rendered at the tiny model's 32x32 input size, enlarged 8x for the video
    assert frame.shape == (256, 256, 3)


def test_run_folder_of_a_failed_start_can_be_reused(make_cfg, tmp_path):
    from vlm_reward.errors import VLMRewardError

    good = make_cfg("PPO", total_steps=64, hyperparameters={"n_steps": 64, "batch_size": 64})
    bad = good.model_copy(deep=True)
    bad.reward.model = str(tmp_path / "no-such-model")
    with pytest.raises(VLMRewardError):
        train(bad, tmp_path / "run")
    assert train(good, tmp_path / "run")["status"] == "completed"


def _progress_rows(run_dir) -> list[dict[str, str]]:
    with open(run_dir / "tb" / "progress.csv") as fh:
        return list(csv.DictReader(fh))


def test_interrupted_then_resumed_run_keeps_its_log_and_counts_every_segment(
        make_cfg, tmp_path, monkeypatch):
    """progress.csv is appended, not rewritten; results.json covers both segments."""
    pytest.importorskip("vlm_reward.envs")
    from vlm_reward.training import callbacks

    # fixed 32-step episodes: the whole run (250 -> 256 steps, PPO rollouts of 32) has 8
    cfg = make_cfg("PPO", env="vlm_reward/CartPole-v0", total_steps=250,
                   hyperparameters={"n_steps": 32, "batch_size": 32, "n_epochs": 1},
                   logging={"checkpoint_every": 64})
    cfg.env.kwargs = {"episode_length": 32}
    original = callbacks.Metrics._on_step

    def sigint_at_100(self):
        if self.model.num_timesteps == 100:
            os.kill(os.getpid(), signal.SIGINT)
        return original(self)

    monkeypatch.setattr(callbacks.Metrics, "_on_step", sigint_at_100)
    run_dir = tmp_path / "run"
    stopped = train(cfg, run_dir)
    # the unfinished rollout (97-100) is never trained on: the checkpoint is of step 96
    assert stopped["status"] == "interrupted" and stopped["num_timesteps"] == 96
    assert json.loads((run_dir / "results.json").read_text())["status"] == "interrupted"
    before = _progress_rows(run_dir)
    assert [r["time/total_timesteps"] for r in before] == ["32", "64", "96"]
    monkeypatch.setattr(callbacks.Metrics, "_on_step", original)

    done = resume(run_dir)
    assert done["status"] == "completed" and done["resumed_from"] == [96]
    assert done["num_timesteps"] == 256 and done["step_granularity"] == 32  # whole rollouts
    assert done["train"]["episodes"] == 8  # 3 before the interruption + 5 after
    assert done["wall_seconds"] > stopped["wall_seconds"]
    after = _progress_rows(run_dir)
    assert [{k: r[k] for k in before[0]} for r in after[:3]] == before
    steps = [float(r["time/total_timesteps"]) for r in after]
    assert steps == sorted(steps) and steps[-1] == 256


def test_resume_extends_a_finished_run_with_a_new_total(make_cfg, tmp_path):
    cfg = make_cfg("PPO", total_steps=64, hyperparameters={"n_steps": 64, "batch_size": 64})
    run_dir = tmp_path / "run"
    train(cfg, run_dir)
    with pytest.raises(ConfigError, match="total_steps: 32 is below the 64 steps"):
        resume(run_dir, total_steps=32)
    more = resume(run_dir, total_steps=128)
    assert more["num_timesteps"] == 128 and more["resumed_from"] == [64]
    assert load_run_config(run_dir / "config.yaml").total_steps == 128
    assert resume(run_dir, total_steps=128) == more  # finished again: kept as it is
