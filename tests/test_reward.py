from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis.extra.numpy import arrays

from vlm_reward.errors import ConfigError
from vlm_reward.reward import GoalBaselineReward, RewardModel, goal_baseline_reward, mean_direction

DIM = 8
finite = st.floats(-10, 10, allow_nan=False, width=32)
vectors = arrays(np.float32, (DIM,), elements=finite).filter(lambda v: np.linalg.norm(v) > 1e-2)
batches = arrays(np.float32, (5, DIM), elements=finite).filter(
    lambda m: bool((np.linalg.norm(m, axis=1) > 1e-2).all())
)


def unit(x: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy(np.asarray(x, dtype=np.float32))
    return t / t.norm(dim=-1, keepdim=True)


@settings(max_examples=60, deadline=None)
@given(states=batches, goal=vectors, baseline=vectors)
def test_alpha_zero_is_cosine_similarity(states, goal, baseline):
    r = goal_baseline_reward(torch.from_numpy(states), torch.from_numpy(goal),
                             torch.from_numpy(baseline), alpha=0.0)
    cos = unit(states) @ unit(goal)
    assert torch.allclose(r, cos, atol=1e-5)


@settings(max_examples=60, deadline=None)
@given(states=batches, goal=vectors, baseline=vectors, alpha=st.floats(0, 1))
def test_reward_of_goal_is_one(states, goal, baseline, alpha):
    g, b = unit(goal), unit(baseline)
    if (g - b).norm() < 1e-3:
        return
    r = goal_baseline_reward(g.unsqueeze(0), g, b, alpha)
    assert r.item() == pytest.approx(1.0, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(states=batches, goal=vectors, baseline=vectors,
       scale=st.floats(0.1, 50), alpha=st.floats(0, 1))
def test_invariant_to_input_scaling(states, goal, baseline, scale, alpha):
    g, b = unit(goal), unit(baseline)
    if (g - b).norm() < 1e-3:
        return
    s = torch.from_numpy(states)
    r1 = goal_baseline_reward(s, g, b, alpha)
    r2 = goal_baseline_reward(s * scale, g * scale * 2, b / scale, alpha)
    assert torch.allclose(r1, r2, atol=1e-4)


@settings(max_examples=60, deadline=None)
@given(states=batches, goal=vectors, baseline=vectors)
def test_alpha_one_keeps_only_component_along_direction(states, goal, baseline):
    g, b = unit(goal), unit(baseline)
    d = g - b
    if d.norm() < 1e-2:
        return
    s = unit(states)
    expected = 1 - 0.5 * (((s - g) @ d) / d.norm()) ** 2
    assert torch.allclose(goal_baseline_reward(s, g, b, 1.0), expected, atol=1e-5)


def test_alpha_one_ignores_orthogonal_directions_exactly():
    g = torch.tensor([1.0, 0.0, 0.0])
    b = torch.tensor([0.0, 1.0, 0.0])
    # Two unit states with equal projection on d = g - b but different orthogonal parts.
    s1 = torch.tensor([0.6, 0.0, 0.8])
    s2 = torch.tensor([0.6, 0.0, -0.8])
    r = goal_baseline_reward(torch.stack([s1, s2]), g, b, alpha=1.0)
    assert r[0] == pytest.approx(r[1].item())
    r0 = goal_baseline_reward(torch.stack([s1, s2]), g, b, alpha=0.0)
    assert r0.tolist() == pytest.approx([0.6, 0.6])


def test_hand_computed_value():
    # s = e2, g = e1, b = e3: d = (1, 0, -1), s - g = (-1, 1, 0), P(s-g) = (-1/2, 0, 1/2)
    s = torch.tensor([[0.0, 1.0, 0.0]])
    g = torch.tensor([1.0, 0.0, 0.0])
    b = torch.tensor([0.0, 0.0, 1.0])
    # alpha = 0.5: M v = 0.5 * (-0.5, 0, 0.5) + 0.5 * (-1, 1, 0) = (-0.75, 0.5, 0.25)
    expected = 1 - 0.5 * (0.75**2 + 0.5**2 + 0.25**2)
    assert goal_baseline_reward(s, g, b, 0.5).item() == pytest.approx(expected)


def test_mean_direction_averages_unit_vectors():
    e = torch.tensor([[10.0, 0.0], [0.0, 0.1]])
    assert torch.allclose(mean_direction(e), torch.tensor([1.0, 1.0]) / 2**0.5)


@pytest.mark.parametrize("alpha", [-0.1, 1.5])
def test_alpha_out_of_range_rejected(alpha):
    with pytest.raises(ConfigError, match="alpha"):
        GoalBaselineReward(torch.ones(3), torch.zeros(3) + 0.5, alpha)


def test_alpha_needs_baseline():
    with pytest.raises(ConfigError, match="baseline"):
        GoalBaselineReward(torch.ones(3), None, 0.5)


def test_identical_goal_and_baseline_rejected():
    with pytest.raises(ConfigError, match="same vector"):
        goal_baseline_reward(torch.ones(1, 3), torch.ones(3), torch.ones(3) * 2, 0.5)


def test_with_alpha_reuses_embeddings(tiny_embedder):
    rm = RewardModel.from_prompts(tiny_embedder, ["a cart", "a pole"], "a scene", alpha=0.0)
    n_cached = len(tiny_embedder._text_cache)
    other = rm.reward.with_alpha(1.0)
    assert len(tiny_embedder._text_cache) == n_cached
    assert torch.equal(other.goal, rm.reward.goal)
    frames = np.random.default_rng(0).integers(0, 255, (4, 40, 60, 3), dtype=np.uint8)
    emb = rm.embed(frames)
    assert rm.rewards(frames) == pytest.approx((emb @ rm.reward.goal).numpy(), abs=1e-5)
