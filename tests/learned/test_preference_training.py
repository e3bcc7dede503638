"""A preference-learned reward inside a real (tiny) training run: labels asked, model updated,
buffers relabelled, the saved model scoring without the VLM, resume."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vlm_reward.config import validate_run_config
from vlm_reward.learned import load_learned_reward
from vlm_reward.learned.preference import PreferenceReward


def _cfg(steps: int, algorithm: str = "PPO", hyperparameters: dict | None = None,
         **learned: Any):
    return validate_run_config({
        "env": {"id": "vlm_reward/CartPole-v0",
                "kwargs": {"episode_length": 40, "width": 64, "height": 64}},
        "seed": 0,
        "reward": {"model": "demo", "goal": "a pole standing upright on a cart",
                   "device": "cpu", "precision": "fp32", "batch_size": 128,
                   "learned": {"kind": "preference", "frame_size": 16, "ensemble": 2,
                               "hidden": 16, "segment": 2, "warmup_steps": 64,
                               "update_every": 64, "pairs_per_update": 12, "pair_budget": 30,
                               "gradient_steps": 5, "batch_size": 8, "holdout_fraction": 0.25,
                               **learned}},
        "reward_mode": "batched",
        "algorithm": {"name": algorithm, "hyperparameters": hyperparameters or {
            "n_steps": 32, "batch_size": 32, "n_epochs": 1}},
        "n_envs": 2,
        "total_steps": steps,
        "device": "cpu",
        "logging": {"eval_every": 0, "video_every": 0, "checkpoint_every": 64,
                    "eval_episodes": 1, "progress_bar": False},
    })


def test_preference_run_labels_pairs_saves_a_scoring_model_and_resumes(tmp_path: Path) -> None:
    from vlm_reward.training import resume, train

    run = tmp_path / "run"
    results = train(_cfg(192), run_dir=run)
    learned = results["learned"]
    assert learned["kind"] == "preference"
    assert 0 < learned["pair_labels"] <= 30
    assert learned["vlm_queries"] == 2 * 2 * learned["pair_labels"]  # 2 clips of 2 frames
    assert learned["vlm_queries_per_step"] < 1.0
    assert learned["segment_model_updates"] >= 1 and learned["segment_recomputed_rewards"] > 0

    saved = load_learned_reward(run)  # no VLM: scoring only
    assert isinstance(saved, PreferenceReward) and saved.vlm is None
    frames = np.zeros((3, 64, 64, 3), np.uint8)
    assert saved.predict(saved.inputs(frames, None)).shape == (3,)
    assert saved.metrics()["pair_labels"] == learned["pair_labels"]

    resumed = resume(run, total_steps=320)
    assert resumed["num_timesteps"] >= 320
    assert resumed["learned"]["pair_labels"] >= learned["pair_labels"]
    assert resumed["learned"]["pair_labels"] <= 30  # the budget holds across the resume


def test_off_policy_preference_run_pools_clips_across_small_batches(tmp_path: Path) -> None:
    """DQN hands the learned reward 2 steps (one per env) per gradient step: two-step clips
    are completed across calls, pairs are labelled and the replay buffer is relabelled."""
    from vlm_reward.training import train

    cfg = _cfg(256, "DQN", {"learning_starts": 32, "buffer_size": 1000, "train_freq": 1,
                            "target_update_interval": 50})
    learned = train(cfg, run_dir=tmp_path / "run")["learned"]
    assert 0 < learned["pair_labels"] <= 30
    assert learned["segment_model_updates"] >= 1
    assert learned["segment_recomputed_rewards"] > 0
