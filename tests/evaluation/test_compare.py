"""Model comparison (scaling analysis) and prompt comparison on one dataset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tiny_models import save_tiny_open_clip
from vlm_reward import load_model
from vlm_reward.config import RewardConfig
from vlm_reward.errors import ConfigError
from vlm_reward.evaluation.collect import sweep_dataset
from vlm_reward.evaluation.compare import (
    PromptPair,
    compare_models,
    compare_prompts,
    count_parameters,
    parse_prompt_pair,
    write_models_report,
    write_prompts_report,
)
from vlm_reward.evaluation.metrics import epic_distance
from vlm_reward.evaluation.scoring import (
    embed_dataset,
    evaluate_rewards,
    resolve_reference,
)
from vlm_reward.reward import GoalBaselineReward


@pytest.fixture(scope="module")
def sweep_ds(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("cmp") / "sw"
    return sweep_dataset(out, "CartPole-v1", "theta", n=15, width=48, height=32)


def _load(spec: str):
    return load_model(spec, device="cpu", precision="fp32")


def test_compare_models_scores_each_model(tiny_clip_dir: Path, tmp_path: Path,
                                          sweep_ds) -> None:
    other = save_tiny_open_clip(tmp_path / "other", seed=1)
    ref = resolve_reference(sweep_ds, "success")
    goal = "a pole upright on a cart"
    rows = compare_models([str(tiny_clip_dir), str(other)], sweep_ds, ref,
                          RewardConfig(model="ignored", goal=goal), load=_load, n_boot=20)
    assert [r.spec for r in rows] == [str(tiny_clip_dir), str(other)]
    for row in rows:
        emb = _load(row.spec)
        expected = GoalBaselineReward.from_prompts(emb, goal)(embed_dataset(emb, sweep_ds)).numpy()
        assert row.metrics["epic"].value == pytest.approx(
            epic_distance(expected[ref.index], ref.values), abs=1e-6)
        assert row.params == count_parameters(emb) and row.params > 0
    assert rows[0].metrics["epic"].value != rows[1].metrics["epic"].value
    # Both models' embeddings are cached separately in the dataset.
    assert len(list(sweep_ds.cache_dir.glob("emb-*.npy"))) == 2

    path = write_models_report(rows, tmp_path / "rep", settings={"model": "two"},
                               reference=ref, command="vlm-reward eval models DS -m a -m b")
    assert "vlm-reward eval models DS -m a -m b" in path.read_text()
    assert (tmp_path / "rep" / "models.png").is_file()
    assert (tmp_path / "rep" / "models.svg").is_file()
    data = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert [m["model"] for m in data["results"]["models"]] == [r.spec for r in rows]


def test_compare_prompts_ranks_by_metric(tiny_embedder, sweep_ds, tmp_path: Path) -> None:
    ref = resolve_reference(sweep_ds, "success")
    pairs = [parse_prompt_pair("pole upright | a cart"), parse_prompt_pair("pole fallen"),
             parse_prompt_pair("a cart on a track | a picture")]
    calls = tiny_embedder.image_calls
    rows = compare_prompts(tiny_embedder, sweep_ds, ref, pairs, alpha=0.0, n_boot=10,
                           cache=False)
    assert tiny_embedder.image_calls - calls == 1  # 15 frames, one batch, for 3 pairs
    epics = [r.metrics["epic"].value for r in rows]
    assert epics == sorted(epics)
    emb = embed_dataset(tiny_embedder, sweep_ds)
    for row in rows:
        expected = evaluate_rewards(
            GoalBaselineReward.from_prompts(tiny_embedder, row.pair.goal,
                                            row.pair.baseline)(emb).numpy(), ref,
            n_boot=0)
        assert row.metrics["epic"].value == pytest.approx(expected["epic"].value, abs=1e-6)
    by_auc = compare_prompts(tiny_embedder, sweep_ds, ref, pairs, rank_by="roc_auc", n_boot=0)
    aucs = [r.metrics["roc_auc"].value for r in by_auc]
    assert aucs == sorted(aucs, reverse=True)
    path = write_prompts_report(rows, tmp_path, settings={"model": "tiny"}, reference=ref,
                                rank_by="epic", command="vlm-reward eval prompts DS")
    assert "vlm-reward eval prompts DS" in path.read_text()
    assert (tmp_path / "prompts.png").is_file()


def test_prompt_errors(tiny_embedder, sweep_ds) -> None:
    assert parse_prompt_pair(" a | b ") == PromptPair("a", "b")
    assert parse_prompt_pair("just a goal") == PromptPair("just a goal")
    with pytest.raises(ConfigError, match="empty"):
        parse_prompt_pair("goal |")
    ref = resolve_reference(sweep_ds, "success")
    with pytest.raises(ConfigError, match="needs a baseline"):
        compare_prompts(tiny_embedder, sweep_ds, ref, [PromptPair("g")], alpha=0.5)
    with pytest.raises(ConfigError, match="rank-by"):
        compare_prompts(tiny_embedder, sweep_ds, ref, [PromptPair("g")], rank_by="accuracy")
    cont = resolve_reference(sweep_ds, "state:theta")
    assert not cont.binary
    with pytest.raises(ConfigError, match="ROC AUC needs binary"):
        compare_prompts(tiny_embedder, sweep_ds, cont, [PromptPair("g")], rank_by="roc_auc")
    with pytest.raises(ConfigError, match="no state variable"):
        resolve_reference(sweep_ds, "state:speed")
