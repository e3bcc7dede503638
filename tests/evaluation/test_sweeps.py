"""State sweeps on CartPole and MountainCar with the tiny random model."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from vlm_reward.config import RewardConfig
from vlm_reward.errors import ConfigError
from vlm_reward.evaluation.dataset import load_dataset
from vlm_reward.evaluation.sweeps import run_state_sweep, write_state_sweep_report
from vlm_reward.reward import RewardModel

SIZE = {"width": 48, "height": 32}


@pytest.mark.parametrize(("env_id", "variable", "low", "high", "goal", "baseline"), [
    ("CartPole-v1", "theta", -math.pi, math.pi, "pole vertically upright on top of the cart",
     "a pole on a cart"),
    ("MountainCarContinuous-v0", "position", -1.2, 0.6,
     "a car at the peak of the mountain, next to the yellow flag", "a car in the mountain"),
    ("vlm_reward/CartPole-v0", "theta", -math.pi, math.pi,
     "pole vertically upright on top of the cart", "a pole on a cart"),
    ("vlm_reward/MountainCarContinuous-v0", "position", -1.2, 0.6,
     "a car at the peak of the mountain, next to the yellow flag", "a car in the mountain"),
])
def test_state_sweep_scores_every_alpha_from_one_embedding_pass(
    tiny_embedder, tmp_path: Path, env_id: str, variable: str, low: float, high: float,
    goal: str, baseline: str,
) -> None:
    if env_id.startswith("vlm_reward/"):
        pytest.importorskip("vlm_reward.envs")
    calls = tiny_embedder.image_calls
    reward = RewardConfig(model=tiny_embedder.name, goal=goal, baseline=baseline)
    result = run_state_sweep(tiny_embedder, tmp_path, env_id, variable, reward=reward,
                             alphas=[0.0, 0.5, 1.0], n=13, n_boot=20, **SIZE)
    assert tiny_embedder.image_calls - calls == math.ceil(13 / tiny_embedder.batch_size)
    np.testing.assert_allclose(result.values[[0, -1]], [low, high])
    assert result.rewards.shape == (3, 13)
    # The rewards are those of a RewardModel on the rendered frames, alpha by alpha.
    frames = np.array(load_dataset(result.dataset).frames)
    for alpha, row in zip(result.alphas, result.rewards, strict=True):
        rm = RewardModel.from_prompts(tiny_embedder, goal, baseline, alpha)
        np.testing.assert_allclose(row, rm.rewards(frames), rtol=1e-5, atol=1e-6)
    assert not np.allclose(result.rewards[0], result.rewards[0][0])  # frames differ
    assert len(result.metrics) == 3 and "roc_auc" in result.metrics[0]  # success varies

    report = write_state_sweep_report(result, tmp_path, command="vlm-reward eval sweep X")
    assert (tmp_path / "sweep.png").stat().st_size > 1000
    assert (tmp_path / "sweep.svg").read_text().lstrip().startswith("<?xml")
    text = report.read_text()
    assert "vlm-reward eval sweep X" in text
    assert ("RANDOM weights" in text) == tiny_embedder.is_random
    data = json.loads((tmp_path / "results.json").read_text())
    assert len(data["results"]["rewards"]) == 3 and data["results"]["variable"] == variable

    # Running the same sweep again re-renders but does not re-embed.
    calls = tiny_embedder.image_calls
    run_state_sweep(tiny_embedder, tmp_path, env_id, variable,
                    reward=RewardConfig(model="tiny", goal=goal), n=13, n_boot=0, **SIZE)
    assert tiny_embedder.image_calls == calls


def test_alpha_above_zero_needs_a_baseline(tiny_embedder, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="baseline"):
        run_state_sweep(tiny_embedder, tmp_path, "CartPole-v1", "theta",
                        reward=RewardConfig(model="tiny", goal="upright"), alphas=[0.5], n=3,
                        **SIZE)
