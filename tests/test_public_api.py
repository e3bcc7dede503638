"""The curated top level: each name is its owner's object, and importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import vlm_reward


@pytest.mark.parametrize(
    ("name", "owner"),
    [
        ("load_model", "vlm_reward.models"),
        ("Embedder", "vlm_reward.models"),
        ("RewardModel", "vlm_reward.reward"),
        ("GoalBaselineReward", "vlm_reward.reward"),
        ("VLMReward", "vlm_reward.wrappers"),
        ("make_rendering_env", "vlm_reward.rendering_env"),
        ("train", "vlm_reward.training"),
        ("evaluate_run", "vlm_reward.training"),
    ],
)
def test_top_level_name_is_the_owners_object(name: str, owner: str) -> None:
    module = __import__(owner, fromlist=[name])
    assert getattr(vlm_reward, name) is getattr(module, name)


def test_unknown_top_level_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        vlm_reward.nope  # noqa: B018


def test_import_does_not_load_torch() -> None:
    code = "import sys, vlm_reward; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
