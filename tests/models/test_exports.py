"""Every name in ``__all__`` of the core modules exists (public API stays importable)."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "vlm_reward.models", "vlm_reward.models.base", "vlm_reward.models.loading",
    "vlm_reward.models.specs", "vlm_reward.models.weights", "vlm_reward.models.open_clip_backend",
    "vlm_reward.models.hf_backend", "vlm_reward.preprocess", "vlm_reward.device",
    "vlm_reward.cli.core",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    for attr in module.__all__:
        assert hasattr(module, attr), f"{name}.{attr}"

