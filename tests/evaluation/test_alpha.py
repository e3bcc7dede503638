"""Alpha sweep from one set of embeddings."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from vlm_reward.errors import ConfigError
from vlm_reward.evaluation.alpha import alpha_sweep, parse_alphas, write_alpha_report
from vlm_reward.evaluation.collect import collect_dataset
from vlm_reward.evaluation.metrics import epic_distance
from vlm_reward.evaluation.scoring import embed_dataset, resolve_reference
from vlm_reward.reward import GoalBaselineReward, goal_baseline_reward


@pytest.fixture(scope="module")
def cartpole_ds(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("alpha") / "cp"
    return collect_dataset(out, "CartPole-v1", policies=("random", "scripted"), episodes=4,
                           max_steps=12, width=48, height=32)


def test_alpha_sweep_embeds_once(tiny_embedder, cartpole_ds) -> None:
    calls = tiny_embedder.image_calls
    emb = embed_dataset(tiny_embedder, cartpole_ds, cache=False)
    reward = GoalBaselineReward.from_prompts(tiny_embedder, "a pole upright on a cart", "a cart")
    ref = resolve_reference(cartpole_ds, "success")
    result = alpha_sweep(emb, reward, parse_alphas(steps=5), ref, n_boot=30)
    n_batches = math.ceil(len(cartpole_ds) / tiny_embedder.batch_size)
    assert tiny_embedder.image_calls - calls == n_batches  # one pass for five alphas
    assert result.alphas == [0.0, 0.25, 0.5, 0.75, 1.0]
    g = tiny_embedder.encode_text(["a pole upright on a cart"])[0]
    b = tiny_embedder.encode_text(["a cart"])[0]
    for alpha, row in zip(result.alphas, result.rewards, strict=True):
        expected = goal_baseline_reward(emb, g, b, alpha).numpy()
        np.testing.assert_allclose(row, expected, rtol=1e-5, atol=1e-6)
    # alpha = 0 is the cosine similarity.
    np.testing.assert_allclose(result.rewards[0], (emb @ g).numpy(), atol=1e-5)
    for row, metrics in zip(result.rewards, result.metrics, strict=True):
        assert metrics["epic"].value == pytest.approx(
            epic_distance(row[ref.index], ref.values))
        assert "roc_auc" in metrics
    assert result.best("epic") in result.alphas


def test_alpha_report(tiny_embedder, cartpole_ds, tmp_path: Path) -> None:
    emb = embed_dataset(tiny_embedder, cartpole_ds)
    reward = GoalBaselineReward.from_prompts(tiny_embedder, "a pole upright on a cart", "a cart")
    ref = resolve_reference(cartpole_ds, "auto")
    assert ref.name == "success" and ref.binary
    result = alpha_sweep(emb, reward, [0.0, 1.0], ref, n_boot=10)
    path = write_alpha_report(result, tmp_path, x=cartpole_ds.states["theta"], x_label="theta",
                              settings={"model": "tiny"}, command="vlm-reward eval alpha DS",
                              connect=False)
    assert "vlm-reward eval alpha DS" in path.read_text()
    assert (tmp_path / "alpha.png").is_file() and (tmp_path / "alpha.svg").is_file()
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["command"] == "vlm-reward eval alpha DS"
    assert data["results"]["alphas"] == [0.0, 1.0]


def test_parse_alphas_and_errors() -> None:
    assert parse_alphas("0, 0.5,1") == [0.0, 0.5, 1.0]
    assert parse_alphas(steps=3) == [0.0, 0.5, 1.0]
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        parse_alphas("0,1.5")
    with pytest.raises(ConfigError, match="comma-separated"):
        parse_alphas("zero")
    g = torch.nn.functional.normalize(torch.ones(4), dim=0)
    from vlm_reward.reward import GoalBaselineReward

    with pytest.raises(ConfigError, match="baseline"):
        alpha_sweep(torch.eye(4), GoalBaselineReward(g), [0.0, 0.5], None)  # type: ignore[arg-type]
