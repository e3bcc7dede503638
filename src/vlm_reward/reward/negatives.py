"""MineCLIP-style reward: the probability of the goal among the goal and K negative prompts.

``p = softmax(tau * [cos(s, g), cos(s, n_1), ..., cos(s, n_K)])[0]`` and, with
``subtract_chance``, ``max(p - 1/(K+1), 0)`` so that a frame the model cannot tell apart from
the negatives earns nothing. ``tau`` is the model's own logit scale (CLIP's learned
temperature, about 100) unless set: raw cosines of CLIP sit close together, and without a
suitable temperature the probabilities do too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vlm_reward.errors import ConfigError, PromptError
from vlm_reward.reward.goal_baseline import mean_direction
from vlm_reward.reward.interface import FrameReward

__all__ = ["NegativesReward"]


class NegativesReward(FrameReward):
    """Softmax probability of the goal against negative prompts.

    Args:
        goal: ``(D,)`` or ``(K_g, D)`` goal embeddings (averaged as unit vectors).
        negatives: ``(K, D)`` negative prompt embeddings, one row per prompt, ``K >= 1``.
        temperature: ``tau``, the logit multiplier; positive.
        subtract_chance: return ``max(p - 1/(K+1), 0)`` instead of ``p``.

    Example:
        >>> import torch
        >>> r = NegativesReward(torch.tensor([1.0, 0.0]), torch.tensor([[0.0, 1.0]]), 1.0)
        >>> round(float(r.score(torch.tensor([[1.0, 0.0]]))[0]), 4)  # softmax([1, 0])[0]
        0.7311
    """

    def __init__(
        self,
        goal: torch.Tensor,
        negatives: torch.Tensor,
        temperature: float,
        subtract_chance: bool = False,
    ) -> None:
        if negatives.ndim != 2 or negatives.shape[0] < 1:
            raise PromptError("negatives: give at least one negative prompt")
        if not temperature > 0:
            raise ConfigError(f"temperature: expected a positive number, got {temperature}")
        self.goal = mean_direction(goal)
        self.negatives = F.normalize(negatives.float(), dim=-1)
        self.temperature = float(temperature)
        self.subtract_chance = bool(subtract_chance)

    @property
    def chance(self) -> float:
        """``1 / (K + 1)``: the probability of a frame that matches every prompt equally."""
        return 1.0 / (self.negatives.shape[0] + 1)

    def score(self, states: torch.Tensor) -> torch.Tensor:
        s = F.normalize(states.float(), dim=-1)
        prompts = torch.cat([self.goal[None], self.negatives])
        p = torch.softmax(self.temperature * (s @ prompts.T), dim=-1)[:, 0]
        return (p - self.chance).clamp(min=0.0) if self.subtract_chance else p
