"""The bundled demo model: loads through the public loader; held-out reward shapes hold."""

import numpy as np
import pytest

from vlm_reward.demo.captions import HELDOUT_PROMPTS
from vlm_reward.demo.heldout import (
    PEAK_CART_POSITIONS,
    cartpole_angle_sweep,
    cartpole_peak_angles,
    cartpole_position_sweep,
    mountaincar_position_sweep,
    retrieval_accuracy,
)


@pytest.fixture(scope="module")
def demo_embedder():
    from vlm_reward import load_model

    return load_model("demo", device="cpu", precision="fp32")


def test_demo_loads_through_public_loader_with_trained_weights(demo_embedder):
    assert not demo_embedder.is_random
    emb = demo_embedder.encode_text(["the pole is upright"])
    assert emb.shape == (1, demo_embedder.embed_dim)


@pytest.mark.parametrize("prompt", HELDOUT_PROMPTS["cartpole_goal"])
def test_cartpole_reward_peaks_at_upright(demo_embedder, prompt):
    angles, r = cartpole_angle_sweep(demo_embedder, [prompt], n=37)
    assert abs(angles[np.argmax(r)]) < 0.2  # within one 10-degree grid step of upright
    assert np.corrcoef(np.abs(angles), r)[0, 1] < -0.8
    upright, fallen = r[np.abs(angles) < 0.1].mean(), r[np.abs(np.abs(angles) - np.pi / 2) < 0.1]
    assert upright - fallen.mean() > 0.3


def test_cartpole_reward_peaks_within_5_degrees_of_upright_wherever_the_cart_is(demo_embedder):
    peaks = cartpole_peak_angles(demo_embedder, HELDOUT_PROMPTS["cartpole_goal"][0])
    assert sorted(peaks) == sorted(PEAK_CART_POSITIONS)
    assert all(abs(deg) <= 5.0 for deg in peaks.values()), peaks


def test_cartpole_reward_ignores_where_the_cart_is(demo_embedder):
    prompt = [HELDOUT_PROMPTS["cartpole_goal"][0]]
    _, r_x = cartpole_position_sweep(demo_embedder, prompt)
    _, r_theta = cartpole_angle_sweep(demo_embedder, prompt, n=37)
    assert r_x.max() - r_x.min() < 0.25 * (r_theta.max() - r_theta.min())


def test_mountaincar_reward_rises_toward_flag(demo_embedder):
    pos, r = mountaincar_position_sweep(demo_embedder, HELDOUT_PROMPTS["mountaincar_goal"][:1],
                                        n=30)
    assert np.corrcoef(pos, r)[0, 1] > 0.5
    assert pos[np.argmax(r)] > 0.2


@pytest.fixture(scope="module")
def retrieval(demo_embedder):
    return retrieval_accuracy(demo_embedder, n_per_scene=120)


def test_heldout_mountaincar_retrieval_beats_chance(retrieval):
    r = retrieval
    assert r["mountaincar/frame_to_class_accuracy"] > r["mountaincar/chance_accuracy"] + 0.3


def test_heldout_cartpole_retrieval_beats_chance(retrieval):
    r = retrieval
    assert r["cartpole/frame_to_class_accuracy"] > r["cartpole/chance_accuracy"] + 0.1
