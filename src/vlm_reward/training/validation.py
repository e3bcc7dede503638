"""Does the configured algorithm fit the environment? Checked before a run starts.

Stable-Baselines3 finds these mistakes itself, but with an ``AssertionError`` from deep inside
its constructor, after the reward model was loaded and the run folder created. The config
schema cannot see them (they depend on the env's spaces), so :func:`check_algorithm_fits_env`
opens one env, reads its spaces and raises :class:`~vlm_reward.errors.ConfigError` naming the
key to change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vlm_reward.errors import ConfigError

if TYPE_CHECKING:
    from vlm_reward.config import AlgorithmConfig, RunConfig

__all__ = ["ACTION_SPACES", "check_algorithm_fits_env", "check_algorithm_spaces"]

ACTION_SPACES: dict[str, tuple[str, ...]] = {
    "PPO": ("Box", "Discrete", "MultiDiscrete", "MultiBinary"),
    "SAC": ("Box",),
    "DQN": ("Discrete",),
}
"""Action space classes (``gymnasium.spaces``) each algorithm supports, as SB3 passes them to
``BaseAlgorithm(supported_action_spaces=...)`` (a test keeps this table in step with SB3)."""


def check_algorithm_spaces(
    algorithm: AlgorithmConfig, action_space: Any, observation_space: Any, env_id: str = "the env"
) -> None:
    """Raise :class:`ConfigError` if SB3 would refuse ``algorithm`` for these spaces.

    Covers the action space kind, a Dict observation without ``MultiInputPolicy`` (and the
    reverse), ``CnnPolicy`` on non-image observations, gSDE with discrete actions and
    unbounded continuous actions.
    """
    import numpy as np
    from gymnasium import spaces
    from stable_baselines3.common.preprocessing import is_image_space

    kind = type(action_space).__name__
    name = algorithm.name
    if kind not in ACTION_SPACES[name]:
        fit = [a for a, kinds in ACTION_SPACES.items() if kind in kinds]
        raise ConfigError(
            f"algorithm.name: {name} needs a {' or '.join(ACTION_SPACES[name])} action space, "
            f"but {env_id} has {action_space}; "
            + (f"algorithms that fit: {', '.join(fit)}" if fit
               else "none of " + ", ".join(ACTION_SPACES) + " supports it")
        )
    policy = algorithm.policy
    is_dict = isinstance(observation_space, spaces.Dict)
    if is_dict != (policy == "MultiInputPolicy"):
        need = "MultiInputPolicy" if is_dict else "MlpPolicy (or CnnPolicy for images)"
        raise ConfigError(f"algorithm.policy: {env_id} has {type(observation_space).__name__} "
                          f"observations, which {policy} cannot take; use {need}")
    if policy == "CnnPolicy" and not is_image_space(observation_space, check_channels=False):
        raise ConfigError(f"algorithm.policy: CnnPolicy needs image observations, but {env_id} "
                          f"has {observation_space}; use MlpPolicy")
    if algorithm.hyperparameters.get("use_sde") and not isinstance(action_space, spaces.Box):
        raise ConfigError(f"algorithm.hyperparameters.use_sde: gSDE needs continuous (Box) "
                          f"actions, but {env_id} has {action_space}; remove use_sde")
    if isinstance(action_space, spaces.Box) and not np.all(
        np.isfinite([action_space.low, action_space.high])
    ):
        raise ConfigError(f"env.id: {env_id} has unbounded actions {action_space}; SB3 needs "
                          "finite bounds for continuous actions: choose an env that has them")


def check_algorithm_fits_env(cfg: RunConfig) -> None:
    """Open one env of the run (no reward model), check its spaces and episode length against
    the algorithm and the reward, close it."""
    from vlm_reward.factory import check_reward_fits_episode
    from vlm_reward.training.env_factory import make_env

    env = make_env(cfg, None, "none")
    try:
        action_space, observation_space = env.action_space, env.observation_space
        # a TimeLimit's length, else the project envs' own fixed episode length
        max_steps = (env.spec.max_episode_steps if env.spec is not None else None) or getattr(
            env.unwrapped, "episode_length", None)
    finally:
        env.close()
    check_algorithm_spaces(cfg.algorithm, action_space, observation_space, cfg.env.id)
    if cfg.uses_vlm:
        check_reward_fits_episode(cfg.reward, max_steps)  # type: ignore[arg-type]
        if cfg.reward.learned is not None:  # type: ignore[union-attr]
            from vlm_reward.learned.build import observation_shape

            observation_shape(cfg.reward.learned, observation_space)  # type: ignore[union-attr]
