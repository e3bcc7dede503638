"""Classic-control envs with small canvases, so VLM-rewarded training tests stay fast.

They are the real Gymnasium CartPole and Pendulum, rendered at 96x64 / 64x64 instead of
600x400 / 500x500 (large frames make the resize in preprocessing dominate on 2 busy cores).
CartPole draws with fixed pixel sizes (the cart sits 100 px up), so a small canvas would show
nothing: it is drawn on the stock canvas and shrunk.
Use as ``small_envs:vlmr_test/SmallCartPole-v0`` so subprocesses import this module too.
"""

from __future__ import annotations

import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleEnv
from gymnasium.envs.classic_control.pendulum import PendulumEnv
from gymnasium.envs.registration import register, registry
from PIL import Image

__all__ = ["SmallCartPole", "SmallPendulum"]


class SmallCartPole(CartPoleEnv):
    def __init__(self, render_mode: str | None = None, width: int = 96, height: int = 64):
        super().__init__(render_mode=render_mode)
        self.size = (width, height)

    def render(self):
        frame = super().render()
        if self.render_mode != "rgb_array" or frame is None:
            return frame
        return np.asarray(Image.fromarray(frame).resize(self.size, Image.Resampling.BOX))


class SmallPendulum(PendulumEnv):
    def __init__(self, render_mode: str | None = None, width: int = 64, height: int = 64):
        super().__init__(render_mode=render_mode)
        self.screen_dim = min(width, height)


if "vlmr_test/SmallCartPole-v0" not in registry:
    register(id="vlmr_test/SmallCartPole-v0", entry_point=SmallCartPole, max_episode_steps=200)
    register(id="vlmr_test/SmallPendulum-v0", entry_point=SmallPendulum, max_episode_steps=50)
