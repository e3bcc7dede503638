"""Relabelling with every reward family: each filled buffer slot equals the family's reward
of that step computed afterwards, stream by stream, from the recorded frames and episode flags,
including after the replay buffer wraps around and for PPO's rollouts."""

from __future__ import annotations

import numpy as np
import pytest
from small_envs import CARTPOLE
from stable_baselines3 import DQN, PPO
from stable_baselines3.common.callbacks import CallbackList
from test_relabel import ProbeReplayBuffer, _replay_expected, _setup

from vlm_reward.factory import build_reward_model
from vlm_reward.reward import Steps

FAMILIES = {
    "negatives": {"kind": "negatives", "negatives": ["a pole lying down", "a pole hanging"],
                  "baseline": None, "subtract_chance": True},
    "window": {"kind": "window", "window": 3},
    "episode": {"kind": "episode", "episode_stride": 2},
    "shaping+env": {"shaping": True, "env_weight": 1.0, "vlm_weight": 0.5},
}


def _family_cfg(make_cfg, algorithm, family, **overrides):
    cfg = make_cfg(algorithm, n_envs=2, env=CARTPOLE, **overrides)
    data = cfg.model_dump()
    data["reward"].update(FAMILIES[family])
    from vlm_reward.config import validate_run_config

    return validate_run_config(data)


def _expected(cfg, env) -> np.ndarray:
    """``(T, n_envs)`` rewards from a fresh reward model fed the whole recording at once."""
    fresh = build_reward_model(cfg.reward, cfg.env)
    frames = np.stack(env.frames)  # (T, n, H, W, 3)
    t, n = frames.shape[:2]
    dones = np.stack(env.dones).astype(bool)
    starts = np.vstack([np.ones((1, n), bool), dones[:-1]])
    truncated = np.array([[bool(i.get("TimeLimit.truncated", False)) for i in row]
                          for row in env.infos])
    env_rewards = np.array([[i["env_reward"] for i in row] for row in env.infos])
    streams = np.tile(np.arange(n), (t, 1))
    steps = Steps(streams.ravel(), starts.ravel(), dones.ravel(), (dones & ~truncated).ravel(),
                  env_rewards.ravel())
    flat = frames.reshape(t * n, *frames.shape[2:])
    return fresh.step_rewards(flat, steps).reshape(t, n)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_replay_buffer_holds_each_familys_reward_after_wrapping(make_cfg, family):
    cfg = _family_cfg(make_cfg, "DQN", family)
    _, env, model, relabel, callbacks = _setup(
        cfg, DQN, ProbeReplayBuffer, learning_starts=30, train_freq=7, gradient_steps=1,
        batch_size=16, buffer_size=90, target_update_interval=50,
    )
    model.learn(total_timesteps=200, callback=CallbackList(callbacks))
    relabel.flush()
    steps, rows = len(env.frames), model.replay_buffer.buffer_size
    assert rows < steps and np.stack(env.dones).any()  # wrapped, and episodes ended
    expected = _replay_expected(_expected(cfg, env), steps, rows)
    np.testing.assert_allclose(model.replay_buffer.rewards, expected, atol=1e-5)
    env.close()


@pytest.mark.parametrize("family", ["window", "episode"])
def test_rollout_buffer_holds_each_familys_reward(make_cfg, family):
    cfg = _family_cfg(make_cfg, "PPO", family, relabel_max_pending=25)  # early flushes too
    n_steps = 40
    _, env, model, _, callbacks = _setup(cfg, PPO, n_steps=n_steps, batch_size=20,
                                         n_epochs=1)
    model.learn(total_timesteps=2 * n_steps * 2, callback=CallbackList(callbacks))
    expected = _expected(cfg, env)[-n_steps:]
    # CartPole here never truncates, so no timeout bootstrap is added to the stored rewards
    np.testing.assert_allclose(model.rollout_buffer.rewards, expected, atol=1e-5)
    env.close()
