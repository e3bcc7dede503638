"""Each reward family against an independent numpy computation of its formula (1e-5)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vlm_reward.errors import ConfigError, PromptError
from vlm_reward.reward import (
    EpisodeReward,
    GoalBaselineReward,
    NegativesReward,
    RewardMix,
    RewardModel,
    Steps,
    WindowReward,
    mix_goals,
)

D = 16
RNG = np.random.default_rng(0)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _episodes(lengths: list[int]) -> tuple[np.ndarray, np.ndarray]:
    starts = np.concatenate([[True] + [False] * (n - 1) for n in lengths])
    ends = np.concatenate([[False] * (n - 1) + [True] for n in lengths])
    return starts, ends


def _t(x: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.asarray(x))


@pytest.mark.parametrize("subtract_chance", [False, True])
@pytest.mark.parametrize("tau", [1.0, 100.0])
def test_negatives_is_the_softmax_probability_of_the_goal(tau, subtract_chance):
    s, g, neg = RNG.normal(size=(7, D)), RNG.normal(size=D), RNG.normal(size=(3, D))
    sims = _unit(s) @ np.concatenate([_unit(g)[None], _unit(neg)]).T  # (7, 4) cosines
    logits = tau * sims
    p = np.exp(logits[:, 0] - logits.max(1)) / np.exp(logits - logits.max(1, keepdims=True)).sum(1)
    expected = np.maximum(p - 1 / 4, 0) if subtract_chance else p
    got = NegativesReward(_t(g).float(), _t(neg).float(), tau, subtract_chance).score(_t(s).float())
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-5)


def test_negatives_needs_a_negative_and_a_positive_temperature():
    g = torch.ones(D)
    with pytest.raises(PromptError, match="negative"):
        NegativesReward(g, torch.zeros(0, D), 100.0)
    with pytest.raises(ConfigError, match="temperature"):
        NegativesReward(g, torch.ones(1, D), 0.0)


def _window_expected(s, g, starts, k):
    units, out, begin = _unit(s), [], 0
    for t in range(len(s)):
        if starts[t]:
            begin = t
        lo = max(begin, t - k + 1)  # no padding: fewer frames at the episode start
        out.append(_unit(units[lo:t + 1].mean(0)) @ _unit(g))
    return np.array(out)


@pytest.mark.parametrize("k", [1, 3, 8])
def test_window_mean_of_the_last_k_frames_of_the_episode(k):
    s, g = RNG.normal(size=(20, D)), RNG.normal(size=D)
    starts, ends = _episodes([6, 9, 5])
    reward = WindowReward(GoalBaselineReward(_t(g).float()), window=k)
    got, _ = reward.stream(_t(s).float(), _t(starts), _t(ends), reward.new_state())
    np.testing.assert_allclose(got.numpy(), _window_expected(s, g, starts, k), atol=1e-5)
    # at each episode start the window holds that frame alone
    first = np.flatnonzero(starts)
    np.testing.assert_allclose(got.numpy()[first], _unit(s[first]) @ _unit(g), atol=1e-5)


def test_window_carries_its_context_across_batches():
    s, g = RNG.normal(size=(20, D)), RNG.normal(size=D)
    starts, ends = _episodes([6, 9, 5])
    reward = WindowReward(GoalBaselineReward(_t(g).float()), window=4)
    whole, _ = reward.stream(_t(s).float(), _t(starts), _t(ends), reward.new_state())
    state, parts = reward.new_state(), []
    for lo, hi in [(0, 2), (2, 8), (8, 9), (9, 20)]:  # cuts inside episodes
        part, state = reward.stream(_t(s[lo:hi]).float(), _t(starts[lo:hi]), _t(ends[lo:hi]),
                                    state)
        parts.append(part)
    np.testing.assert_allclose(torch.cat(parts).numpy(), whole.numpy(), atol=1e-6)


@pytest.mark.parametrize("stride", [1, 4])
def test_episode_reward_scores_the_clip_at_the_last_step_only(stride):
    s, g = RNG.normal(size=(17, D)), RNG.normal(size=D)
    lengths = [7, 10]
    starts, ends = _episodes(lengths)
    expected, begin = np.zeros(17), 0
    for n in lengths:
        clip = _unit(s[begin:begin + n])[::stride]  # every stride-th frame from the first
        expected[begin + n - 1] = _unit(clip.sum(0)) @ _unit(g)
        begin += n
    reward = EpisodeReward(GoalBaselineReward(_t(g).float()), stride=stride)
    state, parts = reward.new_state(), []
    for lo, hi in [(0, 3), (3, 12), (12, 17)]:
        part, state = reward.stream(_t(s[lo:hi]).float(), _t(starts[lo:hi]), _t(ends[lo:hi]),
                                    state)
        parts.append(part)
    np.testing.assert_allclose(torch.cat(parts).numpy(), expected, atol=1e-5)


def test_temporal_families_wrap_only_per_frame_rewards():
    inner = GoalBaselineReward(torch.ones(D))
    with pytest.raises(ConfigError, match="per-frame"):
        WindowReward(WindowReward(inner, 2), 2)
    with pytest.raises(ConfigError, match="window"):
        WindowReward(inner, 0)


def test_mix_goals_weights_unit_image_and_text_goals():
    text, image = RNG.normal(size=(2, D)), RNG.normal(size=(3, D))
    w = 0.3
    expected = _unit(w * _unit(_unit(image).mean(0)) + (1 - w) * _unit(_unit(text).mean(0)))
    got = mix_goals(_t(text).float(), _t(image).float(), w)
    np.testing.assert_allclose(got.numpy(), expected, atol=1e-6)
    np.testing.assert_allclose(mix_goals(None, _t(image).float(), 1.0).numpy(),
                               _unit(_unit(image).mean(0)), atol=1e-6)
    with pytest.raises(ConfigError, match="goal"):
        mix_goals(None, None, 0.5)


def test_potential_shaping_is_gamma_phi_next_minus_phi_with_zero_ends():
    v = RNG.normal(size=9)
    starts, _ = _episodes([4, 5])
    terminals = np.zeros(9, bool)
    terminals[3] = True  # the first episode terminates; the second is truncated
    gamma = 0.9
    phi_before = np.where(starts, 0.0, np.roll(v, 1))  # Phi(s_0) = 0
    phi_after = np.where(terminals, 0.0, v)  # absorbing state has potential 0
    expected = gamma * phi_after - phi_before
    mix = RewardMix(shaping_gamma=gamma)
    got, _ = mix.apply(v, None, starts, terminals, mix.new_state())
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # telescoping: the discounted shaped return of the terminated episode is -Phi(s_0) = 0
    discounts = gamma ** np.arange(4)
    assert abs(float((discounts * got[:4]).sum())) < 1e-5


def test_mix_normalises_with_running_statistics_and_adds_the_env_reward():
    mix = RewardMix(vlm_weight=0.5, env_weight=2.0, normalize=True)
    a, b = RNG.normal(3.0, 2.0, size=50), RNG.normal(3.0, 2.0, size=30)
    env = RNG.normal(size=30)
    mix.apply(a, np.zeros(50), np.zeros(50, bool), np.zeros(50, bool), None)
    got, _ = mix.apply(b, env, np.zeros(30, bool), np.zeros(30, bool), None)
    seen = np.concatenate([a, b])
    expected = 0.5 * (b - seen.mean()) / np.sqrt(seen.var() + 1e-8) + 2.0 * env
    np.testing.assert_allclose(got, expected, atol=1e-3)  # RunningMeanStd starts from 1e-4


def test_reward_model_streams_interleaved_envs_like_separate_streams(tiny_embedder):
    g = RNG.normal(size=tiny_embedder.embed_dim)
    family = WindowReward(GoalBaselineReward(_t(g).float()), window=3)
    rm = RewardModel(tiny_embedder, family)
    emb = torch.from_numpy(RNG.normal(size=(12, tiny_embedder.embed_dim))).float()
    streams = np.array([0, 1] * 6)
    starts = np.array([True, True] + [False] * 10)
    ends = np.zeros(12, bool)
    got = rm.step_rewards_from_embeddings(emb, Steps(streams, starts, ends))
    for env in (0, 1):
        idx = np.flatnonzero(streams == env)
        alone, _ = family.stream(emb[idx], _t(starts[idx]), _t(ends[idx]), family.new_state())
        np.testing.assert_allclose(got[idx], alone.numpy(), atol=1e-6)
    assert rm.needs_steps


def test_default_reward_model_is_vlm_rm_exactly(tiny_embedder):
    frames = RNG.integers(0, 255, size=(4, 32, 32, 3), dtype=np.uint8)
    rm = RewardModel.from_prompts(tiny_embedder, "a pole upright", "a pole", alpha=0.5)
    assert not rm.needs_steps
    steps = Steps(np.zeros(4, int), np.array([1, 0, 0, 0], bool), np.zeros(4, bool))
    np.testing.assert_array_equal(rm.step_rewards(frames, steps), rm.rewards(frames))
