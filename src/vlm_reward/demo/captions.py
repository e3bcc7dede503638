"""Captions generated from the true state of CartPole and MountainCar, for the demo model.

Each state maps to a class (pole upright / leaning / fallen / hanging; cart left / centre /
right; car on the left slope / in the valley / climbing / near the top / at the flag) and each
class has several phrasings, combined by several sentence templates. Evaluation prompts in
:data:`HELDOUT_PROMPTS` are checked (by tests) never to appear verbatim among training captions.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = [
    "HELDOUT_PROMPTS",
    "all_training_captions",
    "car_class",
    "cart_class",
    "cartpole_caption",
    "cartpole_caption_parts",
    "mountaincar_caption",
    "pole_class",
]

POLE_PHRASES: dict[str, list[str]] = {
    "upright": [
        "the pole is upright", "the pole stands straight up", "the pole is balanced upright",
        "the pole is vertical", "the pole points straight up", "the pole is standing vertically",
    ],
    "lean_left": [
        "the pole is leaning to the left", "the pole tilts left", "the pole is tilted to the left",
        "the pole is slanted towards the left",
    ],
    "lean_right": [
        "the pole is leaning to the right", "the pole tilts right",
        "the pole is tilted to the right", "the pole is slanted towards the right",
    ],
    "fallen_left": [
        "the pole has fallen to the left", "the pole lies flat on the left",
        "the pole has toppled over to the left", "the pole is horizontal, pointing left",
    ],
    "fallen_right": [
        "the pole has fallen to the right", "the pole lies flat on the right",
        "the pole has toppled over to the right", "the pole is horizontal, pointing right",
    ],
    "down": [
        "the pole hangs down below the cart", "the pole points downward",
        "the pole is upside down", "the pole hangs straight down",
    ],
}
CART_PHRASES: dict[str, list[str]] = {
    "left": ["on the left side of the track", "near the left end of the track", "on the left"],
    "centre": ["in the middle of the track", "at the centre of the track", "in the centre"],
    "right": ["on the right side of the track", "near the right end of the track", "on the right"],
}
CARTPOLE_TEMPLATES = [
    "{pole}", "{pole}.", "a cart on a track: {pole}", "{pole} and the cart is {cart}",
    "the cart is {cart} and {pole}", "cartpole, {pole}", "a black cart {cart}; {pole}",
]
CAR_PHRASES: dict[str, list[str]] = {
    "left_slope": [
        "the car is high on the left slope", "the car is on the left hillside, far from the flag",
        "a car up on the left side of the valley",
    ],
    "valley": [
        "the car is at the bottom of the valley", "the car sits in the valley",
        "a car down in the valley between the hills",
    ],
    "climbing": [
        "the car is climbing the right slope", "the car is partway up the right hill",
        "a car halfway up the hill towards the flag",
    ],
    "near_top": [
        "the car is near the top of the right hill, close to the flag",
        "the car has almost reached the flag", "a car just below the hilltop with the flag",
    ],
    "flag": [
        "the car is at the peak next to the yellow flag",
        "the car has reached the flag on the hilltop",
        "a car on top of the mountain beside the flag", "the car made it to the summit flag",
    ],
}
MOUNTAINCAR_TEMPLATES = [
    "{car}", "{car}.", "mountain car: {car}", "a small car on a mountain road; {car}",
    "a hilly landscape, {car}",
]

HELDOUT_PROMPTS: dict[str, list[str]] = {
    "cartpole_goal": [
        "a pole standing upright on a cart", "pole vertically upright on top of the cart",
        "the cart keeps its pole perfectly vertical",
    ],
    "mountaincar_goal": [
        "a car at the peak of the mountain, next to the yellow flag",
        "the car reaches the flag on top of the hill",
    ],
    "mountaincar_baseline": ["a car in the mountain"],
}


def pole_class(theta: float) -> str:
    """Class of a pole angle in radians (positive leans right), wrapped to [-pi, pi]."""
    t = float(np.arctan2(np.sin(theta), np.cos(theta)))
    a = abs(t)
    side = "right" if t > 0 else "left"
    if a < 0.1:
        return "upright"
    if a < 0.8:
        return f"lean_{side}"
    if a < 2.3:
        return f"fallen_{side}"
    return "down"


def cart_class(x: float) -> str:
    """Class of a cart position on the track [-2.4, 2.4]."""
    return "left" if x < -0.8 else "right" if x > 0.8 else "centre"


def car_class(position: float) -> str:
    """Class of a MountainCar position in [-1.2, 0.6] (valley bottom ~ -0.52, flag at 0.45)."""
    if position < -0.8:
        return "left_slope"
    if position < -0.25:
        return "valley"
    if position < 0.15:
        return "climbing"
    if position < 0.38:
        return "near_top"
    return "flag"


def cartpole_caption(state: np.ndarray, rng: np.random.Generator) -> str:
    """A random phrasing describing a CartPole state ``[x, x_dot, theta, theta_dot]``."""
    return cartpole_caption_parts(state, rng)[0]


def cartpole_caption_parts(state: np.ndarray, rng: np.random.Generator) -> tuple[str, bool]:
    """Like :func:`cartpole_caption`, plus whether the caption says where the cart is."""
    pole = POLE_PHRASES[pole_class(state[2])]
    cart = CART_PHRASES[cart_class(state[0])]
    template = CARTPOLE_TEMPLATES[rng.integers(len(CARTPOLE_TEMPLATES))]
    caption = template.format(pole=pole[rng.integers(len(pole))],
                              cart=cart[rng.integers(len(cart))])
    return caption, "{cart}" in template


def mountaincar_caption(state: np.ndarray, rng: np.random.Generator) -> str:
    """A random phrasing describing a MountainCar state ``[position, velocity]``."""
    car = CAR_PHRASES[car_class(state[0])]
    template = MOUNTAINCAR_TEMPLATES[rng.integers(len(MOUNTAINCAR_TEMPLATES))]
    return template.format(car=car[rng.integers(len(car))])


def all_training_captions() -> set[str]:
    """Every caption the generators can produce (for the held-out check)."""
    out: set[str] = set()
    poles = list(itertools.chain(*POLE_PHRASES.values()))
    carts = list(itertools.chain(*CART_PHRASES.values()))
    for t, p, c in itertools.product(CARTPOLE_TEMPLATES, poles, carts):
        out.add(t.format(pole=p, cart=c))
    for t, c in itertools.product(MOUNTAINCAR_TEMPLATES, itertools.chain(*CAR_PHRASES.values())):
        out.add(t.format(car=c))
    return out
