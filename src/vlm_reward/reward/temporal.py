"""Rewards of motions rather than poses: a sliding window, and one reward per episode.

Both turn a clip of frames into one embedding and hand it to an inner per-frame reward
(goal-baseline or negatives), so every goal form (sentences, images, a demonstration clip)
works for them too. With an image model the clip embedding is the mean of the frames' unit
embeddings (renormalised), the standard way to turn an image model into a clip embedding.
With a video model (``clip_encoder``, e.g. X-CLIP's ``encode_clips``) it is the model's own
video embedding of the clip's frames: the family then takes frames, not embeddings
(``takes_frames``), and a clip is embedded in one batched call per :meth:`stream` call.

* :class:`WindowReward`: the reward at step ``t`` scores the mean of the last ``k`` frames of
  the episode. At the episode start the window holds only the frames seen so far (step 0 is
  scored on one frame, step 1 on two, ...): no padding with repeated or blank frames.
* :class:`EpisodeReward` (RoboCLIP): zero on every step but the last of an episode, which gets
  the score of the whole episode's clip (every ``stride``-th frame, from the first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from vlm_reward.errors import ConfigError
from vlm_reward.reward.interface import FrameReward

__all__ = ["ClipEncoder", "EpisodeReward", "WindowReward"]

#: clips (each a ``(T_i, H, W, 3)`` uint8 tensor) -> ``(M, D)`` unit video embeddings
ClipEncoder = Callable[[list[torch.Tensor]], torch.Tensor]


def _check_inner(inner: FrameReward) -> FrameReward:
    if not isinstance(inner, FrameReward) or inner.temporal:
        raise ConfigError("inner reward: expected a per-frame reward (goal-baseline or negatives)")
    return inner


class _Pooled(FrameReward):
    """What both temporal families share: the inner reward and how a clip is embedded."""

    temporal = True

    def __init__(self, inner: FrameReward, clip_encoder: ClipEncoder | None) -> None:
        self.inner = _check_inner(inner)
        self.clip_encoder = clip_encoder
        #: True with a video model: :meth:`stream` takes uint8 frames ``(T, H, W, 3)``
        self.takes_frames = clip_encoder is not None

    def score(self, states: torch.Tensor) -> torch.Tensor:
        """A one-frame episode: the inner reward of the frame's embedding (for a video model,
        the embedding of the frame as a static clip, which ``encode_images`` gives)."""
        return self.inner.score(states)

    def _items(self, states: torch.Tensor) -> torch.Tensor:
        """What clips are made of: frames for a video model, else unit embeddings."""
        return states if self.takes_frames else F.normalize(states.float(), dim=-1)

    def _score_clips(self, clips: list[list[torch.Tensor]], like: torch.Tensor) -> torch.Tensor:
        if not clips:
            return like.new_zeros(0, dtype=torch.float32)
        if self.clip_encoder is None:
            pooled = torch.stack([torch.stack(c).mean(dim=0) for c in clips])
        else:
            pooled = self.clip_encoder([torch.stack(c) for c in clips])
        return self.inner.score(pooled)


class WindowReward(_Pooled):
    """Score the clip of the last ``window`` frames of the episode.

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

    def __init__(self, inner: FrameReward, window: int,
                 clip_encoder: ClipEncoder | None = None) -> None:
        if int(window) < 1:
            raise ConfigError(f"window: expected a positive number of frames, got {window}")
        super().__init__(inner, clip_encoder)
        self.window = int(window)

    def new_state(self) -> list[torch.Tensor]:
        return []  # the current episode's last (window - 1) unit embeddings (or frames)

    def stream(
        self, states: torch.Tensor, starts: torch.Tensor, ends: torch.Tensor,
        state: list[torch.Tensor],
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        items = self._items(states)
        context = list(state)
        clips = []
        for t in range(items.shape[0]):
            if bool(starts[t]):
                context = []
            context.append(items[t])
            context = context[-self.window:]
            clips.append(list(context))
            if bool(ends[t]):
                context = []
        rewards = self._score_clips(clips, items)
        return rewards, context[-(self.window - 1):] if self.window > 1 else []


@dataclass
class _EpisodeClip:
    kept: list[torch.Tensor] = field(default_factory=list)  # unit embeddings (or frames)
    seen: int = 0  # frames of this episode so far, kept or not


class EpisodeReward(_Pooled):
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

    def __init__(self, inner: FrameReward, stride: int = 4,
                 clip_encoder: ClipEncoder | None = None) -> None:
        if int(stride) < 1:
            raise ConfigError(f"episode_stride: expected a positive integer, got {stride}")
        super().__init__(inner, clip_encoder)
        self.stride = int(stride)

    def new_state(self) -> _EpisodeClip:
        return _EpisodeClip()

    def stream(
        self, states: torch.Tensor, starts: torch.Tensor, ends: torch.Tensor, state: _EpisodeClip
    ) -> tuple[torch.Tensor, _EpisodeClip]:
        items = self._items(states)
        rewards = torch.zeros(items.shape[0])
        clip = _EpisodeClip(list(state.kept), state.seen)
        ended, clips = [], []
        for t in range(items.shape[0]):
            if bool(starts[t]):
                clip = _EpisodeClip()
            if clip.seen % self.stride == 0 or not clip.kept:
                # every stride-th frame from the first; a stream picked up mid-episode (after a
                # resume) starts its clip at the first frame it sees
                clip.kept.append(items[t])
            clip.seen += 1
            if bool(ends[t]):
                ended.append(t)
                clips.append(clip.kept)
                clip = _EpisodeClip()
        if clips:  # every episode that ends here, embedded in one call
            rewards[ended] = self._score_clips(clips, items).float()
        return rewards, clip
