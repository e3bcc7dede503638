"""Every reward family through the evaluation tools: sweeps, model and prompt comparison.

Rewards are checked against an independent computation from the tiny model's embeddings.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tiny_models import save_tiny_open_clip
from vlm_reward import load_model
from vlm_reward.config import RewardConfig
from vlm_reward.errors import ConfigError, EnvError
from vlm_reward.evaluation.collect import sweep_dataset
from vlm_reward.evaluation.compare import PromptPair, compare_models, compare_prompts
from vlm_reward.evaluation.dataset import load_dataset
from vlm_reward.evaluation.metrics import epic_distance
from vlm_reward.evaluation.scoring import embed_dataset, resolve_reference
from vlm_reward.evaluation.sweeps import run_state_sweep, write_state_sweep_report

SIZE = {"width": 48, "height": 32}
GOAL = "a pole upright on a cart"
NEGATIVES = ["a pole lying flat", "an empty track"]


def _negatives_reward(emb: torch.Tensor, goal: torch.Tensor, negatives: torch.Tensor,
                      tau: float) -> np.ndarray:
    prompts = F.normalize(torch.cat([goal[None], negatives]).double(), dim=-1)
    logits = tau * (F.normalize(emb.double(), dim=-1) @ prompts.T)
    return (logits.exp()[:, 0] / logits.exp().sum(dim=1)).numpy()


@pytest.fixture(scope="module")
def sweep_ds(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("fam") / "sw"
    return sweep_dataset(out, "CartPole-v1", "theta", n=15, **SIZE)


def test_sweep_of_negatives_is_the_softmax_over_prompts(tiny_embedder, tmp_path: Path) -> None:
    cfg = RewardConfig(model="tiny", kind="negatives", goal=GOAL, negatives=NEGATIVES,
                       temperature=30.0)
    result = run_state_sweep(tiny_embedder, tmp_path, "CartPole-v1", "theta", reward=cfg,
                             n=9, n_boot=0, **SIZE)
    assert result.kind == "negatives" and result.curves == ["negatives"] and not result.alphas
    emb = tiny_embedder.encode_images(np.array(load_dataset(result.dataset).frames))
    expected = _negatives_reward(emb, tiny_embedder.encode_text([GOAL])[0],
                                 tiny_embedder.encode_text(NEGATIVES), 30.0)
    np.testing.assert_allclose(result.rewards[0], expected, atol=1e-5)
    assert result.to_dict()["kind"] == "negatives"
    html = write_state_sweep_report(result, tmp_path / "rep").read_text()
    assert "negatives" in html


@pytest.mark.parametrize("kind", ["window", "episode"])
def test_temporal_sweep_scores_each_state_as_a_one_frame_episode(
    tiny_embedder, tmp_path: Path, kind: str
) -> None:
    extra = {"window": 4} if kind == "window" else {"episode_stride": 2}
    cfg = RewardConfig(model="tiny", kind=kind, goal=GOAL, **extra)
    result = run_state_sweep(tiny_embedder, tmp_path, "CartPole-v1", "theta", reward=cfg,
                             n=7, n_boot=0, **SIZE)
    emb = tiny_embedder.encode_images(np.array(load_dataset(result.dataset).frames))
    goal = tiny_embedder.encode_text([GOAL])[0]
    np.testing.assert_allclose(result.rewards[0], (emb @ goal).numpy(), atol=1e-5)  # cosine
    html = write_state_sweep_report(result, tmp_path / "rep").read_text()
    assert "one-frame episode" in html


def test_sweep_with_a_goal_state_peaks_where_the_frame_is_the_goal(tiny_embedder,
                                                                   tmp_path: Path) -> None:
    pytest.importorskip("vlm_reward.envs")
    cfg = RewardConfig(model="tiny", goal_states=[{"theta": 0.0}])
    result = run_state_sweep(tiny_embedder, tmp_path, "vlm_reward/CartPole-v0", "theta",
                             reward=cfg, n=9, fix={"x": 0.0, "x_dot": 0.0, "theta_dot": 0.0},
                             n_boot=0, **SIZE)
    assert result.goal == [] and result.values[4] == 0.0
    assert result.rewards[0][4] == pytest.approx(1.0, abs=1e-5)  # the same picture
    assert int(np.argmax(result.rewards[0])) == 4


def test_sweep_alpha_curves_are_only_for_goal_baseline(tiny_embedder, tmp_path: Path) -> None:
    cfg = RewardConfig(model="tiny", kind="negatives", goal=GOAL, negatives=NEGATIVES)
    with pytest.raises(ConfigError, match=r"kind goal_baseline.*'negatives'"):
        run_state_sweep(tiny_embedder, tmp_path, "CartPole-v1", "theta", reward=cfg,
                        alphas=[0.0, 0.5], n=3, **SIZE)
    with pytest.raises(EnvError, match=r"goal_states.*set_state"):  # gym's CartPole has none
        run_state_sweep(tiny_embedder, tmp_path, "CartPole-v1", "theta",
                        reward=RewardConfig(model="tiny", goal_states=[{"theta": 0.0}]),
                        n=3, **SIZE)


def test_compare_models_rows_are_model_by_reward(tiny_clip_dir: Path, tmp_path: Path,
                                                 sweep_ds) -> None:
    other = str(save_tiny_open_clip(tmp_path / "other", seed=2))
    ref = resolve_reference(sweep_ds, "success")
    rewards = [RewardConfig(model="x", goal=GOAL),
               RewardConfig(model="x", kind="negatives", goal=GOAL, negatives=NEGATIVES,
                            temperature=20.0)]
    rows = compare_models([str(tiny_clip_dir), other], sweep_ds, ref, rewards,
                          labels=["vlm-rm", "neg"], n_boot=0,
                          load=lambda s: load_model(s, device="cpu", precision="fp32"))
    assert [(r.spec, r.reward) for r in rows] == [
        (str(tiny_clip_dir), "vlm-rm"), (str(tiny_clip_dir), "neg"), (other, "vlm-rm"),
        (other, "neg")]
    for row in rows:
        emb_model = load_model(row.spec, device="cpu", precision="fp32")
        emb = embed_dataset(emb_model, sweep_ds)
        goal = emb_model.encode_text([GOAL])[0]
        if row.reward == "neg":
            values = _negatives_reward(emb, goal, emb_model.encode_text(NEGATIVES), 20.0)
        else:
            values = (emb @ goal).numpy()
        assert row.metrics["epic"].value == pytest.approx(
            epic_distance(values[ref.index], ref.values), abs=1e-5)
    assert rows[0].to_dict()["reward"] == "vlm-rm"
    with pytest.raises(ConfigError, match="labels"):
        compare_models([other], sweep_ds, ref, rewards, labels=["one"])


def test_compare_prompts_puts_each_pair_into_the_family(tiny_embedder, sweep_ds) -> None:
    ref = resolve_reference(sweep_ds, "success")
    base = RewardConfig(model="tiny", kind="negatives", goal="replaced", negatives=NEGATIVES,
                        temperature=25.0)
    pairs = [PromptPair("pole upright"), PromptPair("pole balanced on a cart")]
    rows = compare_prompts(tiny_embedder, sweep_ds, ref, pairs, reward=base, n_boot=0)
    emb = embed_dataset(tiny_embedder, sweep_ds)
    negatives = tiny_embedder.encode_text(NEGATIVES)
    for row in rows:
        values = _negatives_reward(emb, tiny_embedder.encode_text([row.pair.goal])[0],
                                   negatives, 25.0)
        assert row.metrics["epic"].value == pytest.approx(
            epic_distance(values[ref.index], ref.values), abs=1e-5)
    with pytest.raises(ConfigError, match="reads no baseline"):
        compare_prompts(tiny_embedder, sweep_ds, ref, [PromptPair("up", "a cart")], reward=base)
    window = RewardConfig(model="tiny", kind="window", window=3, goal="g", alpha=0.5,
                          baseline="b")
    with pytest.raises(ConfigError, match=r"--pair 'up'.*baseline"):
        compare_prompts(tiny_embedder, sweep_ds, ref, [PromptPair("up")], reward=window)


def test_frame_rewards_rule_is_the_one_frame_episode(tiny_embedder) -> None:
    """The evaluation rule equals what a RewardModel gives frames as independent states, and a
    one-step episode of the temporal family."""
    from vlm_reward.evaluation.scoring import frame_rewards
    from vlm_reward.factory import build_frame_reward
    from vlm_reward.reward import RewardModel, Steps

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (5, 32, 48, 3), dtype=np.uint8)
    family = build_frame_reward(RewardConfig(model="tiny", kind="window", window=3, goal=GOAL),
                                tiny_embedder)
    emb = tiny_embedder.encode_images(frames)
    values = frame_rewards(family, emb)
    rm = RewardModel(tiny_embedder, family)
    n = len(frames)  # each frame its own one-step episode, one stream
    one_step = rm.step_rewards(frames, Steps(np.zeros(n, int), np.ones(n, bool),
                                             np.ones(n, bool)))
    np.testing.assert_allclose(values, one_step, atol=1e-6)
    np.testing.assert_allclose(values, rm.rewards(frames), atol=1e-6)
    assert not math.isclose(values[0], values[1])


@pytest.fixture(scope="module")
def rollouts(tmp_path_factory: pytest.TempPathFactory):
    from vlm_reward.evaluation.collect import collect_dataset

    out = tmp_path_factory.mktemp("fam") / "roll"
    return collect_dataset(out, "CartPole-v1", policies=("random",), episodes=3, max_steps=5,
                           **SIZE)


def test_rewards_along_episodes_follow_each_episode(tiny_embedder, rollouts) -> None:
    from vlm_reward.evaluation.scoring import at_episode_ends, episode_rewards
    from vlm_reward.factory import build_frame_reward

    emb = embed_dataset(tiny_embedder, rollouts)
    units = F.normalize(emb.double(), dim=-1)
    goal = F.normalize(tiny_embedder.encode_text([GOAL])[0].double(), dim=0)
    episodes = [np.flatnonzero(rollouts.episode == e) for e in np.unique(rollouts.episode)]
    assert len(episodes) == 3 and all(np.all(np.diff(rollouts.step[i]) == 1) for i in episodes)

    window = build_frame_reward(RewardConfig(model="t", kind="window", window=2, goal=GOAL),
                                tiny_embedder)
    got = episode_rewards(tiny_embedder, window, rollouts, emb)
    expected = np.empty(len(rollouts))
    for idx in episodes:
        for t, i in enumerate(idx):
            clip = units[idx[max(0, t - 1):t + 1]].mean(dim=0)
            expected[i] = float(F.normalize(clip, dim=0) @ goal)
    np.testing.assert_allclose(got, expected, atol=1e-5)

    episode = build_frame_reward(RewardConfig(model="t", kind="episode", episode_stride=2,
                                              goal=GOAL), tiny_embedder)
    got = episode_rewards(tiny_embedder, episode, rollouts, emb)
    ends = [idx[-1] for idx in episodes]
    for idx in episodes:
        clip = F.normalize(units[idx[::2]].mean(dim=0), dim=0)
        assert got[idx[-1]] == pytest.approx(float(clip @ goal), abs=1e-5)
    assert np.count_nonzero(got) == 3 and set(np.flatnonzero(got)) == set(ends)
    ref = at_episode_ends(rollouts, resolve_reference(rollouts, "env_reward"))
    assert sorted(ref.index.tolist()) == sorted(ends) and ref.name.endswith("episode ends")


def test_along_episodes_refuses_a_sweep(tiny_embedder, sweep_ds) -> None:
    from vlm_reward.evaluation.scoring import check_rollouts

    with pytest.raises(ConfigError, match="state sweep"):
        check_rollouts(sweep_ds)
