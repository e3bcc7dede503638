"""The package registers the paper's ids and exports what its modules promise."""

from __future__ import annotations

import importlib

import gymnasium as gym
import numpy as np
import pytest

import vlm_reward.envs
from vlm_reward.envs import ENV_IDS

MODULES = ["vlm_reward.envs", "vlm_reward.envs.cartpole", "vlm_reward.envs.mountain_car",
           "vlm_reward.envs.checks", "vlm_reward.envs.humanoid"]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    for attr in module.__all__:
        assert hasattr(module, attr), f"{name}.{attr}"


def test_ids_are_registered_and_registration_is_idempotent() -> None:
    vlm_reward.envs.register_envs()
    assert all(env_id in gym.registry for env_id in ENV_IDS)


def test_works_in_a_vector_env() -> None:
    envs = gym.make_vec("vlm_reward/CartPole-v0", num_envs=2, vectorization_mode="sync",
                        episode_length=3, width=32, height=32)
    envs.reset(seed=0)
    for _ in range(3):
        _, _, terminated, truncated, info = envs.step(np.array([0, 1]))
    assert not terminated.any() and truncated.all()
    assert info["success"].dtype == bool
    envs.close()
