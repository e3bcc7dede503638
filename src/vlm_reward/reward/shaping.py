"""From the VLM's score to the training reward: normalisation, shaping and the env's reward.

Applied in this order to each step's VLM score ``v`` (the score of the frame rendered after
the step, i.e. of the next state ``s'``):

1. ``normalize``: ``v <- (v - mean) / std`` with running statistics over every score seen so
   far (the statistics used are those after the batch, as VecNormalize does per step).
2. ``shaping_gamma``: potential-based shaping (Ng, Harada and Russell 1999) with the score as
   the potential ``Phi``: ``v <- gamma * Phi(s') - Phi(s)``, which leaves the optimal policy of
   the env's own reward unchanged. ``Phi(s')`` is 0 when the step terminates the episode (an
   absorbing state), and ``Phi(s_0)`` of the first state is taken as 0 because no frame is
   rendered at reset; that adds ``-Phi(s_0)``, which no action can change.
3. ``r = vlm_weight * v + env_weight * r_env`` (FuRL uses ``r_env + 0.1 * r_vlm``).
"""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.running_mean_std import RunningMeanStd

from vlm_reward.errors import ConfigError

__all__ = ["RewardMix"]


class RewardMix:
    """Turn VLM scores (and env rewards) of a step stream into training rewards.

    Example:
        >>> import numpy as np
        >>> mix = RewardMix(vlm_weight=0.1, env_weight=1.0)
        >>> out, _ = mix.apply(np.array([0.5]), np.array([1.0]), np.array([True]),
        ...                    np.array([False]), mix.new_state())
        >>> [round(x, 4) for x in out.tolist()]
        [1.05]
    """

    def __init__(
        self,
        vlm_weight: float = 1.0,
        env_weight: float = 0.0,
        normalize: bool = False,
        shaping_gamma: float | None = None,
        epsilon: float = 1e-8,
    ) -> None:
        if shaping_gamma is not None and not 0.0 < shaping_gamma <= 1.0:
            raise ConfigError(f"shaping gamma: expected a value in (0, 1], got {shaping_gamma}")
        self.vlm_weight = float(vlm_weight)
        self.env_weight = float(env_weight)
        self.normalize = bool(normalize)
        self.shaping_gamma = shaping_gamma
        self.epsilon = epsilon
        self.stats = RunningMeanStd(shape=())

    @property
    def is_identity(self) -> bool:
        """True when the training reward is the VLM score itself."""
        return (self.vlm_weight == 1.0 and self.env_weight == 0.0 and not self.normalize
                and self.shaping_gamma is None)

    @property
    def needs_env_reward(self) -> bool:
        return self.env_weight != 0.0

    def new_state(self) -> float | None:
        """Per-stream state: the potential of the current state (``None`` before any step)."""
        return None

    def apply(
        self,
        vlm: np.ndarray,
        env: np.ndarray | None,
        starts: np.ndarray,
        terminals: np.ndarray,
        state: float | None,
    ) -> tuple[np.ndarray, float | None]:
        """Training rewards ``(T,)`` for ``T`` consecutive steps of one stream."""
        v = np.asarray(vlm, np.float64)
        if self.normalize:
            self.stats.update(v)
            v = (v - self.stats.mean) / np.sqrt(self.stats.var + self.epsilon)
        if self.shaping_gamma is not None:
            shaped = np.empty_like(v)
            previous = 0.0 if state is None else state
            for t in range(v.shape[0]):
                if bool(starts[t]):
                    previous = 0.0
                after = 0.0 if bool(terminals[t]) else v[t]
                shaped[t] = self.shaping_gamma * after - previous
                previous = v[t]
            state = previous
            v = shaped
        out = self.vlm_weight * v
        if self.env_weight != 0.0:
            if env is None:
                raise ConfigError("reward.env_weight is set, but no env rewards were given")
            out = out + self.env_weight * np.asarray(env, np.float64)
        return out.astype(np.float32), state
