"""CartPole as used in the VLM-RM paper: the pole may fall, the episode still goes on.

The classic CartPole ends an episode as soon as the pole leaves a 12 degree band, which
tells the agent about failure through termination, not through the reward. To learn from a
VLM reward alone, the paper's variant never terminates: the pole swings freely (its angle is
wrapped to ``[-pi, pi]``), the cart stops at the ends of the track (position clipped,
velocity zeroed at the wall) and every episode lasts exactly ``episode_length`` steps.

The dynamics and constants are the classic ones (Barto, Sutton & Anderson 1983; the values
Gymnasium's ``CartPole-v1`` uses), integrated with explicit Euler steps of 0.02 s.

Example:
    >>> import gymnasium as gym
    >>> import vlm_reward.envs
    >>> env = gym.make("vlm_reward/CartPole-v0", episode_length=5, width=64, height=64)
    >>> obs, info = env.reset(seed=0)
    >>> env.render().shape
    (64, 64, 3)
    >>> env.unwrapped.state_names
    ('x', 'x_dot', 'theta', 'theta_dot')
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from vlm_reward.envs.checks import (
    check_episode_length,
    check_render_mode,
    check_render_size,
    check_state,
    wrap_angle,
)
from vlm_reward.errors import ConfigError

__all__ = ["CartPoleEnv"]

# Classic constants (SI units).
GRAVITY = 9.8
MASS_CART = 1.0
MASS_POLE = 0.1
HALF_POLE_LENGTH = 0.5
FORCE_MAG = 10.0
TAU = 0.02
TRACK_HALF_LENGTH = 2.4
SUCCESS_ANGLE = math.radians(12.0)

# Drawing sizes in world units (the classic look: 0.4 x 0.24 cart, 1.0 long pole).
CART_WIDTH = 0.4
CART_HEIGHT = 0.24
POLE_WIDTH = 0.09

_WHITE = (255, 255, 255)
_BLACK = (0, 0, 0)
_POLE = (202, 152, 101)
_AXLE = (129, 132, 203)


class CartPoleEnv(gym.Env[np.ndarray, np.int64]):
    """Non-terminating CartPole with a fixed episode length and a drawing that works at any angle.

    Observation: ``[x, x_dot, theta, theta_dot]`` (float32); ``theta`` is 0 when the pole is
    upright, positive when it leans towards +x, wrapped to ``[-pi, pi]``. Actions: 0 pushes
    the cart left, 1 pushes it right (10 N).

    Reward (the environment's own, ground truth next to the VLM reward): the classic +1 for
    every step the pole is within 12 degrees of upright, 0 otherwise. ``info["success"]`` is
    the same condition as a bool. ``terminated`` is always False; ``truncated`` becomes True
    at step ``episode_length``.

    Args:
        render_mode: ``"rgb_array"`` (default) or None.
        episode_length: number of steps in every episode.
        width: frame width in pixels; frames are drawn at this size, not resized.
        height: frame height in pixels.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 50}
    state_names: tuple[str, ...] = ("x", "x_dot", "theta", "theta_dot")

    def __init__(
        self,
        render_mode: str | None = "rgb_array",
        episode_length: int = 200,
        width: int = 400,
        height: int = 400,
    ) -> None:
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        self.episode_length = check_episode_length(episode_length)
        self.width, self.height = check_render_size(width, height)
        high = np.array(
            [TRACK_HALF_LENGTH, np.finfo(np.float32).max, math.pi, np.finfo(np.float32).max],
            dtype=np.float32,
        )
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)
        self.action_space = spaces.Discrete(2)
        self.state = np.zeros(4, dtype=np.float64)
        self.steps = 0
        self._surface: Any = None

    # ----------------------------------------------------------------- state
    def set_state(self, state: np.ndarray) -> None:
        """Put the system in ``state = [x, x_dot, theta, theta_dot]``.

        The same invariants as the dynamics hold afterwards: ``theta`` is wrapped to
        ``[-pi, pi]`` and ``x`` clipped to the track. The step counter is not changed.
        """
        x, x_dot, theta, theta_dot = check_state(state, self.state_names)
        self.state = np.array(
            [np.clip(x, -TRACK_HALF_LENGTH, TRACK_HALF_LENGTH), x_dot, wrap_angle(theta), theta_dot]
        )

    def get_state(self) -> np.ndarray:
        """The state as a float64 copy, in the order of ``state_names``."""
        return self.state.astype(np.float64)

    def is_success(self) -> bool:
        """The classic 'balanced' condition: pole within 12 degrees and cart on the track."""
        x, _, theta, _ = self.state
        return bool(abs(theta) <= SUCCESS_ANGLE and abs(x) <= TRACK_HALF_LENGTH)

    def _obs(self) -> np.ndarray:
        return self.state.astype(np.float32)

    # ------------------------------------------------------------------- API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start near upright (each variable uniform in +-0.05), or at ``options["state"]``."""
        super().reset(seed=seed)
        self.steps = 0
        if options and "state" in options:
            self.set_state(options["state"])
        else:
            self.state = self.np_random.uniform(-0.05, 0.05, size=4)
        return self._obs(), {"success": self.is_success()}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ConfigError(f"action: expected 0 (left) or 1 (right), got {action!r}")
        x, x_dot, theta, theta_dot = self.state
        force = FORCE_MAG if int(action) == 1 else -FORCE_MAG
        cos_t, sin_t = math.cos(theta), math.sin(theta)
        total_mass = MASS_CART + MASS_POLE
        pole_ml = MASS_POLE * HALF_POLE_LENGTH
        temp = (force + pole_ml * theta_dot**2 * sin_t) / total_mass
        theta_acc = (GRAVITY * sin_t - cos_t * temp) / (
            HALF_POLE_LENGTH * (4.0 / 3.0 - MASS_POLE * cos_t**2 / total_mass)
        )
        x_acc = temp - pole_ml * theta_acc * cos_t / total_mass
        x = x + TAU * x_dot
        x_dot = x_dot + TAU * x_acc
        theta = wrap_angle(theta + TAU * theta_dot)
        theta_dot = theta_dot + TAU * theta_acc
        if abs(x) >= TRACK_HALF_LENGTH:  # the cart hits the end of the track and stops
            x = math.copysign(TRACK_HALF_LENGTH, x)
            x_dot = 0.0
        self.state = np.array([x, x_dot, theta, theta_dot])
        self.steps += 1
        success = self.is_success()
        truncated = self.steps >= self.episode_length
        return self._obs(), 1.0 if success else 0.0, False, truncated, {"success": success}

    # ------------------------------------------------------------- rendering
    def render(self) -> np.ndarray | None:
        """Draw the current state as a uint8 ``(height, width, 3)`` frame."""
        if self.render_mode is None:
            gym.logger.warn("render() called with render_mode=None; pass render_mode='rgb_array'")
            return None
        import pygame
        from pygame import gfxdraw

        w, h = self.width, self.height
        if self._surface is None:
            self._surface = pygame.Surface((w, h))
        surf = self._surface
        surf.fill(_WHITE)
        # Fit the whole track (cart included) across, and a pole above and below the axle.
        scale = min(
            w / (2 * TRACK_HALF_LENGTH + CART_WIDTH + 0.3), h / (4 * HALF_POLE_LENGTH + 0.6)
        )
        cx, cy = w / 2.0, h / 2.0

        def to_px(px: float, py: float) -> tuple[int, int]:
            return round(cx + px * scale), round(cy - py * scale)

        x, _, theta, _ = self.state
        track_y = to_px(0.0, 0.0)[1]
        line_w = max(1, round(h / 200))
        pygame.draw.line(surf, _BLACK, (0, track_y), (w, track_y), line_w)

        hw, hh = CART_WIDTH / 2, CART_HEIGHT / 2
        cart = [to_px(x + dx, dy) for dx, dy in ((-hw, -hh), (-hw, hh), (hw, hh), (hw, -hh))]
        gfxdraw.aapolygon(surf, cart, _BLACK)
        gfxdraw.filled_polygon(surf, cart, _BLACK)

        axle = (x, CART_HEIGHT / 4)
        length = 2 * HALF_POLE_LENGTH
        d = (math.sin(theta), math.cos(theta))  # along the pole, from axle to tip
        p = (d[1] * POLE_WIDTH / 2, -d[0] * POLE_WIDTH / 2)  # half width, across the pole
        pole = [
            to_px(axle[0] - p[0], axle[1] - p[1]),
            to_px(axle[0] + p[0], axle[1] + p[1]),
            to_px(axle[0] + p[0] + length * d[0], axle[1] + p[1] + length * d[1]),
            to_px(axle[0] - p[0] + length * d[0], axle[1] - p[1] + length * d[1]),
        ]
        gfxdraw.aapolygon(surf, pole, _POLE)
        gfxdraw.filled_polygon(surf, pole, _POLE)

        ax, ay = to_px(*axle)
        radius = max(1, round(POLE_WIDTH / 2 * scale))
        gfxdraw.aacircle(surf, ax, ay, radius, _AXLE)
        gfxdraw.filled_circle(surf, ax, ay, radius, _AXLE)
        return np.ascontiguousarray(np.transpose(pygame.surfarray.array3d(surf), (1, 0, 2)))

    def close(self) -> None:
        self._surface = None
