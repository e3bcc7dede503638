"""Tests of the paper's CartPole: no termination, wrapping, clipping, success, rendering."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import vlm_reward.envs  # noqa: F401  (registers the ids)
from vlm_reward.envs import CARTPOLE_ID
from vlm_reward.envs.cartpole import TRACK_HALF_LENGTH, CartPoleEnv
from vlm_reward.errors import ConfigError


def make(**kwargs):
    kwargs.setdefault("width", 64)
    kwargs.setdefault("height", 48)
    return gym.make(CARTPOLE_ID, **kwargs)


def test_spaces_and_state_names() -> None:
    env = make()
    assert env.action_space == gym.spaces.Discrete(2)
    assert env.observation_space.shape == (4,)
    assert env.unwrapped.state_names == ("x", "x_dot", "theta", "theta_dot")
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert info["success"] is True


def test_seeded_rollouts_are_identical() -> None:
    def rollout(seed: int) -> np.ndarray:
        env = make(episode_length=30)
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        out = [obs]
        for _ in range(30):
            out.append(env.step(env.action_space.sample())[0])
        return np.array(out)

    np.testing.assert_array_equal(rollout(3), rollout(3))
    assert not np.array_equal(rollout(3), rollout(4))


def test_fixed_episode_length_without_termination() -> None:
    env = make(episode_length=120)
    env.reset(seed=0)
    fell = False
    for t in range(1, 121):
        _, reward, terminated, truncated, info = env.step(1)  # always push right: it falls
        assert terminated is False
        assert truncated is (t == 120)
        assert isinstance(info["success"], bool)
        assert reward == (1.0 if info["success"] else 0.0)
        fell |= not info["success"]
    assert fell, "pushing one way for 120 steps must topple the pole"


def test_angle_wraps_and_stays_in_range() -> None:
    env = make(episode_length=400)
    env.reset(seed=0)
    env.unwrapped.set_state([0.0, 0.0, math.pi - 0.01, 8.0])  # spinning over the bottom
    thetas = [env.step(0)[0][2] for _ in range(50)]
    assert all(-math.pi <= t <= math.pi for t in thetas)
    assert min(thetas) < -2.5 and max(thetas) > 2.5  # it crossed the +-pi seam
    env.unwrapped.set_state([0.0, 0.0, 3 * math.pi / 2, 0.0])
    assert env.unwrapped.state[2] == pytest.approx(-math.pi / 2)


def test_cart_stops_at_the_end_of_the_track() -> None:
    env = make()
    env.reset(seed=0)
    env.unwrapped.set_state([TRACK_HALF_LENGTH - 0.01, 3.0, 0.0, 0.0])
    obs = env.step(1)[0]
    assert obs[0] == pytest.approx(TRACK_HALF_LENGTH)
    assert obs[1] == 0.0
    for _ in range(20):
        obs = env.step(1)[0]
        assert abs(obs[0]) <= TRACK_HALF_LENGTH + 1e-6


def test_success_is_the_12_degree_band() -> None:
    env = make()
    env.reset(seed=0)
    for theta, expected in ((0.0, True), (math.radians(11.0), True), (math.radians(-11.5), True),
                            (math.radians(13.0), False), (math.pi, False)):
        env.unwrapped.set_state([0.0, 0.0, theta, 0.0])
        info = env.step(0)[4]
        # One step of 0.02 s from rest barely moves the pole.
        assert info["success"] is expected, theta


def test_set_state_round_trip_and_validation() -> None:
    env = make()
    env.reset(seed=0)
    state = np.array([0.3, -0.2, 1.0, 0.5])
    env.unwrapped.set_state(state)
    np.testing.assert_allclose(env.unwrapped.get_state(), state)
    obs, _ = env.reset(seed=0, options={"state": state})
    np.testing.assert_allclose(obs, state.astype(np.float32))
    with pytest.raises(ConfigError, match="state"):
        env.unwrapped.set_state([1.0, 2.0])
    with pytest.raises(ConfigError, match="finite"):
        env.unwrapped.set_state([0.0, np.nan, 0.0, 0.0])


def test_render_size_is_honoured_and_shows_the_pole_at_any_angle() -> None:
    env = make(width=80, height=60)
    env.reset(seed=0)
    frames = {}
    for theta in (0.0, math.pi / 2, math.pi):
        env.unwrapped.set_state([0.0, 0.0, theta, 0.0])
        frame = env.render()
        assert frame.shape == (60, 80, 3) and frame.dtype == np.uint8
        frames[theta] = frame
    pole = np.array([202, 152, 101])

    def pole_rows(frame: np.ndarray) -> np.ndarray:
        return np.nonzero(np.all(np.abs(frame.astype(int) - pole) < 40, axis=-1))[0]

    up, down = pole_rows(frames[0.0]), pole_rows(frames[math.pi])
    assert up.size and down.size
    assert up.mean() < 30 < down.mean()  # upright pole above the axle, fallen one below
    assert not np.array_equal(frames[0.0], frames[math.pi / 2])


def test_invalid_kwargs_raise_config_errors() -> None:
    with pytest.raises(ConfigError, match="episode_length"):
        make(episode_length=0)
    with pytest.raises(ConfigError, match="width"):
        make(width=3)
    with pytest.raises(ConfigError, match="render_mode"):
        CartPoleEnv(render_mode="ansi")
