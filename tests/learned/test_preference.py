from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from vlm_reward.config import LearnedConfig
from vlm_reward.errors import CheckpointError, ConfigError
from vlm_reward.evaluation.metrics import spearman
from vlm_reward.learned.preference import (
    ContrastiveJudge,
    PairJudge,
    PairLabels,
    PreferenceReward,
)
from vlm_reward.reward.model import Steps


class BrightnessVLM:
    """A VLM stand-in whose reward is a frame's mean brightness (a known ranking)."""

    def __init__(self) -> None:
        self.frames_scored = 0

    def rewards(self, frames: np.ndarray) -> np.ndarray:
        self.frames_scored += len(frames)
        return frames.reshape(len(frames), -1).mean(axis=1).astype(np.float32) / 255.0


class RecordingJudge(PairJudge):
    """Wraps a judge and keeps every clip it was shown."""

    def __init__(self, inner: PairJudge) -> None:
        self.inner = inner
        self.calls: list[tuple[np.ndarray, np.ndarray]] = []

    def compare(self, clips_a: np.ndarray, clips_b: np.ndarray) -> PairLabels:
        self.calls.append((clips_a.copy(), clips_b.copy()))
        return self.inner.compare(clips_a, clips_b)


def _cfg(**kw: object) -> LearnedConfig:
    base = dict(kind="preference", inputs="frames", frame_size=8, ensemble=3, hidden=16,
                warmup_steps=0, update_every=100, pairs_per_update=50, pair_budget=400,
                gradient_steps=60, batch_size=32, learning_rate=3e-3, holdout_fraction=0.2,
                segment=1)
    base.update(kw)
    return LearnedConfig(**base)


def _frames(brightness: np.ndarray, size: int = 16) -> np.ndarray:
    """Flat grey frames of the given brightness (0-255), with a little pixel noise."""
    rng = np.random.default_rng(int(brightness.sum()) % 1000)
    noise = rng.integers(-3, 4, (len(brightness), size, size, 3))
    return np.clip(brightness[:, None, None, None] + noise, 0, 255).astype(np.uint8)


def _run(model: PreferenceReward, steps: int, batch: int = 50, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    done = 0
    while done < steps:
        level = rng.uniform(0, 255, batch)
        frames = _frames(level)
        obs = np.stack([level / 255.0, rng.normal(size=batch)], axis=1).astype(np.float32)
        done += batch
        model.rewards(frames, obs, done)
        model.maybe_update(done)


@pytest.mark.parametrize("inputs", ["frames", "observation"])
def test_bradley_terry_learns_the_judges_ranking(inputs: str) -> None:
    vlm = BrightnessVLM()
    cfg = _cfg(inputs=inputs)
    model = PreferenceReward(cfg, vlm, seed=0,  # type: ignore[arg-type]
                             observation_shape=(2,) if inputs == "observation" else None)
    _run(model, 800)
    assert model.updates >= 5
    level = np.linspace(0, 255, 40)
    obs = np.stack([level / 255.0, np.zeros(40)], axis=1).astype(np.float32)
    learned = model.predict(model.inputs(_frames(level), obs))
    assert spearman(learned, level) > 0.95
    m = model.metrics()
    assert m["learned_accuracy"] > 0.9
    assert m["learned_pearson"] > 0.9 and m["learned_epic"] < 0.25
    assert np.isfinite(m["learned_loss"])
    # the agent sees a standardised reward: about zero mean, unit spread on labelled steps
    assert abs(float(np.mean(model.predict(model.store_a.reshape(-1, *model.input_shape))))) < 0.5


def test_contrastive_judge_margin_rule() -> None:
    judge = ContrastiveJudge(BrightnessVLM(), margin=0.1)  # type: ignore[arg-type]
    a = np.array([[0.5, 0.0], [0.5, 0.0], [0.5, 0.0], [0.5, 0.0]])
    b = np.array([[0.55, 0.0], [0.7, 0.0], [0.3, 0.0], [0.6, 0.0]])
    assert judge.labels(a, b).tolist() == [0.5, 1.0, 0.0, 0.5]  # |diff| <= margin: no preference
    assert ContrastiveJudge(BrightnessVLM(), margin=0.0).labels(a[:1], a[:1]).tolist() == [0.5]
    mean_judge = ContrastiveJudge(BrightnessVLM(), margin=0.1, reduce="mean")  # type: ignore[arg-type]
    assert mean_judge.labels(a[1:2], b[1:2]).tolist() == [0.5]  # mean diff 0.1 is within
    with pytest.raises(ConfigError, match="margin"):
        ContrastiveJudge(BrightnessVLM(), margin=-1.0)  # type: ignore[arg-type]


def test_contrastive_judge_scores_both_clips_with_the_vlm() -> None:
    vlm = BrightnessVLM()
    judge = ContrastiveJudge(vlm, margin=5 / 255)  # type: ignore[arg-type]
    clips_a = _frames(np.array([10.0, 100, 100, 200, 50, 50])).reshape(3, 2, 16, 16, 3)
    clips_b = _frames(np.array([20.0, 20, 103, 100, 60, 60])).reshape(3, 2, 16, 16, 3)
    answer = judge.compare(clips_a, clips_b)
    assert vlm.frames_scored == 12
    assert answer.scores_a is not None and answer.scores_a.shape == (3, 2)
    # sums: a = 110, 300, 100 (/255); b = 40, 203, 120: a, a, b preferred
    assert answer.labels.tolist() == [0.0, 0.0, 1.0]


def test_the_pair_budget_is_never_exceeded_and_the_vlm_sees_only_pair_frames() -> None:
    vlm = BrightnessVLM()
    judge = RecordingJudge(ContrastiveJudge(vlm))  # type: ignore[arg-type]
    cfg = _cfg(pair_budget=70, pairs_per_update=30, segment=2, gradient_steps=5,
               update_every=200)
    model = PreferenceReward(cfg, vlm, seed=1, judge=judge)  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    for k in range(1, 11):
        level = rng.uniform(0, 255, 200)
        model.rewards(_frames(level), None, 200 * k,
                      steps=Steps(np.zeros(200, int), np.zeros(200, bool), np.zeros(200, bool)))
        model.maybe_update(200 * k)
        assert model.pairs_labelled <= 70
    sizes = [len(a) for a, _ in judge.calls]
    assert sizes == [30, 30, 10]  # at most pairs_per_update per round, the budget in all
    assert model.pairs_labelled == 70
    assert vlm.frames_scored == model.vlm_frames == 70 * 2 * 2
    m = model.metrics()
    assert m["vlm_queries"] == 280 and m["pair_labels"] == 70
    assert m["vlm_queries_per_step"] == pytest.approx(280 / 2000)
    assert len(model.pool) == 0  # a spent budget pools no more frames
    assert model.maybe_update(5000) is False


def test_clips_stay_within_one_stream_and_one_episode() -> None:
    """Frames carry (stream, episode, t) in their pixels; every clip the judge sees must be
    consecutive steps of one episode of one stream."""
    judge = RecordingJudge(ContrastiveJudge(BrightnessVLM()))  # type: ignore[arg-type]
    cfg = _cfg(segment=3, pairs_per_update=40, pair_budget=200, update_every=60,
               gradient_steps=2)
    model = PreferenceReward(cfg, BrightnessVLM(), seed=0, judge=judge)  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    n_envs, t_now = 3, np.zeros(3, int)
    episode = np.zeros(3, int)
    env_steps = 0
    for _ in range(60):  # calls of 2 steps per env, interleaved as (T, n_envs) flattened
        frames, streams, starts = [], [], []
        for _t in range(2):
            for env in range(n_envs):
                start = bool(rng.random() < 0.15) or env_steps == 0
                if start:
                    episode[env] += 1
                    t_now[env] = 0
                frame = np.zeros((4, 4, 3), np.uint8)
                frame[..., 0], frame[..., 1], frame[..., 2] = env, episode[env], t_now[env]
                t_now[env] += 1
                frames.append(frame)
                streams.append(env)
                starts.append(start)
        env_steps += 2 * n_envs
        n = len(frames)
        model.rewards(np.stack(frames), None, env_steps,
                      steps=Steps(np.array(streams), np.array(starts), np.zeros(n, bool)))
        model.maybe_update(env_steps)
    clips = [c for a, b in judge.calls for c in (*a, *b)]
    assert len(clips) >= 40
    for clip in clips:
        px = clip[:, 0, 0].astype(int)  # (segment, 3): stream, episode, t
        assert len(set(px[:, 0])) == 1 and len(set(px[:, 1])) == 1
        assert np.array_equal(np.diff(px[:, 2]), [1, 1])


def test_segments_need_stream_information() -> None:
    model = PreferenceReward(_cfg(segment=2), BrightnessVLM(), seed=0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="segment"):
        model.rewards(_frames(np.full(4, 9.0)), None, 4)


def test_disagreement_picks_the_pairs_the_members_disagree_on() -> None:
    cfg = _cfg(strategy="disagreement", uniform_share=0.0, pairs_per_update=10)
    model = PreferenceReward(cfg, BrightnessVLM(), seed=0)  # type: ignore[arg-type]
    _run(model, 200)
    assert model.updates >= 1
    model.rewards(_frames(np.random.default_rng(5).uniform(0, 255, 200)), None, 400)
    pool_inputs = np.stack(model.pool.inputs)[:, 0]
    state = model.rng.bit_generator.state
    chosen = model._choose_pairs(10)
    model.rng.bit_generator.state = state  # the same candidate pairing, all of it
    all_pairs = model.rng.permutation(len(pool_inputs))[: len(pool_inputs) // 2 * 2].reshape(-1, 2)
    with torch.no_grad():
        r = model.net(torch.from_numpy(pool_inputs))
    spread = torch.sigmoid(r[:, all_pairs[:, 1]] - r[:, all_pairs[:, 0]]).std(dim=0).numpy()
    chosen_spread = np.sort(spread[[np.flatnonzero((all_pairs == p).all(1))[0] for p in chosen]])
    assert np.allclose(chosen_spread, np.sort(spread)[-10:])


def test_state_round_trip_resumes_exactly() -> None:
    cfg = _cfg(inputs="observation", update_every=100)
    model = PreferenceReward(cfg, BrightnessVLM(), seed=3, observation_shape=(2,))  # type: ignore[arg-type]
    _run(model, 300)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)  # loads without running pickled code
    resumed = PreferenceReward(cfg, BrightnessVLM(), seed=99, observation_shape=(2,))  # type: ignore[arg-type]
    resumed.load_state_dict(state)
    probe = model.inputs(None, np.random.default_rng(1).normal(size=(20, 2)).astype(np.float32))
    assert np.array_equal(resumed.predict(probe), model.predict(probe))
    assert resumed.metrics() == model.metrics()
    # both continue identically on the same new steps (optimiser, labels and RNG restored)
    _run(model, 300, seed=7)
    _run(resumed, 300, seed=7)
    assert model.pairs_labelled == resumed.pairs_labelled
    assert np.allclose(resumed.predict(probe), model.predict(probe), atol=1e-5)


def test_untrained_model_gives_zero_and_bad_state_is_a_clear_error() -> None:
    model = PreferenceReward(_cfg(warmup_steps=1000), BrightnessVLM(), seed=0)  # type: ignore[arg-type]
    rewards = model.rewards(_frames(np.full(5, 100.0)), None, 5)
    assert rewards.dtype == np.float32 and np.array_equal(rewards, np.zeros(5, np.float32))
    assert model.maybe_update(5) is False  # before warmup_steps nothing is compared
    other = PreferenceReward(_cfg(frame_size=16), BrightnessVLM(), seed=0)  # type: ignore[arg-type]
    with pytest.raises(CheckpointError, match=r"reward\.learned"):
        model.load_state_dict(other.state_dict())
