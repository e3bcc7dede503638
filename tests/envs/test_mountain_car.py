"""Tests of the paper's MountainCarContinuous: goal holding, success, textured rendering."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import vlm_reward.envs  # noqa: F401  (registers the ids)
from vlm_reward.envs import MOUNTAIN_CAR_ID
from vlm_reward.envs.mountain_car import GOAL_POSITION
from vlm_reward.errors import ConfigError


def make(**kwargs):
    kwargs.setdefault("width", 64)
    kwargs.setdefault("height", 48)
    return gym.make(MOUNTAIN_CAR_ID, **kwargs)


def test_spaces_and_state_names() -> None:
    env = make()
    assert env.action_space.shape == (1,)
    assert env.observation_space.shape == (2,)
    assert env.unwrapped.state_names == ("position", "velocity")
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert -0.6 <= obs[0] <= -0.4 and obs[1] == 0.0
    assert info["success"] is False


def test_seeded_rollouts_are_identical() -> None:
    def rollout(seed: int) -> np.ndarray:
        env = make(episode_length=40)
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        out = [obs]
        for _ in range(40):
            out.append(env.step(env.action_space.sample())[0])
        return np.array(out)

    np.testing.assert_array_equal(rollout(1), rollout(1))
    assert not np.array_equal(rollout(1), rollout(2))


def test_fixed_episode_length() -> None:
    env = make(episode_length=25)
    env.reset(seed=0)
    for t in range(1, 26):
        _, _, terminated, truncated, info = env.step(np.array([0.5], dtype=np.float32))
        assert terminated is False and truncated is (t == 25)
        assert info["success"] is False


def test_reaching_the_flag_succeeds_and_holds_the_car() -> None:
    env = make(episode_length=50)
    env.reset(seed=0)
    env.unwrapped.set_state([GOAL_POSITION - 0.01, 0.05])  # one step from the flag
    obs, reward, terminated, _, info = env.step(np.array([1.0]))
    assert info["success"] is True and terminated is False
    assert reward == pytest.approx(100.0 - 0.1)
    for _ in range(10):  # full reverse cannot move it: it is held at the flag
        obs, reward, _, _, info = env.step(np.array([-1.0]))
        assert info["success"] is True and reward == 0.0
        np.testing.assert_allclose(obs, [GOAL_POSITION, 0.0])


def test_energy_pumping_policy_reaches_the_flag() -> None:
    """Push in the direction of motion: the classic solution gets there within the limit."""
    env = make(episode_length=400)
    obs, _ = env.reset(seed=0)
    for _ in range(400):
        obs, _, _, _, info = env.step(np.array([1.0 if obs[1] >= 0 else -1.0]))
        if info["success"]:
            break
    assert info["success"] is True


def test_set_state_round_trip_and_clipping() -> None:
    env = make()
    env.reset(seed=0)
    env.unwrapped.set_state([-0.3, 0.01])
    np.testing.assert_allclose(env.unwrapped.get_state(), [-0.3, 0.01])
    obs, _ = env.reset(seed=0, options={"state": [-0.3, 0.01]})
    np.testing.assert_allclose(obs, np.float32([-0.3, 0.01]))
    env.unwrapped.set_state([5.0, 1.0])
    np.testing.assert_allclose(env.unwrapped.state, [0.6, 0.07])
    with pytest.raises(ConfigError, match="state"):
        env.unwrapped.set_state([0.0])


def test_render_size_and_car_moves() -> None:
    env = make(width=72, height=40)
    env.reset(seed=0)
    env.unwrapped.set_state([-0.5, 0.0])
    valley = env.render()
    env.unwrapped.set_state([GOAL_POSITION, 0.0])
    flag = env.render()
    assert valley.shape == flag.shape == (40, 72, 3) and valley.dtype == np.uint8
    assert not np.array_equal(valley, flag)


def test_textured_and_plain_look_different() -> None:
    frames = {}
    for textured in (True, False):
        env = make(textured=textured, width=64, height=64)
        env.reset(seed=0)
        frames[textured] = env.render().astype(int)
    plain, textured = frames[False], frames[True]
    assert (plain == 255).all(axis=-1).mean() > 0.8  # mostly white background
    assert (textured == 255).all(axis=-1).mean() < 0.05
    # Blue sky at the top and green/brown ground at the bottom of the textured scene.
    top, bottom = textured[:5].mean(axis=(0, 1)), textured[-5:].mean(axis=(0, 1))
    assert top[2] > top[0] + 40
    assert bottom[0] > bottom[2] and bottom[1] > bottom[2]


def test_invalid_kwargs() -> None:
    with pytest.raises(ConfigError, match="textured"):
        make(textured="yes")
    with pytest.raises(ConfigError, match="episode_length"):
        make(episode_length=-3)
    with pytest.raises(ConfigError, match="action"):
        env = make()
        env.reset(seed=0)
        env.step(np.array([np.nan]))
