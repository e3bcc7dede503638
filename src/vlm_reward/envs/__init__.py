"""The VLM-RM paper's environments, registered with Gymnasium on import.

``import vlm_reward.envs`` registers:

* ``vlm_reward/CartPole-v0`` -- :class:`~vlm_reward.envs.cartpole.CartPoleEnv`
* ``vlm_reward/MountainCarContinuous-v0`` --
  :class:`~vlm_reward.envs.mountain_car.MountainCarContinuousEnv`
* ``vlm_reward/Humanoid-v0`` -- :class:`~vlm_reward.envs.humanoid.HumanoidEnv` (needs mujoco)

Every env renders ``rgb_array`` frames at the ``width``/``height`` it is given, reports
``info["success"]`` on every step, has a fixed ``episode_length`` (truncation, never
termination), and offers ``env.unwrapped.set_state(state)`` with ``env.unwrapped.state_names``.
The env classes are imported lazily, so importing this package stays cheap.

It also registers the benchmark-suite presets (Meta-World, DeepMind Control, Atari) of
:mod:`vlm_reward.envs.suites` as ``vlm_reward/<suite>-<task>-v0``; their suite packages are
optional extras, imported only when such an env is made.
"""

from __future__ import annotations

import gymnasium as gym

from vlm_reward.envs.suites import register_suite_envs

__all__ = ["CARTPOLE_ID", "ENV_IDS", "HUMANOID_ID", "MOUNTAIN_CAR_ID", "register_envs"]

CARTPOLE_ID = "vlm_reward/CartPole-v0"
MOUNTAIN_CAR_ID = "vlm_reward/MountainCarContinuous-v0"
HUMANOID_ID = "vlm_reward/Humanoid-v0"
ENV_IDS: tuple[str, ...] = (CARTPOLE_ID, MOUNTAIN_CAR_ID, HUMANOID_ID)

_ENTRY_POINTS = {
    CARTPOLE_ID: "vlm_reward.envs.cartpole:CartPoleEnv",
    MOUNTAIN_CAR_ID: "vlm_reward.envs.mountain_car:MountainCarContinuousEnv",
    HUMANOID_ID: "vlm_reward.envs.humanoid:HumanoidEnv",
}


def register_envs() -> None:
    """Register the paper's envs with Gymnasium (idempotent; runs on import).

    The episode length is enforced by each env itself (its ``episode_length`` kwarg), so no
    ``TimeLimit`` is added here; ``gym.make(..., max_episode_steps=N)`` still works on top.
    """
    for env_id, entry_point in _ENTRY_POINTS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point)
    register_suite_envs()


register_envs()
