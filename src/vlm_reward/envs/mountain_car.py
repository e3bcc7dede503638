"""MountainCarContinuous as used in the VLM-RM paper, with a realistic textured rendering.

The paper found that CLIP gives a poorly shaped reward on the original flat drawing (a black
line and a black box) but a well shaped one on a more realistic picture. ``textured=True``
(the default) therefore draws a scene made by this project: a sky gradient with soft clouds
and distant hills, a hill with a grass band over layered earth (procedural numpy noise), a
red car with windows and wheels tilted along the slope, and a yellow flag at the goal.
``textured=False`` draws the original look (white background, black curve, black car).

Dynamics are the classic ones (Moore 1990, the constants of Gymnasium's
``MountainCarContinuous-v0``). Two changes follow the paper: the episode never terminates
(it lasts exactly ``episode_length`` steps) and, once the car has reached the flag, it is
held there (position at the flag, velocity 0) for the rest of the episode, so the final
frames show the goal state.

Example:
    >>> import gymnasium as gym
    >>> import vlm_reward.envs
    >>> env = gym.make("vlm_reward/MountainCarContinuous-v0", width=64, height=64)
    >>> obs, info = env.reset(seed=0)
    >>> env.unwrapped.set_state([0.45, 0.0])
    >>> env.render().shape
    (64, 64, 3)
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
)
from vlm_reward.errors import ConfigError

__all__ = ["GOAL_POSITION", "MountainCarContinuousEnv", "hill_height"]

MIN_POSITION = -1.2
MAX_POSITION = 0.6
MAX_SPEED = 0.07
GOAL_POSITION = 0.45
GOAL_VELOCITY = 0.0
POWER = 0.0015
GRAVITY_TERM = 0.0025

# Seed of the procedural textures: every frame of every env shows the same scenery.
_SCENE_SEED = 20231020


def hill_height(position: np.ndarray | float) -> np.ndarray | float:
    """Height of the track at ``position`` (world units, in [0.1, 1.0])."""
    return np.sin(3.0 * np.asarray(position)) * 0.45 + 0.55


class MountainCarContinuousEnv(gym.Env[np.ndarray, np.ndarray]):
    """Non-terminating MountainCarContinuous that holds the car at the flag once reached.

    Observation: ``[position, velocity]`` (float32), position in ``[-1.2, 0.6]``, velocity in
    ``[-0.07, 0.07]``. Action: one float in ``[-1, 1]`` (the engine force; clipped).

    Reward (the environment's own, ground truth next to the VLM reward): the original terms,
    ``-0.1 * action**2`` every step while driving, plus ``+100`` on the step the flag is first
    reached; steps after that (car held at the flag) give 0. ``info["success"]`` is True from
    the step the car reaches the flag (``position >= 0.45`` with ``velocity >= 0``) onwards.
    ``terminated`` is always False; ``truncated`` becomes True at step ``episode_length``.

    Args:
        render_mode: ``"rgb_array"`` (default) or None.
        textured: draw the realistic scene (True) or the original flat look (False).
        episode_length: number of steps in every episode (the original time limit, 999, by
            default).
        width: frame width in pixels; frames are drawn at this size, not resized.
        height: frame height in pixels.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 30}
    state_names: tuple[str, ...] = ("position", "velocity")

    def __init__(
        self,
        render_mode: str | None = "rgb_array",
        textured: bool = True,
        episode_length: int = 999,
        width: int = 400,
        height: int = 400,
    ) -> None:
        self.render_mode = check_render_mode(render_mode, self.metadata["render_modes"])
        if not isinstance(textured, (bool, np.bool_)):
            raise ConfigError(f"textured: expected true or false, got {textured!r}")
        self.textured = bool(textured)
        self.episode_length = check_episode_length(episode_length)
        self.width, self.height = check_render_size(width, height)
        self.observation_space = spaces.Box(
            np.array([MIN_POSITION, -MAX_SPEED], dtype=np.float32),
            np.array([MAX_POSITION, MAX_SPEED], dtype=np.float32),
            dtype=np.float32,
        )
        self.action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.state = np.array([-0.5, 0.0])
        self.reached = False
        self.steps = 0
        self._background: Any = None

    # ----------------------------------------------------------------- state
    def set_state(self, state: np.ndarray) -> None:
        """Put the car at ``state = [position, velocity]`` (clipped to the bounds).

        A state at the flag counts as reached, so the following steps hold the car there.
        The step counter is not changed.
        """
        position, velocity = check_state(state, self.state_names)
        position = float(np.clip(position, MIN_POSITION, MAX_POSITION))
        velocity = float(np.clip(velocity, -MAX_SPEED, MAX_SPEED))
        self.state = np.array([position, velocity])
        self.reached = self._at_goal(position, velocity)

    def get_state(self) -> np.ndarray:
        """The state as a float64 copy, in the order of ``state_names``."""
        return self.state.astype(np.float64)

    @staticmethod
    def _at_goal(position: float, velocity: float) -> bool:
        return bool(position >= GOAL_POSITION and velocity >= GOAL_VELOCITY)

    def _obs(self) -> np.ndarray:
        return self.state.astype(np.float32)

    # ------------------------------------------------------------------- API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start at rest at a position uniform in [-0.6, -0.4], or at ``options["state"]``."""
        super().reset(seed=seed)
        self.steps = 0
        if options and "state" in options:
            self.set_state(options["state"])
        else:
            self.state = np.array([self.np_random.uniform(-0.6, -0.4), 0.0])
            self.reached = False
        return self._obs(), {"success": self.reached}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        arr = np.asarray(action, dtype=np.float64).reshape(-1)
        if arr.shape != (1,) or not np.isfinite(arr[0]):
            raise ConfigError(f"action: expected one finite number in [-1, 1], got {action!r}")
        force = float(np.clip(arr[0], -1.0, 1.0))
        reward = 0.0
        if self.reached:
            self.state = np.array([GOAL_POSITION, 0.0])
        else:
            position, velocity = self.state
            velocity += force * POWER - GRAVITY_TERM * math.cos(3.0 * position)
            velocity = float(np.clip(velocity, -MAX_SPEED, MAX_SPEED))
            position = float(np.clip(position + velocity, MIN_POSITION, MAX_POSITION))
            if position == MIN_POSITION and velocity < 0:
                velocity = 0.0
            reward = -0.1 * force**2
            if self._at_goal(position, velocity):
                self.reached = True
                reward += 100.0
                position, velocity = GOAL_POSITION, 0.0
            self.state = np.array([position, velocity])
        self.steps += 1
        truncated = self.steps >= self.episode_length
        return self._obs(), reward, False, truncated, {"success": self.reached}

    # ------------------------------------------------------------- rendering
    def _to_px(self, position: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Screen coordinates (x right, y down) of the track at ``position``."""
        w, h = self.width, self.height
        pos = np.asarray(position, dtype=np.float64)
        px = (pos - MIN_POSITION) / (MAX_POSITION - MIN_POSITION) * (w - 1)
        # Height 0.1 .. 1.0 maps to 90 % .. 25 % of the frame (room for sky and flag above).
        py = h * (0.9 - (hill_height(pos) - 0.1) / 0.9 * 0.65)
        return px, py

    def render(self) -> np.ndarray | None:
        """Draw the current state as a uint8 ``(height, width, 3)`` frame."""
        if self.render_mode is None:
            gym.logger.warn("render() called with render_mode=None; pass render_mode='rgb_array'")
            return None
        import pygame

        if self._background is None:
            self._background = (
                _textured_background(self) if self.textured else _plain_background(self)
            )
        surf = self._background.copy()
        position = float(self.state[0])
        if self.textured:
            _draw_car(self, surf, position)
        else:
            _draw_plain_car(self, surf, position)
        return np.ascontiguousarray(np.transpose(pygame.surfarray.array3d(surf), (1, 0, 2)))

    def close(self) -> None:
        self._background = None


# ------------------------------------------------------------------ drawing helpers
def _slope_frame(
    env: MountainCarContinuousEnv, position: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Contact point, upward normal (screen coords) and tilt in degrees at ``position``."""
    eps = 1e-3
    x0, y0 = env._to_px(position - eps)
    x1, y1 = env._to_px(position + eps)
    tangent = np.array([x1 - x0, y1 - y0], dtype=np.float64)
    tangent /= np.linalg.norm(tangent)
    normal = np.array([tangent[1], -tangent[0]])  # points up on screen
    angle = math.degrees(math.atan2(-tangent[1], tangent[0]))
    cx, cy = env._to_px(position)
    return np.array([float(cx), float(cy)]), normal, angle


def _plain_background(env: MountainCarContinuousEnv) -> Any:
    """The original look: white, the track as a black curve, a yellow flag."""
    import pygame

    w, h = env.width, env.height
    surf = pygame.Surface((w, h))
    surf.fill((255, 255, 255))
    xs, ys = env._to_px(np.linspace(MIN_POSITION, MAX_POSITION, 200))
    line_w = max(1, round(w / 300))
    pygame.draw.lines(surf, (0, 0, 0), False, list(zip(xs, ys, strict=True)), line_w)
    _draw_flag(env, surf, pole=(0, 0, 0), cloth=(204, 204, 0))
    return surf


def _draw_flag(
    env: MountainCarContinuousEnv,
    surf: Any,
    pole: tuple[int, int, int],
    cloth: tuple[int, int, int],
) -> None:
    import pygame

    w, h = env.width, env.height
    fx, fy = (float(v) for v in env._to_px(GOAL_POSITION))
    pole_h = 0.14 * h
    pole_w = max(1, round(w / 200))
    top = fy - pole_h
    pygame.draw.line(surf, pole, (fx, fy), (fx, top), pole_w)
    flag = [(fx, top), (fx, top + 0.05 * h), (fx + 0.07 * w, top + 0.025 * h)]
    pygame.draw.polygon(surf, cloth, flag)
    if env.textured:
        pygame.draw.polygon(surf, (150, 120, 0), flag, max(1, pole_w // 2))


def _draw_plain_car(env: MountainCarContinuousEnv, surf: Any, position: float) -> None:
    """The original car: a black box on two grey wheels, tilted along the track."""
    import pygame

    w = env.width
    length, body_h = 0.067 * w, 0.033 * w
    wheel_r = max(1, round(0.3 * body_h))
    contact, normal, _ = _slope_frame(env, position)
    tangent = np.array([-normal[1], normal[0]])
    base = contact + normal * wheel_r

    def at(u: float, v: float) -> tuple[float, float]:
        p = base + tangent * u + normal * v
        return float(p[0]), float(p[1])

    body = [at(-length / 2, 0), at(-length / 2, body_h), at(length / 2, body_h),
            at(length / 2, 0)]
    pygame.draw.polygon(surf, (0, 0, 0), body)
    for u in (-length / 4, length / 4):
        pygame.draw.circle(surf, (128, 128, 128), at(u, 0), wheel_r)


def _noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Smooth value noise in [-1, 1]: random values on a coarse grid, bilinearly upsampled."""
    gh, gw = h // cell + 2, w // cell + 2
    grid = rng.uniform(-1.0, 1.0, size=(gh, gw))
    yy = np.arange(h) / cell
    xx = np.arange(w) / cell
    y0, x0 = yy.astype(int), xx.astype(int)
    fy, fx = (yy - y0)[:, None], (xx - x0)[None, :]
    g00 = grid[y0][:, x0]
    g01 = grid[y0][:, x0 + 1]
    g10 = grid[y0 + 1][:, x0]
    g11 = grid[y0 + 1][:, x0 + 1]
    return (g00 * (1 - fx) + g01 * fx) * (1 - fy) + (g10 * (1 - fx) + g11 * fx) * fy


def _textured_background(env: MountainCarContinuousEnv) -> Any:
    """Sky, clouds, distant hills, a grass-and-earth hill and the flag (cached per env)."""
    import pygame

    w, h = env.width, env.height
    rng = np.random.default_rng(_SCENE_SEED)
    rows = np.arange(h, dtype=np.float64)[:, None]
    cols = np.arange(w, dtype=np.float64)[None, :]

    # Sky: deep blue at the top to a pale haze at the horizon.
    t = np.clip(rows / (0.75 * h), 0.0, 1.0)[..., None]
    top, horizon = np.array([58.0, 118.0, 196.0]), np.array([200.0, 226.0, 246.0])
    img = np.broadcast_to(top * (1 - t) + horizon * t, (h, w, 3)).copy()

    # Distant bluish hills behind the track.
    far = h * (0.5 + 0.06 * np.sin(cols / w * 7.0 + 1.0) + 0.04 * np.sin(cols / w * 17.0))
    far_mask = (rows >= far)[..., None]
    img = np.where(far_mask, img * 0.35 + np.array([110.0, 140.0, 160.0]) * 0.65, img)

    # The hill: grass band over layered earth with stones.
    positions = MIN_POSITION + cols[0] / (w - 1) * (MAX_POSITION - MIN_POSITION)
    _, surface_y = env._to_px(positions)
    depth = rows - surface_y[None, :]
    ground = depth >= 0
    grass_depth = max(2.0, 0.035 * h)
    fine = _noise(rng, h, w, max(1, w // 100))
    coarse = _noise(rng, h, w, max(3, w // 20))
    blades = rng.uniform(-1.0, 1.0, size=(h, w))
    grass = np.array([70.0, 150.0, 50.0])[None, None, :] * (
        1 + 0.18 * coarse[..., None] + 0.12 * blades[..., None]
    )
    strata = np.sin(depth / max(2.0, 0.02 * h) * 2.0 + 2.0 * coarse)
    earth = np.array([125.0, 88.0, 55.0])[None, None, :] * (
        1 + 0.10 * strata[..., None] + 0.12 * fine[..., None] + 0.05 * blades[..., None]
    )
    earth *= np.clip(1.0 - depth / (1.5 * h), 0.6, 1.0)[..., None]  # darker deeper down
    stones = (_noise(rng, h, w, max(2, w // 60)) > 0.82) & (depth > grass_depth * 1.5)
    earth = np.where(stones[..., None], np.array([150.0, 145.0, 135.0]) * (1 + 0.1 * fine)[
        ..., None], earth)
    # Ragged grass edge: the grass band's depth varies with the noise.
    edge = grass_depth * (1 + 0.4 * fine)
    is_grass = ground & (depth < edge)
    img = np.where(is_grass[..., None], grass, img)
    img = np.where((ground & ~is_grass)[..., None], earth, img)

    arr = np.clip(img, 0, 255).astype(np.uint8)
    surf = pygame.surfarray.make_surface(np.ascontiguousarray(arr.transpose(1, 0, 2)))
    _draw_clouds(surf, rng, w, h)
    _draw_flag(env, surf, pole=(235, 235, 235), cloth=(250, 210, 20))
    return surf


def _draw_clouds(surf: Any, rng: np.random.Generator, w: int, h: int) -> None:
    """A few fluffy clouds: clusters of overlapping translucent white ellipses."""
    import pygame

    layer = pygame.Surface((w, h), pygame.SRCALPHA)
    for cx, cy, size in ((0.15, 0.1, 1.0), (0.55, 0.07, 0.8), (0.85, 0.2, 0.6)):
        cw = size * 0.22 * w
        for _ in range(6):
            ex = (cx + rng.uniform(-0.5, 0.5) * cw / w) * w
            ey = (cy + rng.uniform(-0.3, 0.3) * cw / w * 0.3) * h
            ew, eh = cw * rng.uniform(0.4, 0.7), cw * rng.uniform(0.25, 0.4)
            pygame.draw.ellipse(
                layer, (255, 255, 255, 170), pygame.Rect(ex - ew / 2, ey - eh / 2, ew, eh)
            )
    surf.blit(layer, (0, 0))


def _draw_car(env: MountainCarContinuousEnv, surf: Any, position: float) -> None:
    """A red hatchback facing right (towards the goal), drawn upright then tilted."""
    import pygame

    w = env.width
    length = max(12, round(0.15 * w))
    height = max(8, round(length * 0.62))
    ss = 4  # draw at 4x and let rotozoom shrink it: smooth edges at small frame sizes
    L, H = length * ss, height * ss
    car = pygame.Surface((L, H), pygame.SRCALPHA)
    wheel_r = round(0.16 * L)
    body_bottom = H - wheel_r * 0.9
    body_top = H * 0.45
    red, dark_red = (200, 30, 35), (130, 15, 20)
    glass = (170, 215, 240)
    # Lower body with rounded corners, then the cabin (roof and pillars).
    pygame.draw.rect(
        car, red, pygame.Rect(0, round(body_top), L, round(body_bottom - body_top)),
        border_radius=round(0.08 * L),
    )
    cabin = [(0.14 * L, body_top + 1), (0.3 * L, 0.06 * H), (0.68 * L, 0.06 * H),
             (0.86 * L, body_top + 1)]
    pygame.draw.polygon(car, red, cabin)
    # Windows: rear and front panes split by a pillar.
    rear = [(0.22 * L, body_top), (0.33 * L, 0.13 * H), (0.48 * L, 0.13 * H),
            (0.48 * L, body_top)]
    front = [(0.52 * L, body_top), (0.52 * L, 0.13 * H), (0.65 * L, 0.13 * H),
             (0.78 * L, body_top)]
    pygame.draw.polygon(car, glass, rear)
    pygame.draw.polygon(car, glass, front)
    # Door line, headlight (front = right), tail light, bumpers.
    line_w = max(1, round(0.012 * L))
    pygame.draw.line(car, dark_red, (0.5 * L, body_top), (0.5 * L, body_bottom - 2), line_w)
    pygame.draw.line(car, dark_red, (0.02 * L, 0.62 * H), (0.98 * L, 0.62 * H), line_w)
    pygame.draw.ellipse(car, (255, 240, 150),
                        pygame.Rect(0.91 * L, body_top + 0.06 * H, 0.08 * L, 0.1 * H))
    pygame.draw.rect(car, (255, 120, 0), pygame.Rect(0.0, body_top + 0.06 * H, 0.04 * L,
                                                     0.1 * H))
    pygame.draw.rect(car, (60, 60, 60), pygame.Rect(0, body_bottom - 0.1 * H, 0.06 * L,
                                                    0.1 * H))
    pygame.draw.rect(car, (60, 60, 60), pygame.Rect(0.94 * L, body_bottom - 0.1 * H, 0.06 * L,
                                                    0.1 * H))
    # Wheels: tyre, rim, hub.
    for cx in (0.22 * L, 0.78 * L):
        centre = (cx, H - wheel_r)
        pygame.draw.circle(car, (25, 25, 25), centre, wheel_r)
        pygame.draw.circle(car, (175, 175, 180), centre, round(wheel_r * 0.55))
        pygame.draw.circle(car, (90, 90, 95), centre, round(wheel_r * 0.2))

    contact, normal, angle = _slope_frame(env, position)
    rotated = pygame.transform.rotozoom(car, angle, 1.0 / ss)
    centre = contact + normal * (height / 2.0 - 0.5)
    rect = rotated.get_rect(center=(round(centre[0]), round(centre[1])))
    surf.blit(rotated, rect)
