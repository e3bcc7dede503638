"""Distillation: the query rule, that the student learns the VLM's signal, and its state."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vlm_reward.config import LearnedConfig
from vlm_reward.errors import CheckpointError, ConfigError
from vlm_reward.learned import build_learned_reward, load_learned_reward
from vlm_reward.learned.distill import DistillReward, LabelStore, choose_queries, plan_queries


class BarVLM:
    """Stands in for a RewardModel: the reward is where a bright bar sits (left = high)."""

    def __init__(self) -> None:
        self.frames = 0

    def rewards(self, frames: np.ndarray) -> np.ndarray:
        self.frames += len(frames)
        column = frames.astype(np.float32).mean(axis=(1, 3))  # (N, W) brightness per column
        width = frames.shape[2]
        return (1.0 - column.argmax(axis=1) / width).astype(np.float32)


def bar_frames(n: int, rng: np.random.Generator, width: int = 48) -> np.ndarray:
    frames = np.zeros((n, 32, width, 3), np.uint8)
    for i, x in enumerate(rng.integers(0, width - 6, n)):
        frames[i, :, x:x + 6] = 255
    return frames


def cfg(**kw) -> LearnedConfig:
    return LearnedConfig(**{"kind": "distill", **kw})


# -- the query rule -------------------------------------------------------------------------------

def test_untrained_student_asks_the_vlm_about_every_step() -> None:
    plan = plan_queries(100, seen=5000, trained=False, cfg=cfg(warmup_steps=0), credit=0.0,
                        spent=0)
    assert (plan.warm, plan.rule) == (100, 0)


def test_warm_up_labels_the_first_steps_of_a_straddling_batch_then_the_fraction() -> None:
    plan = plan_queries(100, seen=960, trained=True,
                        cfg=cfg(warmup_steps=1000, query_fraction=0.25), credit=0.0, spent=0)
    assert plan.warm == 40 and plan.rule == 15  # 40 warm-up steps, then 25 % of 60


@pytest.mark.parametrize("batch", [1, 7, 256])
def test_batches_of_any_size_add_up_to_the_query_fraction(batch: int) -> None:
    c, credit, total = cfg(warmup_steps=0, query_fraction=0.13), 0.0, 0
    for _ in range(2000 // batch):
        plan = plan_queries(batch, seen=10**6, trained=True, cfg=c, credit=credit, spent=0)
        credit, total = plan.credit, total + plan.rule
    steps = (2000 // batch) * batch
    assert abs(total - 0.13 * steps) <= 1


def test_query_budget_caps_all_labels() -> None:
    c = cfg(warmup_steps=10, query_fraction=0.5, query_budget=30)
    plan = plan_queries(100, seen=0, trained=True, cfg=c, credit=0.0, spent=25)
    assert plan.warm + plan.rule == 5
    assert plan_queries(100, 0, True, c, 0.0, spent=30).rule == 0


def test_disagreement_picks_the_largest_spread() -> None:
    rng = np.random.default_rng(0)
    spread = rng.random(200)
    mask = choose_queries(spread, 20, 0.0, "disagreement", rng)
    assert mask.sum() == 20
    assert set(np.flatnonzero(mask)) == set(np.argsort(spread)[-20:])


def test_uniform_share_is_drawn_at_random_and_the_rest_by_spread() -> None:
    rng = np.random.default_rng(1)
    spread = np.linspace(0.0, 1.0, 1000)  # step i has rank i
    mask = choose_queries(spread, 40, 0.25, "disagreement", rng)
    chosen = np.flatnonzero(mask)
    assert len(chosen) == 40
    assert set(range(970, 1000)) <= set(chosen)  # the 30 most uncertain
    assert (chosen < 970).sum() == 10  # exactly the uniform share outside them


def test_strategy_uniform_ignores_the_spread() -> None:
    spread = np.linspace(0.0, 1.0, 1000)
    picks = [np.flatnonzero(choose_queries(spread, 50, 0.0, "uniform",
                                           np.random.default_rng(s))) for s in range(5)]
    assert all(len(p) == 50 for p in picks)
    assert 300 < np.mean(np.concatenate(picks)) < 700  # spread out, not the top 50


def test_label_store_keeps_the_newest() -> None:
    store = LabelStore(5, (2,), np.float32)
    for start in range(0, 12, 3):
        labels = np.arange(start, start + 3, dtype=np.float32)
        store.add(np.repeat(labels[:, None], 2, axis=1), labels)
    assert len(store) == 5 and sorted(store.labels) == [7, 8, 9, 10, 11]
    assert (store.inputs[:, 0] == store.labels).all()


# -- learning ----------------------------------------------------------------------------------

def run_stream(student: DistillReward, rng: np.random.Generator, batches: int,
               batch: int = 128) -> list[np.ndarray]:
    out, steps = [], student.seen
    for _ in range(batches):
        frames = bar_frames(batch, rng)
        steps += batch
        out.append(student.rewards(frames, None, steps))
        student.maybe_update(steps)
    return out


def fast_cfg(**kw) -> LearnedConfig:
    return cfg(**{"frame_size": 12, "hidden": 32, "ensemble": 3, "warmup_steps": 256,
                  "update_every": 256, "gradient_steps": 40, "batch_size": 64,
                  "learning_rate": 3e-3, "query_fraction": 0.1, "holdout_fraction": 0.2, **kw})


def test_student_learns_the_vlm_signal_with_a_fraction_of_the_labels() -> None:
    vlm = BarVLM()
    student = DistillReward(fast_cfg(), vlm, seed=0)  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    run_stream(student, rng, batches=10)
    m = student.metrics()
    assert m["vlm_queries"] == vlm.frames
    assert m["vlm_queries"] == 256 + 102  # the warm-up, then 10 % of the other 1024 steps
    assert m["learned_pearson"] > 0.9 and m["learned_epic"] < 0.25
    fresh = bar_frames(300, np.random.default_rng(99))
    agreement = np.corrcoef(student.score_frames(fresh), BarVLM().rewards(fresh))[0, 1]
    assert agreement > 0.9


def test_queried_steps_get_the_vlm_label_and_others_the_student_mean() -> None:
    vlm = BarVLM()
    student = DistillReward(fast_cfg(), vlm, seed=0)  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    run_stream(student, rng, batches=3)
    frames = bar_frames(128, rng)
    rewards = student.rewards(frames, None, 512)
    queried = student.queried()
    assert queried is not None and 0 < queried.sum() < 128
    np.testing.assert_allclose(rewards[queried], BarVLM().rewards(frames[queried]))
    inputs = student.inputs(frames, None)
    np.testing.assert_allclose(rewards[~queried], student.predict(inputs[~queried]), atol=1e-5)


def test_saved_student_scores_without_the_vlm_and_resumes_identically(tmp_path: Path) -> None:
    a = DistillReward(fast_cfg(), BarVLM(), seed=3)  # type: ignore[arg-type]
    run_stream(a, np.random.default_rng(0), batches=4)
    a.save(tmp_path / "student.pt")
    rest = np.random.default_rng(5)
    expected = run_stream(a, rest, batches=3)

    loaded = load_learned_reward(tmp_path / "student.pt")
    frames = bar_frames(10, np.random.default_rng(7))
    assert loaded.vlm is None and loaded.score_frames(frames).shape == (10,)
    with pytest.raises(ConfigError, match="scoring only"):
        loaded.rewards(frames, None, 10**6)

    resumed = load_learned_reward(tmp_path / "student.pt", vlm=BarVLM())  # type: ignore[arg-type]
    got = run_stream(resumed, np.random.default_rng(5), batches=3)
    for x, y in zip(expected, got, strict=True):
        np.testing.assert_allclose(x, y, atol=1e-6)  # same picks, same updates
    assert resumed.metrics() == a.metrics()


def test_observation_inputs_need_a_box_space() -> None:
    from gymnasium import spaces

    from vlm_reward.config import RewardConfig

    reward = RewardConfig(model="demo", goal="a pole upright",
                          learned={"kind": "distill", "inputs": "observation"})
    with pytest.raises(ConfigError, match="Box"):
        build_learned_reward(reward, None, 0, spaces.Discrete(3))
    student = build_learned_reward(reward, None, 0, spaces.Box(-1, 1, (2, 3)))
    assert student.input_shape == (6,)
    with pytest.raises(ConfigError, match="cannot score frames"):
        student.score_frames(np.zeros((1, 8, 8, 3), np.uint8))


def test_damaged_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "learned_reward.pt"
    bad.write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="does not load"):
        load_learned_reward(bad)
    with pytest.raises(ConfigError, match="without a learned reward"):
        load_learned_reward(tmp_path / "..")
