"""Collecting datasets from policies and state sweeps, including a foreign env."""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

import gymnasium as gym
import numpy as np
import pytest

from vlm_reward.errors import ConfigError, EnvError
from vlm_reward.evaluation.collect import collect_dataset, sweep_dataset
from vlm_reward.evaluation.envstate import (
    get_state,
    set_state,
    state_names,
    success_of_state,
)
from vlm_reward.rendering_env import make_rendering_env as make_env

SIZE = {"width": 48, "height": 32}


class DotEnv(gym.Env):
    """A foreign env: its state lives in `state`, render draws a dot at that x position."""

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(-1, 1, (1,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.state: np.ndarray | None = None

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.state = np.zeros(1)
        return self.state.astype(np.float32), {}

    def step(self, action):
        self.state = np.clip(self.state + (0.1 if action else -0.1), -1, 1)
        return self.state.astype(np.float32), float(self.state[0]), False, False, {}

    def render(self):
        img = np.zeros((8, 21, 3), np.uint8)
        img[:, round((self.state[0] + 1) * 10)] = 255
        return img


gym.register("EvalTestDot-v0", entry_point=DotEnv)


def test_collect_cartpole_mixes_policies(tmp_path: Path) -> None:
    ds = collect_dataset(tmp_path / "cp", "CartPole-v1", policies=("random", "scripted"),
                         episodes=2, max_steps=30, seed=1, **SIZE)
    assert ds.frames.shape[1:] == (32, 48, 3)
    assert ds.meta["policy"] == "random+scripted"
    assert ds.state_names == ("x", "x_dot", "theta", "theta_dot")
    # The scripted controller balances the pole for all 30 steps; random play falls earlier.
    scripted = ds.episode == 1
    assert scripted.sum() == 30 and (~scripted).sum() < 30
    assert np.isfinite(ds.success).all()  # from CartPole's own 12 degree rule
    np.testing.assert_array_equal(ds.success[scripted], 1.0)
    assert ds.success[~scripted][-1] == 0.0  # the random episode ends with the pole down
    np.testing.assert_array_equal(ds.env_reward, 1.0)


def test_collect_mountaincar_scripted_reaches_the_flag(tmp_path: Path) -> None:
    ds = collect_dataset(tmp_path / "mc", "MountainCarContinuous-v0", policies=("scripted",),
                         episodes=1, max_steps=400, **SIZE)
    assert ds.states["position"].max() >= 0.45
    assert ds.success[-1] == 1.0 and ds.success[0] == 0.0
    assert ds.env_reward[-1] > 90  # the goal bonus of MountainCarContinuous


def test_cartpole_sweep_renders_each_angle(tmp_path: Path) -> None:
    ds = sweep_dataset(tmp_path / "sw", "CartPole-v1", "theta", n=9, fix={"x": 0.0}, **SIZE)
    np.testing.assert_allclose(ds.states["theta"], np.linspace(-math.pi, math.pi, 9))
    np.testing.assert_array_equal(ds.states["x"], 0.0)
    frames = np.asarray(ds.frames).astype(int)
    assert all(np.abs(frames[i] - frames[4]).sum() > 0 for i in (0, 2, 6))  # pole moves
    np.testing.assert_array_equal(ds.success, [0, 0, 0, 0, 1, 0, 0, 0, 0])  # only upright
    np.testing.assert_array_equal(frames[0], frames[8])  # -pi and pi are the same picture
    assert ds.meta["sweep"]["variable"] == "theta"


def test_mountaincar_sweep_covers_the_track(tmp_path: Path) -> None:
    ds = sweep_dataset(tmp_path / "sw", "MountainCarContinuous-v0", "position", n=7, **SIZE)
    np.testing.assert_allclose(ds.states["position"][[0, -1]], [-1.2, 0.6])
    assert ds.success[-1] == 1.0 and ds.success[:5].sum() == 0
    assert np.isnan(ds.env_reward).all()


def test_foreign_env_with_state_attribute(tmp_path: Path) -> None:
    ds = sweep_dataset(tmp_path / "dot", "EvalTestDot-v0", "s0", n=3, low=-1.0, high=1.0)
    frames = np.asarray(ds.frames)
    assert [int(np.argmax(f[0, :, 0])) for f in frames] == [0, 10, 20]
    assert np.isnan(ds.success).all()  # no known success rule
    ds = collect_dataset(tmp_path / "roll", "EvalTestDot-v0", episodes=1, max_steps=5)
    assert len(ds) == 5 and ds.state_names == ("s0",)


def test_sweep_errors_name_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="choose from x, x_dot, theta, theta_dot"):
        sweep_dataset(tmp_path / "a", "CartPole-v1", "angle", n=3)
    with pytest.raises(ConfigError, match="give --low and --high"):
        sweep_dataset(tmp_path / "b", "CartPole-v1", "theta_dot", n=3)
    with pytest.raises(ConfigError, match="not a state variable"):
        sweep_dataset(tmp_path / "c", "CartPole-v1", "theta", n=3, fix={"y": 1.0})
    with pytest.raises(EnvError, match="scripted"):
        collect_dataset(tmp_path / "d", "EvalTestDot-v0", policies=("scripted",))
    with pytest.raises(ConfigError, match="unknown 'greedy'"):
        collect_dataset(tmp_path / "e", "CartPole-v1", policies=("greedy",))
    with pytest.raises(EnvError, match="unknown environment id 'NoSuchEnv-v9'"):
        collect_dataset(tmp_path / "f", "NoSuchEnv-v9")
    with pytest.raises(ConfigError, match="--fix: x: expected a number, got 'left'"):
        sweep_dataset(tmp_path / "g", "CartPole-v1", "theta", n=3, fix={"x": "left"})
    assert not any(p.name in "abcdefg" for p in tmp_path.iterdir())


def test_set_state_prefers_the_contract_method() -> None:
    env = make_env("CartPole-v1")
    env.reset(seed=0)
    calls = []
    env.unwrapped.set_state = lambda s: calls.append(np.asarray(s))
    env.unwrapped.state_names = ("a", "b", "c", "d")
    set_state(env, np.ones(4))
    assert len(calls) == 1 and state_names(env) == ("a", "b", "c", "d")
    env.close()


def test_success_rule_wraps_angles() -> None:
    env = make_env("CartPole-v1")
    assert success_of_state(env, np.array([0, 0, 2 * math.pi, 0]))
    assert not success_of_state(env, np.array([0, 0, 0.5, 0]))
    assert not success_of_state(env, np.array([3.0, 0, 0.0, 0]))  # cart off the track
    env.close()


def test_collect_with_a_trained_sb3_checkpoint(tmp_path: Path) -> None:
    from stable_baselines3 import PPO

    from vlm_reward.evaluation.policies import sb3_algorithm

    model = PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=32, n_epochs=1, seed=0,
                device="cpu")
    model.learn(32)
    model.save(tmp_path / "ppo.zip")
    assert sb3_algorithm(tmp_path / "ppo.zip") == "PPO"
    ds = collect_dataset(tmp_path / "ds", "CartPole-v1", policies=(str(tmp_path / "ppo.zip"),),
                         episodes=1, max_steps=10, **SIZE)
    assert ds.meta["policy"].endswith("ppo.zip") and 0 < len(ds) <= 10
    with pytest.raises(ConfigError, match="does not exist"):
        collect_dataset(tmp_path / "x", "CartPole-v1", policies=("sb3:missing.zip",))
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    from vlm_reward.errors import CheckpointError

    with pytest.raises(CheckpointError, match="not a Stable-Baselines3 checkpoint"):
        collect_dataset(tmp_path / "y", "CartPole-v1", policies=(str(tmp_path / "bad.zip"),))


def test_sb3_algorithm_detection(tmp_path: Path) -> None:
    from stable_baselines3 import A2C, DQN, SAC

    from vlm_reward.evaluation.policies import make_policy, sb3_algorithm

    for algo, env_id in ((A2C, "CartPole-v1"), (DQN, "CartPole-v1"),
                         (SAC, "MountainCarContinuous-v0")):
        path = tmp_path / f"{algo.__name__}.zip"
        algo("MlpPolicy", env_id, device="cpu").save(path)
        assert sb3_algorithm(path) == algo.__name__
    env = make_env("CartPole-v1")
    act = make_policy(f"sb3:a2c:{tmp_path / 'A2C.zip'}", env)
    obs, _ = env.reset(seed=0)
    assert env.action_space.contains(int(act(obs)))
    env.close()


def test_mujoco_env_state_is_qpos_then_qvel(tmp_path: Path) -> None:
    pytest.importorskip("mujoco")
    ds = sweep_dataset(tmp_path / "ip", "InvertedPendulum-v5", "qpos1", n=3, low=-0.5,
                       high=0.5, env_kwargs={"width": 32, "height": 32})
    assert ds.state_names == ("qpos0", "qpos1", "qvel0", "qvel1")
    np.testing.assert_allclose(ds.states["qpos1"], [-0.5, 0.0, 0.5])
    frames = np.asarray(ds.frames).astype(int)
    assert np.abs(frames[0] - frames[2]).sum() > 0
    env = make_env("InvertedPendulum-v5")
    env.reset(seed=0)
    set_state(env, np.array([0.1, 0.2, 0.3, 0.4]))
    np.testing.assert_allclose(get_state(env), [0.1, 0.2, 0.3, 0.4])
    env.close()


def test_collect_from_a_training_run_folder(tmp_path: Path) -> None:
    from stable_baselines3 import PPO

    from vlm_reward.training.checkpoints import save_checkpoint

    model = PPO("MlpPolicy", "CartPole-v1", n_steps=32, batch_size=32, device="cpu")
    save_checkpoint(model, tmp_path / "run")
    ds = collect_dataset(tmp_path / "ds", "CartPole-v1", policies=(str(tmp_path / "run"),),
                         episodes=1, max_steps=5, **SIZE)
    assert 0 < len(ds) <= 5


@pytest.mark.parametrize(("env_id", "variable", "low", "high"), [
    ("vlm_reward/CartPole-v0", "theta", -math.pi, math.pi),
    ("vlm_reward/MountainCarContinuous-v0", "position", -1.2, 0.6),
])
def test_sweep_on_vlm_reward_envs(tmp_path: Path, env_id: str, variable: str, low: float,
                                  high: float) -> None:
    pytest.importorskip("vlm_reward.envs")
    ds = sweep_dataset(tmp_path / "sw", env_id, variable, n=9, width=32, height=32)
    assert ds.frames.shape == (9, 32, 32, 3)  # drawn natively at the requested size
    np.testing.assert_allclose(ds.states[variable][[0, -1]], [low, high])
    frames = np.asarray(ds.frames).astype(int)
    assert np.abs(frames[0] - frames[4]).sum() > 0
    ok = ds.success.astype(bool)
    if variable == "theta":
        assert ok.tolist() == [False] * 4 + [True] + [False] * 4  # only upright
    else:
        assert ok[-1] and not ok[:-2].any()  # only at the flag


@pytest.mark.parametrize("env_id", ["vlm_reward/CartPole-v0",
                                    "vlm_reward/MountainCarContinuous-v0"])
def test_scripted_rollouts_on_vlm_reward_envs(tmp_path: Path, env_id: str) -> None:
    pytest.importorskip("vlm_reward.envs")
    ds = collect_dataset(tmp_path / "ds", env_id, policies=("random", "scripted"), episodes=2,
                         max_steps=150, width=32, height=32,
                         env_kwargs={"episode_length": 150})
    assert len(ds) == 300  # these envs never terminate early
    assert np.isfinite(ds.success).all()  # info["success"] on every step
    assert ds.success[ds.episode == 1].mean() > ds.success[ds.episode == 0].mean()
