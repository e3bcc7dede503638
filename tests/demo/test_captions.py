import numpy as np
import pytest

from vlm_reward.demo.captions import (
    HELDOUT_PROMPTS,
    all_training_captions,
    car_class,
    cartpole_caption,
    pole_class,
)


def test_heldout_prompts_never_used_verbatim_in_training():
    training = {c.lower().rstrip(".") for c in all_training_captions()}
    for prompts in HELDOUT_PROMPTS.values():
        for p in prompts:
            assert p.lower().rstrip(".") not in training


@pytest.mark.parametrize(
    ("theta", "cls"),
    [(0.0, "upright"), (0.3, "lean_right"), (-0.3, "lean_left"), (1.5, "fallen_right"),
     (-1.5, "fallen_left"), (3.1, "down"), (2 * np.pi + 0.05, "upright")],
)
def test_pole_class_follows_angle_sign_and_wraps(theta, cls):
    assert pole_class(theta) == cls


def test_car_class_at_flag_and_valley():
    assert car_class(0.5) == "flag"
    assert car_class(-0.52) == "valley"
    assert car_class(-1.1) == "left_slope"


def test_caption_describes_state():
    rng = np.random.default_rng(0)
    caps = {cartpole_caption(np.array([-2.0, 0, 0.0, 0]), rng) for _ in range(50)}
    assert len(caps) > 5  # varied phrasings
    assert all("upright" in c or "vertical" in c or "straight up" in c for c in caps)
    assert not any("on the right" in c or "right side" in c or "right end" in c for c in caps)
