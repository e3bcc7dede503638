"""Benchmark suites of the field as ``vlm_reward/`` envs: Meta-World, DeepMind Control, Atari.

Every preset in :data:`~vlm_reward.envs.suites.presets.PRESETS` is registered with Gymnasium
as ``vlm_reward/<suite>-<task>-v0`` (e.g. ``vlm_reward/metaworld-door-open-v0``,
``vlm_reward/dmc-cartpole-swingup-v0``, ``vlm_reward/atari-pong-v0``). Registration imports
no suite package; making an env does, and a missing extra raises
:class:`~vlm_reward.errors.DependencyNotInstalled` with the pip command
(``pip install 'vlm-reward[metaworld]'``, ``[dmc]``, ``[atari]``).

Example:
    >>> from vlm_reward.envs.suites import PRESETS, SUITE_IDS
    >>> "vlm_reward/dmc-cartpole-swingup-v0" in SUITE_IDS
    True
    >>> PRESETS["vlm_reward/atari-pong-v0"].baseline
    'a game of Pong with two paddles and a ball'
"""

from __future__ import annotations

import gymnasium as gym

from vlm_reward.envs.suites.presets import PRESETS, SUITES, Preset, SuiteInfo, preset_id

__all__ = ["PRESETS", "SUITES", "SUITE_IDS", "Preset", "SuiteInfo", "preset_id",
           "register_suite_envs"]

SUITE_IDS: tuple[str, ...] = tuple(PRESETS)


def register_suite_envs() -> None:
    """Register every preset id with Gymnasium (idempotent; the env classes load lazily)."""
    for env_id, preset in PRESETS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=preset.info.entry_point,
                         kwargs={"task": preset.task})
