"""Painters for MountainCar frames: a realistic textured scene and the flat classic look.

The paper found CLIP's reward poorly shaped on the flat original drawing and well shaped on a
realistic one (sky, textured hill, a picture of a car). This module draws such a scene with
procedural numpy noise and pygame primitives, all made by this project: a sky gradient with
distant mountains, a hill of grass over earth, a yellow flag at the goal and a red car with
windows and wheels, tilted along the slope. The static background is painted once per size
with a fixed noise seed, so the same state always gives the same frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["MountainView", "hill_height", "paint_frame"]

MIN_POSITION = -1.2
MAX_POSITION = 0.6
CAR_LENGTH = 0.2  # world units
CAR_HEIGHT = 0.1
FLAG_HEIGHT = 0.2


def hill_height(position: np.ndarray | float) -> np.ndarray | float:
    """Height of the track at ``position`` (the classic curve ``0.45 sin(3x) + 0.55``)."""
    return np.sin(3.0 * np.asarray(position)) * 0.45 + 0.55


@dataclass(frozen=True)
class MountainView:
    """World-to-pixel mapping: the track spans the width, sky above, earth below."""

    width: int
    height: int

    @property
    def scale(self) -> float:
        return min(self.width / (MAX_POSITION - MIN_POSITION), self.height / 1.35)

    def to_px(self, x: float, y: float) -> tuple[float, float]:
        centre = (MIN_POSITION + MAX_POSITION) / 2
        return (
            self.width / 2 + (x - centre) * self.scale,
            0.25 * self.height + (1.0 - y) * self.scale,
        )

    def world_x(self, px: np.ndarray) -> np.ndarray:
        centre = (MIN_POSITION + MAX_POSITION) / 2
        return centre + (px - self.width / 2) / self.scale


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Value noise in [0, 1]: a coarse random grid bilinearly upsampled to ``(h, w)``."""
    gh, gw = max(2, h * cells // max(h, w) + 2), max(2, w * cells // max(h, w) + 2)
    grid = rng.random((gh, gw))
    ys, xs = np.linspace(0, gh - 1.001, h), np.linspace(0, gw - 1.001, w)
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    fy, fx = fy * fy * (3 - 2 * fy), fx * fx * (3 - 2 * fx)  # smoothstep: no grid creases
    a, b = grid[y0][:, x0], grid[y0][:, x0 + 1]
    c, d = grid[y0 + 1][:, x0], grid[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def _fractal(rng: np.random.Generator, h: int, w: int, base: int, octaves: int = 4) -> np.ndarray:
    out, amp, total = np.zeros((h, w)), 1.0, 0.0
    for i in range(octaves):
        out += amp * _smooth_noise(rng, h, w, base * 2**i)
        total += amp
        amp *= 0.5
    return out / total


def _textured_background(view: MountainView, goal: float) -> np.ndarray:
    """Sky, distant mountains, clouds, grass-and-earth hill; returns float ``(H, W, 3)``."""
    w, h = view.width, view.height
    rng = np.random.default_rng(1234)
    rows = np.linspace(0.0, 1.0, h)[:, None, None]
    sky = (1 - rows) * np.array([70, 130, 215]) + rows * np.array([200, 225, 245])
    img = np.broadcast_to(sky, (h, w, 3)).copy()

    clouds = _fractal(rng, h, w, 6)
    cloud_alpha = np.clip((clouds - 0.55) * 4.0, 0, 0.85) * (1 - rows[..., 0]) ** 0.5
    img = img * (1 - cloud_alpha[..., None]) + 250.0 * cloud_alpha[..., None]

    cols = np.arange(w)
    yy = np.arange(h)[:, None]
    # Distant range: a ridge line made of a few sines, bluish-grey with snowy peaks.
    t = cols / w
    ridge = 0.42 + 0.08 * np.sin(7.1 * t + 1.0) + 0.05 * np.sin(17.3 * t + 0.3)
    ridge += 0.02 * np.sin(41.0 * t)
    ridge_px = ridge * h
    far = yy >= ridge_px[None, :]
    depth = np.clip((yy - ridge_px[None, :]) / (0.25 * h), 0, 1)[..., None]
    far_col = (1 - depth) * np.array([150, 165, 190]) + depth * np.array([110, 125, 150])
    snow = (yy < ridge_px[None, :] + 0.035 * h) & (ridge_px[None, :] < 0.40 * h)
    far_col = np.where(snow[..., None], np.array([240, 244, 250.0]), far_col)
    img = np.where(far[..., None], far_col, img)

    # The hill: grass band along the surface, earth below, both with noise texture.
    xs = view.world_x(cols + 0.5)
    surface_px = np.array([view.to_px(0.0, float(y))[1] for y in hill_height(xs)])
    below = yy - surface_px[None, :]
    grass_depth = 0.045 * view.scale
    tex = _fractal(rng, h, w, 24)[..., None]
    fine = _smooth_noise(rng, h, w, max(8, w // 3))[..., None]
    grass = np.array([60, 140, 45]) * (0.75 + 0.5 * tex) + 25 * (fine - 0.5)
    earth_depth = np.clip(below / (0.6 * view.scale), 0, 1)[..., None]
    earth = (1 - earth_depth) * np.array([130, 95, 60]) + earth_depth * np.array([85, 60, 40])
    earth = earth * (0.7 + 0.6 * tex) + 30 * (fine - 0.5)
    stones = (_smooth_noise(rng, h, w, max(8, w // 6)) > 0.8)[..., None]
    earth = np.where(stones, earth * 0.7 + 40, earth)
    ground = np.where((below < grass_depth)[..., None], grass, earth)
    img = np.where((below >= 0)[..., None], ground, img)
    return np.clip(img, 0, 255)


def _draw_flag(surf: Any, view: MountainView, goal: float, textured: bool) -> None:
    import pygame
    from pygame import gfxdraw

    base = view.to_px(goal, float(hill_height(goal)))
    top = view.to_px(goal, float(hill_height(goal)) + FLAG_HEIGHT)
    pole_w = max(1, round(0.008 * view.scale))
    pole_col = (90, 90, 90) if textured else (0, 0, 0)
    pygame.draw.line(surf, pole_col, base, top, pole_w)
    s = view.scale
    flag = [
        (top[0], top[1]),
        (top[0] + 0.09 * s, top[1] + 0.025 * s),
        (top[0], top[1] + 0.05 * s),
    ] if not textured else [
        (top[0], top[1]),
        (top[0] + 0.05 * s, top[1] + 0.012 * s),
        (top[0] + 0.11 * s, top[1] - 0.004 * s),
        (top[0] + 0.11 * s, top[1] + 0.06 * s),
        (top[0] + 0.05 * s, top[1] + 0.072 * s),
        (top[0], top[1] + 0.06 * s),
    ]
    flag_i = [(round(x), round(y)) for x, y in flag]
    gfxdraw.filled_polygon(surf, flag_i, (245, 205, 20))
    gfxdraw.aapolygon(surf, flag_i, (160, 120, 0) if textured else (204, 204, 0))


def _car_sprite(view: MountainView) -> Any:
    """An upright car picture (transparent background): body, cabin, windows, wheels."""
    import pygame
    from pygame import gfxdraw

    s = view.scale
    w, h = max(8, round(CAR_LENGTH * s)), max(6, round(CAR_HEIGHT * s * 1.25))
    surf = pygame.Surface((w, h), pygame.SRCALPHA)
    surf.fill((0, 0, 0, 0))
    r = max(2, round(0.11 * w))  # wheel radius
    body_top, body_bot = round(0.42 * h), h - r
    pygame.draw.rect(surf, (200, 30, 35), (0, body_top, w, body_bot - body_top),
                     border_radius=max(1, r // 2))
    cabin = [(round(0.2 * w), body_top), (round(0.32 * w), round(0.06 * h)),
             (round(0.68 * w), round(0.06 * h)), (round(0.84 * w), body_top)]
    gfxdraw.filled_polygon(surf, cabin, (200, 30, 35))
    gfxdraw.aapolygon(surf, cabin, (200, 30, 35))
    inset = max(1, round(0.05 * h))
    for x0, x1 in ((0.27, 0.48), (0.52, 0.76)):
        win = [(round(x0 * w) + inset, body_top - inset // 2 + 1),
               (round((x0 + 0.06) * w) + inset // 2, round(0.06 * h) + inset + 1),
               (round((x1 - 0.04) * w), round(0.06 * h) + inset + 1),
               (round(x1 * w), body_top - inset // 2 + 1)]
        gfxdraw.filled_polygon(surf, win, (170, 215, 240))
    pygame.draw.line(surf, (120, 15, 20), (0, round(0.62 * h)), (w, round(0.62 * h)),
                     max(1, round(0.03 * h)))
    pygame.draw.circle(surf, (255, 240, 150), (w - max(1, r // 2), round(0.5 * h)),
                       max(1, r // 3))
    for cx in (round(0.22 * w), round(0.78 * w)):
        gfxdraw.filled_circle(surf, cx, h - r - 1, r, (25, 25, 25))
        gfxdraw.aacircle(surf, cx, h - r - 1, r, (25, 25, 25))
        gfxdraw.filled_circle(surf, cx, h - r - 1, max(1, r // 2), (170, 170, 175))
    return surf


def _draw_plain_car(surf: Any, view: MountainView, pos: float, angle: float) -> None:
    """The classic look: black car outline and two grey wheels."""
    from pygame import gfxdraw

    s = view.scale
    ca, sa = math.cos(angle), math.sin(angle)
    ground = np.array([pos, float(hill_height(pos))])

    def world(u: float, v: float) -> tuple[int, int]:
        x = ground[0] + u * ca - v * sa
        y = ground[1] + u * sa + v * ca
        px = view.to_px(x, y)
        return round(px[0]), round(px[1])

    clearance, half = 0.02, 0.06
    body = [world(-half, clearance), world(-half, clearance + 0.06),
            world(half, clearance + 0.06), world(half, clearance)]
    gfxdraw.aapolygon(surf, body, (0, 0, 0))
    radius = max(1, round(0.018 * s))
    for u in (-0.035, 0.035):
        cx, cy = world(u, clearance)
        gfxdraw.aacircle(surf, cx, cy, radius, (128, 128, 128))
        gfxdraw.filled_circle(surf, cx, cy, radius, (128, 128, 128))


class _Cache:
    backgrounds: dict[tuple[int, int, bool, float], Any] = {}  # noqa: RUF012
    sprites: dict[tuple[int, int], Any] = {}  # noqa: RUF012


def paint_frame(view: MountainView, position: float, goal: float, textured: bool) -> np.ndarray:
    """Draw the car at ``position`` as a uint8 ``(H, W, 3)`` frame."""
    import pygame

    key = (view.width, view.height, textured, goal)
    if key not in _Cache.backgrounds:
        if textured:
            bg = _textured_background(view, goal).astype(np.uint8)
            surf = pygame.surfarray.make_surface(np.ascontiguousarray(bg.transpose(1, 0, 2)))
        else:
            surf = pygame.Surface((view.width, view.height))
            surf.fill((255, 255, 255))
            xs = np.linspace(MIN_POSITION, MAX_POSITION, 200)
            pts = [view.to_px(float(x), float(y)) for x, y in zip(xs, hill_height(xs), strict=True)]
            pygame.draw.aalines(surf, (0, 0, 0), False, pts)
        _draw_flag(surf, view, goal, textured)
        _Cache.backgrounds[key] = surf
    surf = _Cache.backgrounds[key].copy()
    slope = 3.0 * 0.45 * math.cos(3.0 * position)
    angle = math.atan(slope)
    if textured:
        skey = (view.width, view.height)
        if skey not in _Cache.sprites:
            _Cache.sprites[skey] = _car_sprite(view)
        sprite = pygame.transform.rotozoom(_Cache.sprites[skey], math.degrees(angle), 1.0)
        half_h = _Cache.sprites[skey].get_height() / 2 / view.scale
        cx = position - math.sin(angle) * half_h * 0.95
        cy = float(hill_height(position)) + math.cos(angle) * half_h * 0.95
        px, py = view.to_px(cx, cy)
        surf.blit(sprite, sprite.get_rect(center=(round(px), round(py))))
    else:
        _draw_plain_car(surf, view, position, angle)
    return np.ascontiguousarray(np.transpose(pygame.surfarray.array3d(surf), (1, 0, 2)))
