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


def test_cart_position_only_matters_for_captions_that_mention_the_cart():
    from vlm_reward.demo.model_training import caption_distance

    scene = np.array([0, 0, 1])
    states = np.array([[-2.0, 0, 0.0, 0], [2.0, 0, 0.0, 0], [0.5, 0, 0, 0]])
    d_pole_only = caption_distance(scene, states, scene, states, np.array([False, False, False]))
    d_with_cart = caption_distance(scene, states, scene, states, np.array([True, True, False]))
    assert d_pole_only[0, 1] == 0.0  # same pole angle, cart not mentioned: a full positive
    assert d_with_cart[0, 1] > 1.0  # opposite ends of the track: a different class
    assert np.isinf(d_pole_only[0, 2]) and np.isinf(d_pole_only[2, 0])  # across scenes
    assert d_pole_only[2, 2] == 0.0


def test_angle_scale_sets_the_unit_of_pole_angle_distance():
    from vlm_reward.demo.model_training import caption_distance

    scene = np.array([0, 0])
    states = np.array([[0.0, 0, 0.0, 0], [1.0, 0, 0.12, 0]])
    no_cart = np.array([False, False])
    assert np.isclose(caption_distance(scene, states, scene, states, no_cart, 0.06)[0, 1], 2.0)
    assert np.isclose(caption_distance(scene, states, scene, states, no_cart, 0.24)[0, 1], 0.5)
