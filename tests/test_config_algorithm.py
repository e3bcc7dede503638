"""algorithm: policy and hyperparameters checked against the SB3 class at config load."""

from __future__ import annotations

import pytest

from vlm_reward.config import load_run_config, validate_run_config
from vlm_reward.errors import ConfigError

BASE = {"env": {"id": "CartPole-v1"}, "reward": "ground_truth", "total_steps": 10}


def _cfg(name: str = "PPO", n_envs: int = 1, **algorithm):
    return validate_run_config({**BASE, "n_envs": n_envs, "algorithm": {"name": name, **algorithm}})


def test_yaml_text_numbers_become_numbers(tmp_path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("env: {id: CartPole-v1}\nreward: ground_truth\ntotal_steps: 10\n"
                    "algorithm: {name: PPO, hyperparameters: {learning_rate: 1e-3}}\n")
    cfg = load_run_config(path)  # PyYAML reads 1e-3 (no dot) as the string '1e-3'
    assert cfg.algorithm.hyperparameters["learning_rate"] == pytest.approx(1e-3)


@pytest.mark.parametrize(("name", "hp", "message"), [
    ("PPO", {"learning_rate": "fast"}, "learning_rate: expected a number or a schedule"),
    ("PPO", {"learning_rate": -1.0}, "learning_rate: expected a positive number"),
    ("PPO", {"n_steps": 0}, "n_steps: expected a positive integer, got 0"),
    ("PPO", {"n_epochs": 2.5}, "n_epochs: expected an integer"),
    ("PPO", {"batch_size": True}, "batch_size: expected an integer, got True"),
    ("PPO", {"batch_size": 1}, "batch_size: PPO normalises advantages"),
    ("PPO", {"gae_lambda": 2}, "gae_lambda: expected a number in [0, 1]"),
    ("PPO", {"policy_kwargs": 3}, "policy_kwargs: expected a mapping or null"),
    ("PPO", {"target_kl": 0}, "target_kl: expected a positive number or null"),
    ("SAC", {"buffer_size": 0}, "buffer_size: expected a positive integer"),
    ("SAC", {"train_freq": [1, "hour"]}, "train_freq: expected a positive integer or [N"),
    ("SAC", {"train_freq": "often"}, "train_freq: expected an integer or a list"),
    ("SAC", {"ent_coef": "auto_-1"}, "ent_coef"),
    ("SAC", {"target_entropy": "max"}, "target_entropy: expected a number or 'auto'"),
    ("SAC", {"action_noise": "normal"}, "action_noise: expected an instance of ActionNoise"),
    ("DQN", {"exploration_final_eps": 1.5}, "exploration_final_eps"),
    ("DQN", {"gradient_steps": 0}, "gradient_steps: expected a positive integer, or -1"),
    ("PPO", {"policy_kwargs": {"net_arch": "wide"}}, "policy_kwargs.net_arch: expected a list"),
    ("DQN", {"policy_kwargs": {"net_arch": {"pi": [8]}}}, "policy_kwargs.net_arch"),
    ("SAC", {"policy_kwargs": {"n_critic": 2}}, "policy_kwargs.n_critic is not an argument"),
    ("PPO", {"policy_kwargs": {"lr_schedule": 1}}, "policy_kwargs.lr_schedule is not an"),
])
def test_bad_values_name_the_key(name: str, hp: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _cfg(name, hyperparameters=hp)
    assert f"algorithm.hyperparameters.{message}" in str(info.value)


def test_good_values_pass_unchanged() -> None:
    hp = {"train_freq": [1, "episode"], "ent_coef": "auto_0.1", "gradient_steps": -1,
          "learning_rate": 3e-4, "policy_kwargs": {"net_arch": [32]}}
    assert _cfg("SAC", hyperparameters=hp).algorithm.hyperparameters == hp


def test_policy_must_be_an_sb3_alias() -> None:
    with pytest.raises(ConfigError, match=r"algorithm.policy: .MlpPolcy. is not a DQN policy; "
                                          r"valid: MlpPolicy, CnnPolicy, MultiInputPolicy"):
        _cfg("DQN", policy="MlpPolcy")


def test_cross_checks_with_n_envs() -> None:
    with pytest.raises(ConfigError, match=r"n_steps \* n_envs = 1 \* 1"):
        _cfg("PPO", hyperparameters={"n_steps": 1})
    assert _cfg("PPO", n_envs=2, hyperparameters={"n_steps": 1, "batch_size": 2})
    with pytest.raises(ConfigError, match="train_freq: \\[N, 'episode'\\] works with one env"):
        _cfg("SAC", n_envs=2, hyperparameters={"train_freq": [1, "episode"]})
