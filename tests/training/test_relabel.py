"""Relabelling buffers: every stored reward is the reward model's output for that transition's
frame, written before any sample or advantage reads it, for SAC, DQN and PPO with 2 envs,
replay buffers that wrap around, dict observations, early flushes and pickling."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from small_envs import CARTPOLE, PENDULUM
from stable_baselines3 import DQN, PPO, SAC
from stable_baselines3.common.buffers import ReplayBuffer, RolloutBuffer
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnvWrapper

from vlm_reward.factory import build_reward_model
from vlm_reward.frame_buffer import FRAME_KEY
from vlm_reward.training.callbacks import StopOnFlag
from vlm_reward.training.env_factory import make_env, make_vec_env
from vlm_reward.training.relabel import (
    RelabelDictReplayBuffer,
    Relabelling,
    RelabelReplayBuffer,
    RelabelReplayMixin,
    RelabelRolloutBuffer,
    buffer_arguments,
)
from vlm_reward.training.stats import RunStats, StopFlag

PLACEHOLDER = 0.0  # what VLMReward(mode="deferred") returns


class RecordFrames(VecEnvWrapper):
    """Keeps what the envs return at each step: frames ``(n_envs, H, W, 3)``, dones, infos."""

    def __init__(self, venv):
        super().__init__(venv)
        self.frames: list[np.ndarray] = []
        self.dones: list[np.ndarray] = []
        self.infos: list[list[dict[str, Any]]] = []

    def reset(self):
        return self.venv.reset()

    def step_wait(self):
        obs, rewards, dones, infos = self.venv.step_wait()
        np.testing.assert_array_equal(rewards, PLACEHOLDER)  # deferred: placeholder only
        self.frames.append(np.stack([info[FRAME_KEY] for info in infos]))
        self.dones.append(dones.copy())
        self.infos.append(infos)
        return obs, rewards, dones, infos


class ProbeReplayBuffer(RelabelReplayBuffer):
    """Calls ``hook(buffer, samples)`` with what a gradient step is about to receive."""

    hook: Callable[[Any, Any], None] | None = None

    def sample(self, *args, **kwargs):
        samples = super().sample(*args, **kwargs)
        if self.hook is not None:
            self.hook(self, samples)
        return samples


class ProbeRolloutBuffer(RelabelRolloutBuffer):
    """Calls ``hook(buffer, last_values, dones)`` once advantages are computed."""

    hook: Callable[[Any, Any, Any], None] | None = None

    def compute_returns_and_advantage(self, last_values, dones):
        super().compute_returns_and_advantage(last_values, dones)
        if self.hook is not None:
            self.hook(self, last_values, dones)


class EvictionLog(ReplayBuffer):
    """Records the reward a slot holds at the moment ``add`` overwrites it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.evicted: list[np.ndarray] = []

    def add(self, *args, **kwargs):
        if self.full:
            self.evicted.append(self.rewards[self.pos].copy())
        super().add(*args, **kwargs)


class RelabelEvictionLog(RelabelReplayMixin, EvictionLog):
    pass


def _setup(cfg, algo_cls, buffer_class=None, env=None, embed_ahead=False, **hp):
    reward_model = build_reward_model(cfg.reward)
    if embed_ahead:
        reward_model.embedder.batch_size = 8  # small chunks: many go to the worker
        reward_model.embed_threads = []  # which thread embedded each batch
        embed = reward_model.embed

        def recording_embed(frames):
            reward_model.embed_threads.append(threading.current_thread().name)
            return embed(frames)

        reward_model.embed = recording_embed
    env = RecordFrames(env if env is not None else make_vec_env(cfg, reward_model))
    args = buffer_arguments(algo_cls, env.observation_space, hp, cfg.relabel_max_pending)
    if buffer_class is not None:
        args[next(k for k in args if k.endswith("_class"))] = buffer_class
    policy = "MultiInputPolicy" if isinstance(env.observation_space, spaces.Dict) else "MlpPolicy"
    model = algo_cls(policy, env, seed=cfg.seed, device="cpu", **hp, **args)
    relabel = Relabelling(reward_model, RunStats(), PLACEHOLDER, embed_ahead=embed_ahead)
    callbacks = relabel.attach(model)
    return reward_model, env, model, relabel, callbacks


def _all_rewards(reward_model, frames: list[np.ndarray]) -> np.ndarray:
    """``(T, n_envs)`` rewards of the recorded frames, in one call independent of the buffer."""
    stacked = np.stack(frames)
    t, n = stacked.shape[:2]
    out = reward_model.rewards(stacked.reshape(t * n, *stacked.shape[2:])).reshape(t, n)
    # a placeholder left anywhere, or a reward in the wrong slot, is detectable
    assert np.all(out != PLACEHOLDER) and np.unique(out).size > out.size // 4
    return out


def _replay_expected(all_rewards: np.ndarray, steps: int, rows: int) -> np.ndarray:
    """What each row of a replay buffer of ``rows`` rows holds after ``steps`` stored steps."""
    expected = np.full((rows, all_rewards.shape[1]), np.nan)
    for t in range(steps):
        expected[t % rows] = all_rewards[t]  # later steps overwrite earlier ones
    return expected[: min(steps, rows)]


def _check_episode_returns(relabel, env, all_rewards):
    """Per-env VLM episode returns reported for ``reward/vlm`` equal the frames' sums."""
    returns, running = [], np.zeros(all_rewards.shape[1])
    for rewards, dones in zip(all_rewards, env.dones, strict=True):
        running += rewards
        for i in np.flatnonzero(dones):
            returns.append(running[i])
            running[i] = 0.0
    assert returns, "no episode ended"
    np.testing.assert_allclose(list(relabel.stats.vlm_returns), returns[-100:], atol=1e-4)


@pytest.mark.parametrize(
    ("algo_cls", "env_id", "hp"),
    [
        (DQN, CARTPOLE, {"learning_starts": 30, "train_freq": 7, "gradient_steps": 3,
                         "batch_size": 17, "buffer_size": 90, "target_update_interval": 50}),
        (SAC, PENDULUM, {"learning_starts": 30, "train_freq": 5, "gradient_steps": 1,
                         "batch_size": 16, "buffer_size": 70,
                         "policy_kwargs": {"net_arch": [16]}}),
    ],
    ids=["DQN", "SAC"],
)
def test_replay_buffer_slots_hold_reward_model_output(make_cfg, algo_cls, env_id, hp):
    """Every filled slot, at every sample() and at the end, across wrap-arounds (2 envs)."""
    cfg = make_cfg(algo_cls.__name__, env=env_id, n_envs=2)
    reward_model, env, model, relabel, callbacks = _setup(cfg, algo_cls, ProbeReplayBuffer, **hp)
    assert callbacks == []  # the replay buffer takes its frames from add()'s infos
    snapshots = []

    def at_sample(buffer, samples):
        # what the gradient step receives holds no placeholder
        assert np.all(samples.rewards.numpy() != PLACEHOLDER)
        snapshots.append((len(env.frames), buffer.rewards.copy()))

    model.replay_buffer.hook = at_sample
    model.learn(total_timesteps=240, callback=CallbackList(callbacks))
    relabel.flush()
    steps = len(env.frames)  # 120 and up to train_freq more
    rows = model.replay_buffer.buffer_size
    assert rows < steps  # the buffer wrapped around
    all_rewards = _all_rewards(reward_model, env.frames)
    assert snapshots, "sample() was never called"
    for stored, rewards in snapshots:
        expected = _replay_expected(all_rewards, stored, rows)
        np.testing.assert_allclose(rewards[: len(expected)], expected, atol=1e-6)
    np.testing.assert_allclose(
        model.replay_buffer.rewards, _replay_expected(all_rewards, steps, rows), atol=1e-6
    )
    assert relabel.relabelled == steps * 2
    _check_episode_returns(relabel, env, all_rewards)
    env.close()


@pytest.mark.parametrize("embed_ahead", [False, True], ids=["inline", "embed_ahead"])
def test_wrapping_replay_buffer_never_overwrites_a_waiting_frame(make_cfg, embed_ahead):
    """No sample() runs (learning never starts), so only the wrap-around forces flushes; an
    evicted transition carried its real reward, and the new one gets its own."""
    cfg = make_cfg("DQN", n_envs=2, relabel_max_pending=10_000)
    reward_model, env, model, relabel, _ = _setup(
        cfg, DQN, RelabelEvictionLog, learning_starts=10_000, buffer_size=30, train_freq=1,
        embed_ahead=embed_ahead,
    )
    steps = 50
    model.learn(total_timesteps=steps * 2)
    assert len(env.frames) == steps
    rows = model.replay_buffer.buffer_size  # 15 rows of 2 envs
    assert model.replay_buffer.n_pending > 0  # the last rows still wait
    relabel.flush()
    all_rewards = _all_rewards(reward_model, env.frames)
    evicted = np.stack(model.replay_buffer.evicted)
    assert len(evicted) == steps - rows
    np.testing.assert_allclose(evicted, all_rewards[: steps - rows], atol=1e-6)
    np.testing.assert_allclose(
        model.replay_buffer.rewards, _replay_expected(all_rewards, steps, rows), atol=1e-6
    )
    assert relabel.flushes == (steps - 1) // rows + 1  # one per wrap, one at the end
    if embed_ahead:
        assert relabel.ahead is not None and relabel.ahead.submitted == 0
        assert reward_model.embed_threads.count("vlm-embed_0") >= steps * 2 // 8 - 4
        relabel.close()
    env.close()


@pytest.mark.parametrize("embed_ahead", [False, True], ids=["inline", "embed_ahead"])
def test_ppo_advantages_computed_from_relabelled_rewards(make_cfg, embed_ahead):
    """PPO, 2 envs, early flushes mid-rollout: each rollout's rewards are the frames' VLM
    rewards plus SB3's timeout bootstrap, and the advantages are SB3's GAE of exactly those."""
    cfg = make_cfg("PPO", env=PENDULUM, n_envs=2, relabel_max_pending=30)
    n_steps = 37
    reward_model, env, model, relabel, callbacks = _setup(
        cfg, PPO, ProbeRolloutBuffer, n_steps=n_steps, batch_size=24, n_epochs=1,
        policy_kwargs={"net_arch": [16]}, embed_ahead=embed_ahead,
    )
    assert callbacks  # RolloutBuffer.add gets no infos: the feed callback delivers frames
    checked, bootstraps = [], []

    def at_advantages(buffer, last_values, dones):
        first = len(env.frames) - n_steps
        expected = _all_rewards(reward_model, env.frames[first:]).astype(np.float64)
        for t, infos in enumerate(env.infos[first:]):
            for i, info in enumerate(infos):
                if info.get("TimeLimit.truncated") and "terminal_observation" in info:
                    obs = model.policy.obs_to_tensor(info["terminal_observation"])[0]
                    value = model.policy.predict_values(obs)[0].item()
                    expected[t, i] += model.gamma * value
                    bootstraps.append((t, i))
        np.testing.assert_allclose(buffer.rewards, expected, atol=1e-4)
        advantages = buffer.advantages.copy()
        RolloutBuffer.compute_returns_and_advantage(buffer, last_values, dones)  # SB3's GAE
        np.testing.assert_allclose(advantages, buffer.advantages, atol=1e-6)
        checked.append(first)

    model.rollout_buffer.hook = at_advantages
    model.learn(total_timesteps=3 * n_steps * 2, callback=CallbackList(callbacks))
    assert checked == [0, n_steps, 2 * n_steps]
    assert bootstraps, "no episode was truncated (Pendulum ends at 50 steps)"
    assert relabel.relabelled == 3 * n_steps * 2
    assert relabel.flushes > 3  # max_pending 30 < 74 frames per rollout: early flushes
    if embed_ahead:  # 30-frame flushes in chunks of 8: three chunks each went to the worker
        assert reward_model.embed_threads.count("vlm-embed_0") >= 3 * 74 // 30 * 3
        relabel.close()
    _check_episode_returns(relabel, env, _all_rewards(reward_model, env.frames))
    env.close()


class DictObs(gym.ObservationWrapper):
    def __init__(self, env):
        super().__init__(env)
        self.observation_space = spaces.Dict({"state": env.observation_space})

    def observation(self, observation):
        return {"state": observation}


@pytest.mark.parametrize("algo_cls", [DQN, PPO], ids=["DQN", "PPO"])
def test_dict_observation_buffers(make_cfg, algo_cls):
    cfg = make_cfg(algo_cls.__name__, n_envs=2)
    venv = DummyVecEnv([lambda: DictObs(make_env(cfg, None, "deferred"))] * 2)
    hp = ({"learning_starts": 20, "buffer_size": 200} if algo_cls is DQN
          else {"n_steps": 32, "batch_size": 32, "n_epochs": 1})
    reward_model, env, model, relabel, callbacks = _setup(cfg, algo_cls, env=venv, **hp)
    model.learn(total_timesteps=128, callback=CallbackList(callbacks))
    relabel.flush()
    all_rewards = _all_rewards(reward_model, env.frames)
    if algo_cls is DQN:
        assert isinstance(model.replay_buffer, RelabelDictReplayBuffer)
        np.testing.assert_allclose(model.replay_buffer.rewards[:64], all_rewards, atol=1e-6)
    else:
        # no CartPole episode is truncated this early: the rewards are the frames' own
        np.testing.assert_allclose(model.rollout_buffer.rewards, all_rewards[-32:], atol=1e-6)
    env.close()


def test_max_pending_flushes_early(make_cfg):
    cfg = make_cfg("DQN", n_envs=2, relabel_max_pending=5)
    reward_model, env, model, relabel, _ = _setup(cfg, DQN, learning_starts=10_000,
                                                  buffer_size=1000, train_freq=1)
    model.learn(total_timesteps=60)  # 30 steps of 2 frames; 5 pending -> flush every 3 steps
    assert model.replay_buffer.n_pending == 0 and relabel.flushes == 10
    np.testing.assert_allclose(model.replay_buffer.rewards[:30],
                               _all_rewards(reward_model, env.frames), atol=1e-6)
    env.close()


def test_saved_buffer_holds_real_rewards_and_no_reward_model(make_cfg, tmp_path):
    cfg = make_cfg("DQN", n_envs=2)
    reward_model, env, model, relabel, _ = _setup(cfg, DQN, learning_starts=10_000,
                                                  buffer_size=200, train_freq=1)
    model.learn(total_timesteps=40)
    assert model.replay_buffer.n_pending == 40  # nothing sampled yet
    path = tmp_path / "replay_buffer.pkl"
    model.save_replay_buffer(path)  # pickling flushes first
    assert model.replay_buffer.n_pending == 0 and relabel.relabelled == 40
    data = path.read_bytes()
    assert b"RewardModel" not in data and b"Relabelling" not in data
    loaded = pickle.loads(data)
    assert isinstance(loaded, RelabelReplayBuffer) and loaded.relabelling is None
    np.testing.assert_allclose(loaded.rewards[:20], _all_rewards(reward_model, env.frames),
                               atol=1e-6)
    # resume: the loaded buffer needs the reward model again before it can take frames
    model.load_replay_buffer(path)
    with pytest.raises(RuntimeError, match="no reward model attached"):
        model.learn(total_timesteps=2, reset_num_timesteps=False)
    model.load_replay_buffer(path)
    relabel.attach(model)
    model.learn(total_timesteps=10, reset_num_timesteps=False)
    relabel.flush()
    np.testing.assert_allclose(model.replay_buffer.rewards[:25],
                               _all_rewards(reward_model, env.frames[:20] + env.frames[-5:]),
                               atol=1e-6)
    env.close()


def test_stopped_step_is_not_relabelled(make_cfg):
    """A step a callback stops is never stored; its frame is never embedded."""
    cfg = make_cfg("PPO", n_envs=2)
    reward_model, env, model, relabel, callbacks = _setup(cfg, PPO, n_steps=64, batch_size=64)
    stop = StopFlag()
    original = StopOnFlag._on_step

    class StopAt25(StopOnFlag):
        def _on_step(self):
            if self.model.num_timesteps == 50:
                stop.requested = True
            return original(self)

    model.learn(total_timesteps=400, callback=CallbackList([StopAt25(stop), *callbacks]))
    assert model.rollout_buffer.pos == 24  # step 25 was not stored
    assert relabel.flush() == 48 and relabel.relabelled == 48
    np.testing.assert_allclose(model.rollout_buffer.rewards[:24],
                               _all_rewards(reward_model, env.frames[:24]), atol=1e-6)
    env.close()


def test_buffer_arguments_refuse_a_user_buffer_class(make_cfg):
    from vlm_reward.errors import ConfigError

    space = spaces.Box(-1, 1, (3,))
    with pytest.raises(ConfigError, match="reward_mode per_step"):
        buffer_arguments(SAC, space, {"replay_buffer_class": ReplayBuffer}, 10)
    args = buffer_arguments(DQN, space, {"n_steps": 3, "replay_buffer_kwargs": {
        "handle_timeout_termination": False}}, 10)
    assert args["replay_buffer_kwargs"] == {"handle_timeout_termination": False,
                                            "max_pending": 10, "n_steps": 3, "gamma": 0.99}


def test_attach_refuses_a_plain_buffer(make_cfg):
    """E.g. a replay buffer saved by a per-step run, resumed in batched mode."""
    from vlm_reward.errors import CheckpointError

    cfg = make_cfg("DQN")
    reward_model = build_reward_model(cfg.reward)
    env = make_vec_env(cfg, reward_model)
    model = DQN("MlpPolicy", env, buffer_size=100, device="cpu")
    with pytest.raises(CheckpointError, match="reward_mode"):
        Relabelling(reward_model).attach(model)
    env.close()
