"""Config sections -> live objects: the reward builder, local and Ray."""

from __future__ import annotations

import sys

import pytest

from vlm_reward import distributed
from vlm_reward.config import RewardConfig
from vlm_reward.errors import ConfigError, DependencyNotInstalled
from vlm_reward.factory import build_reward_model


def test_build_reward_model_local(tiny_clip_dir):
    cfg = RewardConfig(model=str(tiny_clip_dir), goal=["a", "b"], baseline="c", alpha=0.5,
                       device="cpu", precision="fp32", batch_size=3)
    rm = build_reward_model(cfg)
    assert rm.embedder.batch_size == 3
    assert rm.reward.alpha == 0.5


def test_build_reward_model_ray_without_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    cfg = RewardConfig(model="demo", goal="x", backend="ray")
    with pytest.raises(DependencyNotInstalled, match=r"vlm-reward\[ray\]"):
        build_reward_model(cfg)


def test_build_reward_model_ray_refuses_fast_path():
    cfg = RewardConfig(model="demo", goal="x", backend="ray", fast_path={"int8": True})
    with pytest.raises(ConfigError, match="fast_path"):
        build_reward_model(cfg)


def test_build_reward_model_ray_passes_config_to_ray_embedder(monkeypatch, tiny_embedder):
    seen = {}

    def fake_create(spec, **kwargs):
        seen.update(spec=spec, **kwargs)
        return tiny_embedder  # stands in for the actors: the contract is what is passed

    monkeypatch.setattr(distributed.RayEmbedder, "create", staticmethod(fake_create))
    cfg = RewardConfig(model="demo", goal="x", backend="ray", num_workers=3,
                       num_cpus_per_worker=0.5, num_gpus_per_worker=0.25, device="cpu",
                       precision="fp32", batch_size=7, ray_address="auto")
    rm = build_reward_model(cfg)
    assert rm.embedder is tiny_embedder
    assert seen == {"spec": "demo", "num_workers": 3, "num_cpus_per_worker": 0.5,
                    "num_gpus_per_worker": 0.25, "device": "cpu", "precision": "fp32",
                    "batch_size": 7, "address": "auto"}


# -- reward families from the config ------------------------------------------------------
def _reward_cfg(tiny_clip_dir, **fields):
    return RewardConfig(model=str(tiny_clip_dir), device="cpu", precision="fp32", **fields)


def test_each_kind_builds_its_family(tiny_clip_dir):
    from vlm_reward.reward import (
        EpisodeReward,
        GoalBaselineReward,
        NegativesReward,
        WindowReward,
    )

    cases = {
        "goal_baseline": ({}, GoalBaselineReward),
        "negatives": ({"negatives": ["a fallen pole"]}, NegativesReward),
        "window": ({"window": 4}, WindowReward),
        "episode": ({"episode_stride": 2}, EpisodeReward),
    }
    for kind, (extra, family) in cases.items():
        rm = build_reward_model(_reward_cfg(tiny_clip_dir, kind=kind, goal="up", **extra))
        assert type(rm.reward) is family, kind
        assert rm.needs_steps == (kind in ("window", "episode"))


def test_negatives_temperature_defaults_to_the_models_logit_scale(tiny_clip_dir):
    rm = build_reward_model(_reward_cfg(tiny_clip_dir, kind="negatives", goal="up",
                                        negatives=["down", "left"]))
    assert rm.reward.temperature == pytest.approx(rm.embedder.logit_scale)
    rm = build_reward_model(_reward_cfg(tiny_clip_dir, kind="negatives", goal="up",
                                        negatives=["down"], temperature=7.0))
    assert rm.reward.temperature == 7.0


def test_goal_image_file_gives_the_images_embedding(tiny_clip_dir, tmp_path):
    import imageio.v3 as iio
    import numpy as np
    import torch.nn.functional as F

    frame = np.random.default_rng(0).integers(0, 255, (32, 48, 3), dtype=np.uint8)
    iio.imwrite(tmp_path / "goal.png", frame)
    rm = build_reward_model(_reward_cfg(tiny_clip_dir, goal_images=[str(tmp_path / "goal.png")]))
    expected = F.normalize(rm.embedder.encode_images(frame[None])[0], dim=-1)
    assert float(rm.reward.goal @ expected) == pytest.approx(1.0, abs=1e-5)
    assert float(rm.rewards(frame[None])[0]) == pytest.approx(1.0, abs=1e-5)


def test_goal_image_that_is_not_an_image_is_a_config_error(tiny_clip_dir, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    with pytest.raises(ConfigError, match=r"goal_images\[0\].*not an image"):
        build_reward_model(_reward_cfg(tiny_clip_dir, goal_images=[str(bad)]))
    with pytest.raises(ConfigError, match="is not a file"):
        build_reward_model(_reward_cfg(tiny_clip_dir, goal_images=[str(tmp_path / "nope.png")]))


def test_goal_states_are_rendered_by_the_training_env(tiny_clip_dir):
    from vlm_reward.config import EnvConfig

    env = EnvConfig(id="vlm_reward/CartPole-v0")
    cfg = _reward_cfg(tiny_clip_dir, goal_states=[{"theta": 0.0}])
    rm = build_reward_model(cfg, env)
    with pytest.raises(ConfigError, match="unknown state variable"):
        build_reward_model(_reward_cfg(tiny_clip_dir, goal_states=[{"angle": 0.0}]), env)
    assert rm.reward.goal.shape == (rm.embedder.embed_dim,)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "negatives", "goal": "up"}, "needs reward.negatives"),
        ({"kind": "negatives", "negatives": ["down"]}, "no goal"),
        ({"goal": "up", "negatives": ["down"]}, "ignores them"),
        ({"kind": "window", "goal": "up"}, "go together"),
        ({"goal": "up", "window": 3}, "go together"),
        ({"goal": "up", "alpha": 0.5}, "needs a baseline"),
        ({"goal": "up", "shaping_gamma": 0.9}, "shaping is off"),
        ({"goal": "up", "goal_image_weight": 0.5}, "no goal_images"),
    ],
)
def test_wrong_family_combinations_name_the_fix(fields, message):
    with pytest.raises(ValueError, match=message):
        RewardConfig(model="demo", **fields)


def test_window_longer_than_the_episode_is_refused():
    from vlm_reward.factory import check_reward_fits_episode

    cfg = RewardConfig(model="demo", goal="up", kind="window", window=300)
    with pytest.raises(ConfigError, match="longer than the env's episodes"):
        check_reward_fits_episode(cfg, 200)
    check_reward_fits_episode(cfg, 300)


def test_shaping_uses_the_algorithms_discount():
    from vlm_reward.config import validate_run_config

    base = {"env": {"id": "vlm_reward/CartPole-v0"}, "total_steps": 10,
            "reward": {"model": "demo", "goal": "up", "shaping": True}}
    cfg = validate_run_config({**base, "algorithm": {"name": "PPO",
                                                     "hyperparameters": {"gamma": 0.9}}})
    assert cfg.reward.shaping_gamma == 0.9
    cfg = validate_run_config({**base, "algorithm": {"name": "SAC"}})
    assert cfg.reward.shaping_gamma == 0.99  # SB3's default for SAC
