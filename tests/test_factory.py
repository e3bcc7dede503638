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
