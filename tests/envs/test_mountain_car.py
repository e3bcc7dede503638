from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import vlm_reward.envs  # noqa: F401  (registers the ids)
from vlm_reward.envs import MOUNTAIN_CAR_ID
from vlm_reward.envs.mountain_car import GOAL_POSITION
from vlm_reward.errors import ConfigError


def make(**kwargs):
    kwargs.setdefault("width", 80)
    kwargs.setdefault("height", 64)
    return gym.make(MOUNTAIN_CAR_ID, **kwargs)


def test_spaces_and_names():
    env = make()
    assert env.action_space.shape == (1,)
    assert env.observation_space.shape == (2,)
    assert env.unwrapped.state_names == ("position", "velocity")


def test_seeded_rollouts_are_identical():
    def rollout():
        env = make()
        obs, _ = env.reset(seed=5)
        env.action_space.seed(5)
        return np.stack([obs] + [env.step(env.action_space.sample())[0] for _ in range(20)])

    np.testing.assert_array_equal(rollout(), rollout())


def test_fixed_episode_length():
    env = make(episode_length=7)
    env.reset(seed=0)
    flags = [env.step(np.zeros(1, np.float32))[2:4] for _ in range(7)]
    assert flags[-1] == (False, True)
    assert all(f == (False, False) for f in flags[:-1])


def test_reaching_the_flag_holds_the_car_there():
    env = make(episode_length=50)
    env.reset(seed=0)
    env.unwrapped.set_state([0.43, 0.05])
    assert not env.unwrapped.reached
    obs, reward, terminated, _, info = env.step(np.ones(1, np.float32))
    assert info["success"] and not terminated
    assert reward == pytest.approx(100.0 - 0.1)
    assert obs[0] == pytest.approx(GOAL_POSITION)
    for _ in range(5):  # full reverse throttle does not move it any more
        obs, reward, _, _, info = env.step(-np.ones(1, np.float32))
        assert info["success"] and reward == 0.0
        assert obs[0] == pytest.approx(GOAL_POSITION) and obs[1] == 0.0


def test_set_state_round_trip_and_reset_option():
    env = make()
    env.reset(seed=0)
    env.unwrapped.set_state(np.array([-0.7, 0.01]))
    np.testing.assert_allclose(env.unwrapped.state, [-0.7, 0.01])
    obs, info = env.reset(options={"state": [0.5, 0.0]})
    assert info["success"] and obs[0] == pytest.approx(0.5)


def test_left_wall_stops_the_car():
    env = make()
    env.reset(seed=0)
    env.unwrapped.set_state([-1.19, -0.07])
    obs, *_ = env.step(-np.ones(1, np.float32))
    assert obs[0] == pytest.approx(-1.2) and obs[1] == 0.0


@pytest.mark.parametrize("textured", [True, False])
def test_render_size_and_car_moves(textured):
    env = make(textured=textured, width=96, height=72)
    env.reset(seed=0)
    env.unwrapped.set_state([-0.5, 0.0])
    valley = env.render()
    assert valley.shape == (72, 96, 3) and valley.dtype == np.uint8
    env.unwrapped.set_state([GOAL_POSITION, 0.0])
    at_flag = env.render()
    assert np.abs(valley.astype(int) - at_flag).sum() > 0
    env.unwrapped.set_state([-0.5, 0.0])
    np.testing.assert_array_equal(env.render(), valley)  # same state, same frame


def test_textured_and_plain_differ():
    frames = {}
    for textured in (True, False):
        env = make(textured=textured)
        env.reset(seed=0)
        env.unwrapped.set_state([-0.5, 0.0])
        frames[textured] = env.render()
    plain, textured = frames[False], frames[True]
    assert (plain == 255).all(-1).mean() > 0.8  # the classic look is mostly white
    assert (textured == 255).all(-1).mean() < 0.05
    # The textured sky is blue at the top, the ground green/brown at the bottom.
    top, bottom = textured[:5].reshape(-1, 3).mean(0), textured[-5:].reshape(-1, 3).mean(0)
    assert top[2] > top[0] and bottom[0] > bottom[2]


def test_bad_kwargs_raise_config_error():
    with pytest.raises(ConfigError, match="textured"):
        make(textured="yes")
    with pytest.raises(ConfigError, match="height"):
        make(height=10_000)


def test_passes_gymnasium_env_checker():
    from gymnasium.utils.env_checker import check_env

    check_env(make().unwrapped)
