"""The algorithm/env checks agree with Stable-Baselines3 and run before the run folder exists."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from vlm_reward.config import AlgorithmConfig, validate_run_config
from vlm_reward.errors import ConfigError
from vlm_reward.training.validation import ACTION_SPACES, check_algorithm_spaces

ACTION_KINDS = {
    "Box": spaces.Box(-1.0, 1.0, (2,), np.float32),
    "Discrete": spaces.Discrete(3),
    "MultiDiscrete": spaces.MultiDiscrete([2, 3]),
    "MultiBinary": spaces.MultiBinary(2),
}


class _Env(gym.Env):
    observation_space = spaces.Box(-1.0, 1.0, (3,), np.float32)

    def __init__(self, action_space: spaces.Space) -> None:
        self.action_space = action_space


@pytest.mark.parametrize("name", sorted(ACTION_SPACES))
@pytest.mark.parametrize("kind", sorted(ACTION_KINDS))
def test_action_space_table_matches_sb3(name: str, kind: str) -> None:
    import stable_baselines3 as sb3

    algo = AlgorithmConfig(name=name)
    try:
        getattr(sb3, name)("MlpPolicy", _Env(ACTION_KINDS[kind]), _init_setup_model=False)
        sb3_accepts = True
    except AssertionError:
        sb3_accepts = False
    try:
        check_algorithm_spaces(algo, ACTION_KINDS[kind], _Env.observation_space)
        we_accept = True
    except ConfigError as exc:
        assert str(exc).startswith("algorithm.name: ")
        we_accept = False
    assert we_accept == sb3_accepts


def test_message_names_the_key_the_space_and_what_fits() -> None:
    with pytest.raises(ConfigError) as info:
        check_algorithm_spaces(AlgorithmConfig(name="SAC"), spaces.Discrete(2),
                               _Env.observation_space, "CartPole-v1")
    msg = str(info.value)
    assert "algorithm.name: SAC needs a Box action space" in msg
    assert "CartPole-v1 has Discrete(2)" in msg and "algorithms that fit: PPO, DQN" in msg


@pytest.mark.parametrize(("policy", "obs", "message"), [
    ("MlpPolicy", spaces.Dict({"a": spaces.Discrete(2)}), "use MultiInputPolicy"),
    ("MultiInputPolicy", spaces.Box(-1, 1, (3,)), "cannot take"),
    ("CnnPolicy", spaces.Box(-1, 1, (3,)), "CnnPolicy needs image observations"),
])
def test_policy_must_fit_the_observations(policy: str, obs: spaces.Space, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_algorithm_spaces(AlgorithmConfig(name="PPO", policy=policy), spaces.Discrete(2),
                               obs)


def test_unfit_algorithm_fails_before_the_run_folder_is_made(tmp_path: Path) -> None:
    from vlm_reward.training import train

    cfg = validate_run_config({
        "env": {"id": "CartPole-v1"}, "reward": "ground_truth",
        "algorithm": {"name": "SAC"}, "total_steps": 10, "device": "cpu",
    })
    with pytest.raises(ConfigError, match=r"algorithm\.name: SAC"):
        train(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_window_longer_than_the_episode_fails_before_the_run_folder(tmp_path):
    from pathlib import Path

    from vlm_reward.config import load_run_config
    from vlm_reward.errors import ConfigError
    from vlm_reward.training import train

    config = Path(__file__).parents[2] / "configs" / "cartpole-window-cpu.yaml"
    cfg = load_run_config(config, ["reward.window=201"])  # episodes are 200 steps
    with pytest.raises(ConfigError, match="longer than the env's episodes"):
        train(cfg, tmp_path / "run")
    assert not (tmp_path / "run").exists()
