"""Atari games through ale-py (which ships the ROMs), ready for a VLM reward.

The game is ALE's ``v5`` env (frameskip 4, sticky actions with probability 0.25: the
settings of Machado et al. 2018); ``obs_type``, ``frameskip``, ``repeat_action_probability``
and ``full_action_space`` pass through. ALE draws a fixed 210x160 screen, so frames are
resized (bilinear) to the requested ``width``/``height`` before the VLM sees them; the
agent's observation is unchanged.

``info["success"]`` follows a per-game rule stated in the preset (Pong: ahead on points;
Freeway: at least one crossing); games without a natural success state (Breakout) report no
``success`` key. The episode ends when the game does, or after ``episode_length`` steps if
given.

Usage examples: docs/suites.md.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from vlm_reward.envs.suites.base import SuiteEnv, require_suite
from vlm_reward.errors import ConfigError

__all__ = ["ATARI_GAMES", "AtariEnv"]

# Preset task -> ALE game name.
ATARI_GAMES: dict[str, str] = {"pong": "Pong", "breakout": "Breakout", "freeway": "Freeway"}

# Preset task -> success of the episode so far, from its running return (see presets.py).
_SUCCESS_RULES: dict[str, Callable[[float], bool]] = {
    "pong": lambda episode_return: episode_return > 0,
    "freeway": lambda episode_return: episode_return >= 1,
}

_PASS_THROUGH = ("obs_type", "frameskip", "repeat_action_probability", "full_action_space")


class AtariEnv(SuiteEnv):
    """An Atari game of the presets (``pong``, ``breakout``, ``freeway``) as a suite env.

    Args:
        task: preset task name.
        render_mode: ``"rgb_array"`` (default) or None.
        width: frame width in pixels (the 160 px screen is resized to it).
        height: frame height in pixels (the 210 px screen is resized to it).
        episode_length: steps per episode; None (default) = until the game ends.
        camera: only ``screen``.
        **kwargs: ALE ``v5`` arguments: obs_type (``rgb``, ``grayscale``, ``ram``),
            frameskip, repeat_action_probability, full_action_space.
    """

    suite = "atari"

    def _make_inner(self) -> Any:
        ale_py = require_suite("atari")
        import gymnasium as gym

        unknown = sorted(set(self._kwargs) - set(_PASS_THROUGH))
        if unknown:
            raise ConfigError(
                f"{self.preset.env_id}: unknown arguments {unknown}; valid: width, height, "
                f"episode_length, {', '.join(_PASS_THROUGH)}"
            )
        if self.camera != "screen":
            raise ConfigError(f"camera: Atari games have one view, 'screen'; got {self.camera!r}")
        gym.register_envs(ale_py)
        game = ATARI_GAMES[self.preset.task]
        return gym.make(f"ALE/{game}-v5", render_mode=self.render_mode, **self._kwargs)

    def _success(self, reward: float, info: dict[str, Any]) -> bool | None:
        rule = _SUCCESS_RULES.get(self.preset.task)
        return None if rule is None else rule(self.episode_return)

    # -------------------------------------------------------- state (datasets)
    @property
    def state_names(self) -> tuple[str, ...]:
        """The 128 bytes of the console RAM: ``ram_0`` ... ``ram_127``."""
        return tuple(f"ram_{i}" for i in range(128))

    def get_state(self) -> np.ndarray:
        """The console RAM as float64: recorded with datasets (no ``set_state``: writing RAM
        does not redraw the screen, so Atari states cannot be swept)."""
        return self._inner.unwrapped.ale.getRAM().astype(np.float64)

    def _render_inner(self) -> np.ndarray:
        from PIL import Image

        screen = np.asarray(self._inner.render(), dtype=np.uint8)
        if screen.shape[:2] == (self.height, self.width):
            return screen
        image = Image.fromarray(screen).resize((self.width, self.height), Image.BILINEAR)
        return np.asarray(image)
