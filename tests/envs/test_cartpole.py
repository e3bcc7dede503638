from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import vlm_reward.envs  # noqa: F401  (registers the ids)
from vlm_reward.envs import CARTPOLE_ID
from vlm_reward.errors import ConfigError


def make(**kwargs):
    kwargs.setdefault("width", 64)
    kwargs.setdefault("height", 48)
    return gym.make(CARTPOLE_ID, **kwargs)


def test_spaces_and_names():
    env = make()
    assert env.action_space == gym.spaces.Discrete(2)
    assert env.observation_space.shape == (4,)
    assert env.unwrapped.state_names == ("x", "x_dot", "theta", "theta_dot")
    assert env.render_mode == "rgb_array"


def test_seeded_rollouts_are_identical():
    def rollout():
        env = make()
        obs, _ = env.reset(seed=3)
        env.action_space.seed(3)
        out = [obs]
        for _ in range(30):
            out.append(env.step(env.action_space.sample())[0])
        return np.stack(out)

    np.testing.assert_array_equal(rollout(), rollout())


def test_fixed_length_never_terminates_and_angle_wraps():
    env = make(episode_length=300)
    env.reset(seed=0)
    thetas = []
    for t in range(300):
        obs, reward, terminated, truncated, info = env.step(1)
        assert not terminated
        assert truncated == (t == 299)
        assert isinstance(info["success"], bool)
        assert reward == (1.0 if info["success"] else 0.0)
        assert env.observation_space.contains(obs)
        thetas.append(obs[2])
    # Pushing right for 6 s makes the pole fall and swing through the bottom.
    assert max(abs(t) for t in thetas) > math.pi / 2
    assert all(-math.pi <= t <= math.pi for t in thetas)


def test_cart_is_clipped_at_the_wall_with_zero_velocity():
    env = make()
    env.reset(seed=0)
    env.unwrapped.set_state(np.array([2.35, 3.0, 0.0, 0.0]))
    obs, *_ = env.step(1)
    assert obs[0] == pytest.approx(2.4)
    assert obs[1] == 0.0


def test_success_band_and_set_state_round_trip():
    env = make()
    env.reset(seed=0)
    env.unwrapped.set_state([0.5, 0.1, math.radians(11), -0.2])
    np.testing.assert_allclose(env.unwrapped.state, [0.5, 0.1, math.radians(11), -0.2])
    assert env.unwrapped.is_success()
    env.unwrapped.set_state([0.5, 0.0, math.radians(13), 0.0])
    assert not env.unwrapped.is_success()
    env.unwrapped.set_state([0.0, 0.0, 3 * math.pi, 0.0])  # wrapped to -pi
    assert env.unwrapped.state[2] == pytest.approx(-math.pi)
    _, info = env.reset(options={"state": [0.0, 0.0, 0.0, 0.0]})
    assert info["success"]


def test_render_size_and_pole_drawn_where_it_points():
    env = make(width=96, height=80)
    env.reset(seed=0)
    env.unwrapped.set_state([0.0, 0.0, 0.0, 0.0])
    up = env.render()
    assert up.shape == (80, 96, 3) and up.dtype == np.uint8
    env.unwrapped.set_state([0.0, 0.0, math.pi, 0.0])
    down = env.render()
    pole = np.array([202, 152, 101])

    def pole_rows(frame):
        return np.nonzero((np.abs(frame.astype(int) - pole).sum(-1) < 30).any(1))[0]

    # Upright pole is above the track (top half), hanging pole below it.
    assert pole_rows(up).mean() < 40 < pole_rows(down).mean()


def test_bad_kwargs_raise_config_error():
    with pytest.raises(ConfigError, match="episode_length"):
        make(episode_length=0)
    with pytest.raises(ConfigError, match="width"):
        make(width=3)
    env = make()
    env.reset(seed=0)
    with pytest.raises(ConfigError, match="state"):
        env.unwrapped.set_state([1.0, 2.0])


def test_passes_gymnasium_env_checker():
    from gymnasium.utils.env_checker import check_env

    check_env(make().unwrapped)


def test_async_vector_env():
    vec = gym.make_vec(CARTPOLE_ID, num_envs=2, vectorization_mode="async", width=32, height=32)
    try:
        vec.reset(seed=0)
        info = vec.step(np.array([0, 1]))[4]
        assert info["success"].dtype == bool and info["success"].shape == (2,)
        assert np.asarray(vec.render()).shape == (2, 32, 32, 3)
    finally:
        vec.close()
