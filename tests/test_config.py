"""Run configs: every shipped config validates; bad keys and values fail naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from vlm_reward.config import (
    RewardConfig,
    RunConfig,
    apply_overrides,
    dump_run_config,
    load_run_config,
    validate_run_config,
)
from vlm_reward.errors import ConfigError

CONFIGS = sorted((Path(__file__).parents[1] / "configs").glob("*.yaml"))

BASE = {
    "env": {"id": "CartPole-v1"},
    "reward": {"model": "demo", "goal": "pole upright"},
    "algorithm": {"name": "PPO"},
    "total_steps": 100,
}


def _cfg(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_configs_exist_for_every_paper_experiment():
    names = {p.stem for p in CONFIGS}
    tasks = ["kneeling", "lotus", "standing-up", "arms-raised", "splits", "hands-on-hips",
             "one-leg", "arms-crossed"]
    expected = {"cartpole"} | {f"humanoid-{t}" for t in tasks} | {
        f"mountaincar-{s}-alpha{a}" for s in ("textured", "plain") for a in (0, 1)
    }
    assert expected <= names
    assert any(n.endswith("-cpu") for n in names)


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_shipped_config_validates(path):
    cfg = load_run_config(path)
    assert cfg.total_steps > 0
    if path.stem.startswith("humanoid-") and not path.stem.endswith("-cpu"):
        hp = cfg.algorithm.hyperparameters
        assert cfg.algorithm.name == "SAC" and cfg.total_steps == 10_000_000
        assert (hp["gamma"], hp["learning_rate"], hp["batch_size"]) == (0.95, 6e-4, 512)
        assert hp["learning_starts"] == 50_000 and hp["gradient_steps"] == 100
        assert hp["train_freq"] * cfg.n_envs == 100
        assert isinstance(cfg.reward, RewardConfig)
        assert cfg.reward.model == "ViT-bigG-14/laion2b_s39b_b160k"
        if cfg.reward.kind == "goal_baseline":  # the paper's reward; family variants differ
            assert cfg.reward.baseline == "a humanoid robot" and cfg.reward.alpha == 0.0
        else:
            assert cfg.reward.goal.startswith("a humanoid robot")


def test_round_trip_through_yaml(tmp_path):
    cfg = validate_run_config(BASE)
    dump_run_config(cfg, tmp_path / "config.yaml")
    assert load_run_config(tmp_path) == cfg


def test_overrides_parse_yaml_values_and_nested_keys(tmp_path):
    cfg = load_run_config(
        _cfg(tmp_path, BASE),
        ["total_steps=5000", "reward.alpha=0.5", "reward.baseline=a cart",
         "algorithm.hyperparameters.n_steps=64", "env.kwargs={a: 1}"],
    )
    assert cfg.total_steps == 5000 and cfg.reward.alpha == 0.5
    assert cfg.algorithm.hyperparameters == {"n_steps": 64}
    assert cfg.env.kwargs == {"a": 1}
    assert load_run_config(_cfg(tmp_path, BASE), ["reward=ground_truth"]).reward == "ground_truth"


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ("totl_steps=5", "totl_steps: unknown key"),
        ("reward.gaol=x", "reward.gaol: unknown key"),
        ("algorithm.name=A2C", "algorithm.name"),
        ("algorithm.hyperparameters.n_stepz=5", "hyperparameters.n_stepz is not a PPO argument"),
        ("algorithm.hyperparameters.env=5", "hyperparameters.env is set by vlm-reward"),
        ("reward.alpha=2", "reward.alpha"),
        ("reward.alpha=0.5", "needs a baseline"),
        ("reward=sparse", "reward"),
        ("n_envs=0", "n_envs"),
        ("reward_mode=sometimes", "reward_mode"),
        ("logging.wandb.projekt=x", "logging.wandb"),
    ],
)
def test_bad_values_name_the_key(tmp_path, override, match):
    with pytest.raises(ConfigError, match=match):
        load_run_config(_cfg(tmp_path, BASE), [override])


def test_bad_files_and_overrides(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_run_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("env: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_run_config(bad)
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        apply_overrides({}, ["total_steps"])
    with pytest.raises(ConfigError, match="not a mapping"):
        apply_overrides({"seed": 1}, ["seed.x=2"])
    with pytest.raises(ConfigError, match="total_steps: Field required"):
        validate_run_config({k: v for k, v in BASE.items() if k != "total_steps"})


def test_train_freq_list_and_every_field_documented():
    cfg = validate_run_config({
        **BASE, "algorithm": {"name": "SAC", "hyperparameters": {"train_freq": [1, "episode"]}},
    })
    assert cfg.algorithm.hyperparameters["train_freq"] == [1, "episode"]

    def walk(model):
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no description"

    from vlm_reward import config as config_module

    for cls in (RunConfig, RewardConfig, config_module.EnvConfig, config_module.AlgorithmConfig,
                config_module.LoggingConfig, config_module.WandbConfig):
        walk(cls)
