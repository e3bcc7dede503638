"""Batched relabelling writes the reward model's output for the stored frames into SB3 buffers,
before any gradient step reads them, with no divisibility constraints."""

from __future__ import annotations

import numpy as np
import pytest
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.vec_env import VecEnvWrapper

from conftest import CARTPOLE, PENDULUM
from vlm_reward.factory import build_reward_model
from vlm_reward.frame_buffer import FRAME_KEY
from vlm_reward.training.env_factory import make_vec_env
from vlm_reward.training.relabel import BatchedRelabel
from vlm_reward.training.stats import RunStats, StopFlag


class RecordFrames(VecEnvWrapper):
    """Keeps every frame the envs return: ``frames[t]`` is ``(n_envs, H, W, 3)``."""

    def __init__(self, venv):
        super().__init__(venv)
        self.frames: list[np.ndarray] = []

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        np.testing.assert_array_equal(rewards, 0.0)  # deferred: placeholder only
        self.frames.append(np.stack([info[FRAME_KEY] for info in infos]))
        return obs, rewards, dones, infos


def _setup(cfg, algo_cls, **hp):
    reward_model = build_reward_model(cfg.reward)
    env = RecordFrames(make_vec_env(cfg, reward_model))
    model = algo_cls("MlpPolicy", env, seed=cfg.seed, device="cpu", **hp)
    relabel = BatchedRelabel(reward_model, RunStats(), StopFlag(), cfg.relabel_max_pending)
    return reward_model, env, model, relabel


def _expected(reward_model, frames: list[np.ndarray]) -> np.ndarray:
    stacked = np.stack(frames)  # (T, n_envs, H, W, 3)
    t, n = stacked.shape[:2]
    return reward_model.rewards(stacked.reshape(t * n, *stacked.shape[2:])).reshape(t, n)


@pytest.mark.parametrize(("n_envs", "max_pending"), [(1, 4096), (3, 50)])
def test_dqn_replay_buffer_holds_reward_model_output(make_cfg, n_envs, max_pending):
    from stable_baselines3 import DQN

    cfg = make_cfg("DQN", n_envs=n_envs, relabel_max_pending=max_pending)
    # train_freq 7, gradient steps 3, batch 17: nothing divides anything
    reward_model, env, model, relabel = _setup(
        cfg, DQN, learning_starts=40, train_freq=7, gradient_steps=3, batch_size=17,
    )
    checked = []
    original_train = model.train

    def train_checking_buffer(*args, **kwargs):
        pos = model.replay_buffer.pos
        expected = _expected(reward_model, env.frames[:pos])
        np.testing.assert_allclose(model.replay_buffer.rewards[:pos], expected, atol=1e-5)
        checked.append(pos)
        return original_train(*args, **kwargs)

    model.train = train_checking_buffer
    model.learn(total_timesteps=150, callback=CallbackList([relabel]))
    assert checked, "train() was never called"
    pos = model.replay_buffer.pos
    np.testing.assert_allclose(
        model.replay_buffer.rewards[:pos], _expected(reward_model, env.frames[:pos]), atol=1e-5
    )
    assert relabel.relabelled == pos * n_envs
    # batches are large: before learning starts nothing is embedded at each rollout end
    assert relabel.flushes < pos / 7
    env.close()


def test_sac_continuous_env(make_cfg):
    from stable_baselines3 import SAC

    cfg = make_cfg("SAC", env=PENDULUM, n_envs=2)
    reward_model, env, model, relabel = _setup(
        cfg, SAC, learning_starts=30, train_freq=5, gradient_steps=1, batch_size=16,
        policy_kwargs={"net_arch": [16]},
    )
    model.learn(total_timesteps=120, callback=CallbackList([relabel]))
    pos = model.replay_buffer.pos
    np.testing.assert_allclose(
        model.replay_buffer.rewards[:pos], _expected(reward_model, env.frames[:pos]), atol=1e-5
    )
    env.close()


def test_ppo_rollout_buffer_relabelled_before_advantages(make_cfg):
    from stable_baselines3 import PPO

    cfg = make_cfg("PPO", n_envs=2, relabel_max_pending=30)
    reward_model, env, model, relabel = _setup(cfg, PPO, n_steps=37, batch_size=20, n_epochs=1)
    buffer = model.rollout_buffer
    seen = []
    original = buffer.compute_returns_and_advantage.__func__  # the class method, unhooked

    def checking_compute(self, *args, **kwargs):
        expected = _expected(reward_model, env.frames[-buffer.buffer_size:])
        # no episode is truncated in 37 steps of CartPole, so no value bootstrap is added
        np.testing.assert_allclose(self.rewards, expected, atol=1e-5)
        seen.append(True)
        return original(self, *args, **kwargs)

    buffer.compute_returns_and_advantage = checking_compute.__get__(buffer)
    model.learn(total_timesteps=150, callback=CallbackList([relabel]))
    assert len(seen) == 3  # ceil(150 / (37 x 2)) rollouts
    env.close()


def test_stop_flag_skips_unstored_step(make_cfg):
    from stable_baselines3 import DQN

    cfg = make_cfg("DQN", env=CARTPOLE)
    reward_model, env, model, relabel = _setup(cfg, DQN, learning_starts=1000)
    stop = relabel.stop

    original = relabel._on_step

    def on_step():
        if model.num_timesteps == 25:
            stop.requested = True
        return original()

    relabel._on_step = on_step
    model.learn(total_timesteps=100, callback=CallbackList([relabel]))
    assert model.replay_buffer.pos == 24  # step 25 was not stored
    # its frame was not recorded; the 24 stored ones were flushed at training end
    assert relabel.n_pending == 0 and relabel.relabelled == 24
    np.testing.assert_allclose(
        model.replay_buffer.rewards[:24], _expected(reward_model, env.frames[:24]), atol=1e-5
    )
    env.close()
