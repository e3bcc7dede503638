"""Classic-control envs with small canvases, so VLM-rewarded training tests stay fast.

They are the real Gymnasium CartPole and Pendulum, rendered at 96x64 / 64x64 instead of
600x400 / 500x500 (large frames make the resize in preprocessing dominate on 2 busy cores).
Gymnasium draws CartPole with fixed pixel sizes (the cart sits 100 px up), which leaves a small
canvas blank, so SmallCartPole draws cart and pole itself, scaled to the canvas.
Use as ``small_envs:vlmr_test/SmallCartPole-v0`` so subprocesses import this module too.
"""

from __future__ import annotations

import math

import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleEnv
from gymnasium.envs.classic_control.pendulum import PendulumEnv
from gymnasium.envs.registration import register, registry
from PIL import Image, ImageDraw

__all__ = ["CARTPOLE", "PENDULUM", "SmallCartPole", "SmallPendulum"]

# ids that also make subprocesses import this module
CARTPOLE = "small_envs:vlmr_test/SmallCartPole-v0"
PENDULUM = "small_envs:vlmr_test/SmallPendulum-v0"


class SmallCartPole(CartPoleEnv):
    def __init__(self, render_mode: str | None = None, width: int = 96, height: int = 64):
        super().__init__(render_mode=render_mode)
        self.size = (width, height)

    def render(self):
        if self.render_mode != "rgb_array" or self.state is None:
            return super().render()
        (x, _, theta, _), k = self.state, 4  # drawn k times larger, then reduced: antialiased
        w, h = self.size[0] * k, self.size[1] * k
        image = Image.new("RGB", (w, h), (255, 255, 255))
        draw = ImageDraw.Draw(image)
        scale = w / (2 * self.x_threshold)
        cx, cy, cw, ch = w / 2 + x * scale, 0.75 * h, w / 12, h / 14
        draw.line([(0, cy + ch), (w, cy + ch)], fill=(0, 0, 0))
        draw.rectangle([cx - cw, cy - ch, cx + cw, cy + ch], fill=(0, 0, 0))
        pole = scale * 2 * self.length
        tip = (cx + pole * math.sin(theta), cy - pole * math.cos(theta))
        draw.line([(cx, cy), tip], fill=(202, 152, 101), width=max(1, w // 40))
        return np.asarray(image.reduce(k))


class SmallPendulum(PendulumEnv):
    def __init__(self, render_mode: str | None = None, width: int = 64, height: int = 64):
        super().__init__(render_mode=render_mode)
        self.screen_dim = min(width, height)


if "vlmr_test/SmallCartPole-v0" not in registry:
    register(id="vlmr_test/SmallCartPole-v0", entry_point=SmallCartPole, max_episode_steps=200)
    register(id="vlmr_test/SmallPendulum-v0", entry_point=SmallPendulum, max_episode_steps=50)
