"""Goal-baseline reward of VLM-RM (Rocamonde et al., 2023), as pure tensor math.

With unit embeddings ``s`` (state), ``g`` (goal) and ``b`` (baseline), ``d = g - b``, the
projection ``P = d d^T / ||d||^2`` and strength ``alpha``::

    R(s) = 1 - 1/2 * || (alpha * P + (1 - alpha) * I) (s - g) ||^2

``alpha = 0`` is exactly the cosine similarity ``s . g`` (since ``||s - g||^2 = 2 - 2 s.g``);
``alpha = 1`` keeps only the component of ``s - g`` along ``d``, ignoring what the goal and
baseline sentences share. Several prompts are averaged as unit vectors and renormalised so the
``alpha = 0`` identity still holds.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from vlm_reward.errors import ConfigError
from vlm_reward.reward.interface import FrameReward
from vlm_reward.reward.rules import check_alpha

if TYPE_CHECKING:
    from vlm_reward.models.base import Embedder

__all__ = ["GoalBaselineReward", "goal_baseline_reward", "mean_direction", "mix_goals"]


def mean_direction(embeddings: torch.Tensor) -> torch.Tensor:
    """Average ``(K, D)`` embeddings as unit vectors and renormalise to one unit ``(D,)``."""
    if embeddings.ndim == 1:
        embeddings = embeddings.unsqueeze(0)
    return F.normalize(F.normalize(embeddings.float(), dim=-1).mean(dim=0), dim=-1)


def mix_goals(
    text_goal: torch.Tensor | None, image_goal: torch.Tensor | None, image_weight: float
) -> torch.Tensor:
    """One unit goal from a text goal and an image goal (both unit), ``image_weight`` in [0, 1].

    ``normalize(w * g_image + (1 - w) * g_text)``: ``w = 1`` is the image goal alone (RoboCLIP's
    goal from a demonstration), ``w = 0`` the sentence alone.

    Example:
        >>> import torch
        >>> mix_goals(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]), 1.0).tolist()
        [0.0, 1.0]
    """
    w = float(image_weight)
    if not 0.0 <= w <= 1.0:
        raise ConfigError(f"goal_image_weight: expected a value in [0, 1], got {w}")
    if image_goal is None or w == 0.0:
        if text_goal is None:
            raise ConfigError("goal: give a goal sentence, goal images or goal states")
        return mean_direction(text_goal)
    if text_goal is None or w == 1.0:
        return mean_direction(image_goal)
    return F.normalize(w * mean_direction(image_goal) + (1.0 - w) * mean_direction(text_goal),
                       dim=-1)


def goal_baseline_reward(
    states: torch.Tensor,
    goal: torch.Tensor,
    baseline: torch.Tensor | None = None,
    alpha: float = 0.0,
) -> torch.Tensor:
    """Reward of each state embedding in ``states (N, D)``; inputs need not be normalised.

    Example:
        >>> import torch
        >>> s = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> goal_baseline_reward(s, torch.tensor([1.0, 0.0])).tolist()
        [1.0, 0.0]
    """
    alpha = check_alpha(alpha, baseline is not None)
    s = F.normalize(states.float(), dim=-1)
    g = F.normalize(goal.float().reshape(-1), dim=-1)
    diff = s - g
    if alpha == 0.0:
        return 1.0 - 0.5 * diff.pow(2).sum(dim=-1)
    b = F.normalize(baseline.float().reshape(-1), dim=-1)
    d = g - b
    norm_sq = d.pow(2).sum()
    if norm_sq < 1e-12:
        raise ConfigError(
            "baseline: goal and baseline embed to the same vector, so their direction is "
            "undefined; use a baseline that differs from the goal"
        )
    along = (diff @ d / norm_sq).unsqueeze(-1) * d
    mixed = alpha * along + (1.0 - alpha) * diff
    return 1.0 - 0.5 * mixed.pow(2).sum(dim=-1)


class GoalBaselineReward(FrameReward):
    """Goal (and optional baseline) embeddings plus ``alpha``: a reward on state embeddings.

    Changing ``alpha`` with :meth:`with_alpha` reuses the embeddings; nothing is re-embedded.
    """

    def __init__(
        self, goal: torch.Tensor, baseline: torch.Tensor | None = None, alpha: float = 0.0
    ) -> None:
        self.goal = mean_direction(goal)
        self.baseline = None if baseline is None else mean_direction(baseline)
        self._set_alpha(alpha)

    def _set_alpha(self, alpha: float) -> None:
        self.alpha = check_alpha(alpha, self.baseline is not None)

    @classmethod
    def from_prompts(
        cls,
        embedder: Embedder,
        goal: str | Sequence[str],
        baseline: str | Sequence[str] | None = None,
        alpha: float = 0.0,
    ) -> GoalBaselineReward:
        """Embed goal/baseline prompts (cached by the embedder) and build the reward."""
        goals = [goal] if isinstance(goal, str) else list(goal)
        base = None
        if baseline is not None:
            baselines = [baseline] if isinstance(baseline, str) else list(baseline)
            base = embedder.encode_text(baselines)
        return cls(embedder.encode_text(goals), base, alpha)

    def with_alpha(self, alpha: float) -> GoalBaselineReward:
        """Same prompts, different regularisation strength.

        The unit vectors are shared as they are, not renormalised: normalising a unit vector
        again can move its last bits, and sweeps compare rewards across alphas exactly.
        """
        other = copy.copy(self)
        other._set_alpha(alpha)
        return other

    def score(self, states: torch.Tensor) -> torch.Tensor:
        return goal_baseline_reward(states, self.goal, self.baseline, self.alpha)

