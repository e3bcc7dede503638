"""Rewards of motions rather than poses: a sliding window, and one reward per episode.

Both pool CLIP frame embeddings by their mean (renormalised), the standard way to turn an
image model into a clip embedding, and hand the pooled embedding to an inner per-frame reward
(goal-baseline or negatives), so every goal form (sentences, images, a demonstration clip)
works for them too.

* :class:`WindowReward`: the reward at step ``t`` scores the mean of the last ``k`` frames of
  the episode. At the episode start the window holds only the frames seen so far (step 0 is
  scored on one frame, step 1 on two, ...): no padding with repeated or blank frames.
* :class:`EpisodeReward` (RoboCLIP): zero on every step but the last of an episode, which gets
  the score of the whole episode's clip (every ``stride``-th frame, from the first).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from vlm_reward.errors import ConfigError
from vlm_reward.reward.interface import FrameReward

__all__ = ["EpisodeReward", "WindowReward"]


def _check_inner(inner: FrameReward) -> FrameReward:
    if not isinstance(inner, FrameReward) or inner.temporal:
        raise ConfigError("inner reward: expected a per-frame reward (goal-baseline or negatives)")
    return inner


class WindowReward(FrameReward):
    """Score the mean embedding of the last ``window`` frames of the episode.

    Example:
        >>> import torch
        >>> from vlm_reward.reward import GoalBaselineReward
        >>> r = WindowReward(GoalBaselineReward(torch.tensor([1.0, 0.0])), window=2)
        >>> s = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> rewards, _ = r.stream(s, torch.tensor([True, False]), torch.tensor([False, True]),
        ...                       r.new_state())
        >>> [round(x, 4) for x in rewards.tolist()]  # 1 frame, then the mean of both
        [1.0, 0.7071]
    """

    temporal = True

    def __init__(self, inner: FrameReward, window: int) -> None:
        if int(window) < 1:
            raise ConfigError(f"window: expected a positive number of frames, got {window}")
        self.inner = _check_inner(inner)
        self.window = int(window)

    def score(self, states: torch.Tensor) -> torch.Tensor:
        return self.inner.score(states)

    def new_state(self) -> list[torch.Tensor]:
        return []  # the current episode's last (window - 1) unit embeddings

    def stream(
        self, states: torch.Tensor, starts: torch.Tensor, ends: torch.Tensor,
        state: list[torch.Tensor],
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        units = F.normalize(states.float(), dim=-1)
        context = list(state)
        pooled = []
        for t in range(units.shape[0]):
            if bool(starts[t]):
                context = []
            context.append(units[t])
            context = context[-self.window:]
            pooled.append(torch.stack(context).mean(dim=0))
            if bool(ends[t]):
                context = []
        rewards = self.inner.score(torch.stack(pooled)) if pooled else units.new_zeros(0)
        return rewards, context[-(self.window - 1):] if self.window > 1 else []


@dataclass
class _EpisodeClip:
    total: torch.Tensor | None = None  # sum of the kept unit embeddings
    seen: int = 0  # frames of this episode so far, kept or not


class EpisodeReward(FrameReward):
    """One sparse reward at the episode end: the score of the episode's clip.

    Example:
        >>> import torch
        >>> from vlm_reward.reward import GoalBaselineReward
        >>> r = EpisodeReward(GoalBaselineReward(torch.tensor([1.0, 0.0])), stride=1)
        >>> s = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
        >>> rewards, _ = r.stream(s, torch.tensor([True, False]), torch.tensor([False, True]),
        ...                       r.new_state())
        >>> rewards.tolist()
        [0.0, 1.0]
    """

    temporal = True

    def __init__(self, inner: FrameReward, stride: int = 4) -> None:
        if int(stride) < 1:
            raise ConfigError(f"episode_stride: expected a positive integer, got {stride}")
        self.inner = _check_inner(inner)
        self.stride = int(stride)

    def score(self, states: torch.Tensor) -> torch.Tensor:
        return self.inner.score(states)

    def new_state(self) -> _EpisodeClip:
        return _EpisodeClip()

    def stream(
        self, states: torch.Tensor, starts: torch.Tensor, ends: torch.Tensor, state: _EpisodeClip
    ) -> tuple[torch.Tensor, _EpisodeClip]:
        units = F.normalize(states.float(), dim=-1)
        rewards = units.new_zeros(units.shape[0])
        clip = _EpisodeClip(state.total, state.seen)
        for t in range(units.shape[0]):
            if bool(starts[t]):
                clip = _EpisodeClip()
            if clip.seen % self.stride == 0 or clip.total is None:
                # every stride-th frame from the first; a stream picked up mid-episode (after a
                # resume) starts its clip at the first frame it sees
                clip.total = units[t] if clip.total is None else clip.total + units[t]
            clip.seen += 1
            if bool(ends[t]):
                rewards[t] = self.inner.score(clip.total[None])[0]
                clip = _EpisodeClip()
        return rewards, clip
