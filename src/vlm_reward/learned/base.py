"""The contract every learned reward keeps: a small network trained online from VLM labels.

A learned reward sits between the env steps and the VLM. Training hands it the frames (and,
when asked for, the observations) of new steps; it decides which of them the VLM labels
(:attr:`LearnedReward.vlm`, a :class:`vlm_reward.reward.RewardModel`), trains its own model
from those labels on its schedule, and gives the reward of every step. The buffers keep each
step's *inputs* (:meth:`LearnedReward.inputs`), so when the model changes the stored rewards
are recomputed from them (:meth:`LearnedReward.predict`) without asking the VLM again.

Implementations: :mod:`vlm_reward.learned.distill` (a student ensemble that regresses the VLM
reward and queries it where the ensemble disagrees) and :mod:`vlm_reward.learned.preference`
(a Bradley-Terry reward model learned from VLM comparisons of pairs). Build one with
:func:`vlm_reward.learned.build.build_learned_reward`; :meth:`LearnedReward.save` writes the
one file format (:func:`vlm_reward.learned.build.load_learned_reward` reads it back, without
the VLM).
"""

from __future__ import annotations

import weakref
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from vlm_reward.atomic import atomic_path
from vlm_reward.errors import ConfigError

if TYPE_CHECKING:
    from vlm_reward.config import LearnedConfig
    from vlm_reward.reward import RewardModel
    from vlm_reward.reward.model import Steps

__all__ = ["FILE_FORMAT", "LearnedReward"]

FILE_FORMAT = 1
"""Version of the saved file (:meth:`LearnedReward.save`)."""


class LearnedReward(ABC):
    """A reward model learned from VLM labels, asked for rewards step by step during training.

    Args:
        cfg: the ``reward.learned`` section.
        vlm: the reward model whose labels are learned (its embedder may run on Ray); None
            when loaded for scoring only (no more labels can be asked for).
        seed: seeds the networks and the query sampling (the run's seed unless cfg sets one).
        observation_shape: ``inputs: observation``: the env's observation shape (a Box); the
            model sees it flattened.
    """

    kind: ClassVar[str]
    """The ``reward.learned.kind`` this class implements."""

    def __init__(self, cfg: LearnedConfig, vlm: RewardModel | None, seed: int,
                 observation_shape: tuple[int, ...] | None = None) -> None:
        if cfg.inputs == "observation" and observation_shape is None:
            raise ConfigError(
                "reward.learned.inputs observation: the env's observation shape is needed; "
                "build the reward with build_learned_reward(..., observation_space=...)"
            )
        self.cfg = cfg
        self.vlm = vlm
        self.seed = seed
        self.observation_shape = (None if observation_shape is None
                                  else tuple(int(d) for d in observation_shape))

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one step's input: ``(S, S, 3)`` uint8 frames or ``(D,)`` float32."""
        if self.cfg.inputs == "frames":
            return (self.cfg.frame_size, self.cfg.frame_size, 3)
        assert self.observation_shape is not None  # checked in __init__
        return (int(np.prod(self.observation_shape)),)

    @property
    def scores_frames(self) -> bool:
        """True when the model scores frames (``inputs: frames``), not observation vectors."""
        return self.cfg.inputs == "frames"

    def inputs(self, frames: np.ndarray | None, observations: np.ndarray | None) -> np.ndarray:
        """The learned model's input for each step, ``(N, ...)``: downsampled uint8 frames or
        the observation vectors (``cfg.inputs``); what buffers store for later relabels.

        The result for the very arrays of the previous call is reused (training asks for the
        inputs of the batch :meth:`rewards` has just resized; the arrays are not changed
        between the two calls). Only weak references to them are kept.
        """
        memo = self.__dict__.get("_inputs_memo")
        if memo is not None and memo[0]() is frames and memo[1]() is observations:
            return memo[2]
        if self.cfg.inputs == "frames":
            if frames is None:
                raise ConfigError("learned reward: inputs frames, but no frames were given")
            from vlm_reward.learned.networks import downsample

            out = downsample(frames, self.cfg.frame_size)
        else:
            if observations is None:
                raise ConfigError(
                    "learned reward: inputs observation, but no observations were given (this "
                    "model scores env observations, not frames)"
                )
            obs = np.asarray(observations, np.float32)
            out = obs.reshape(obs.shape[0], -1)
        try:
            self._inputs_memo = (_weak(frames), _weak(observations), out)
        except TypeError:  # not weakly referable (a list of frames): no reuse
            self._inputs_memo = None
        return out

    def score_frames(self, frames: np.ndarray) -> np.ndarray:
        """Rewards ``(N,)`` of uint8 frames by the learned model alone (scoring, no VLM);
        an ``inputs: observation`` model cannot score frames and says so."""
        if not self.scores_frames:
            raise ConfigError(
                "this learned reward was trained on env observations (reward.learned.inputs "
                "observation), so it cannot score frames; score frames with a run trained "
                "with inputs: frames, or with the VLM's own reward (--goal or a reward YAML)"
            )
        return self.predict(self.inputs(frames, None))

    @abstractmethod
    def rewards(self, frames: np.ndarray, observations: np.ndarray | None, env_steps: int,
                steps: Steps | None = None) -> np.ndarray:
        """Training rewards ``(N,)`` float32 for new steps, asking the VLM about those the
        query rule picks; ``env_steps`` is the run's step count after these steps, ``steps``
        each step's env stream and episode flags (training passes them; clips of several
        steps must not span two envs or episodes)."""

    def queried(self) -> np.ndarray | None:
        """``(N,)`` bool: which steps of the last :meth:`rewards` call the VLM labelled.

        Their reward is the VLM's own, and buffers keep it through relabels. None (the
        default) when the kind gives no step its VLM label (preferences label pairs).
        """
        return None

    @abstractmethod
    def predict(self, inputs: np.ndarray) -> np.ndarray:
        """The learned model's rewards ``(N,)`` float32 for stored :meth:`inputs` (no VLM)."""

    @abstractmethod
    def maybe_update(self, env_steps: int) -> bool:
        """Train the model if its schedule says so at ``env_steps``; True when it changed
        (rewards already stored are stale and should be recomputed with :meth:`predict`)."""

    @abstractmethod
    def metrics(self) -> dict[str, float]:
        """Values logged under ``reward/``: ``vlm_queries`` (frames or pairs so far),
        ``vlm_queries_per_step``, ``learned_loss``, and agreement with the VLM on held-out
        labels (``learned_pearson``, ``learned_epic``) once measurable."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs: weights, optimiser, label store, counters, RNG.

        Only tensors, numbers, strings, None and lists/dicts of them, so the file loads with
        ``torch.load(weights_only=True)`` (no pickled code runs when a model is read).
        """

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` (the run resumes asking and training where it was)."""

    def save(self, path: Path | str) -> Path:
        """Write the model with its label store to one file (atomically); it loads for
        scoring without the VLM (:func:`vlm_reward.learned.build.load_learned_reward`) and
        resumes training (:meth:`load_state_dict`)."""
        import torch

        payload = {
            "format": FILE_FORMAT,
            "kind": self.kind,
            "learned": self.cfg.model_dump(mode="json"),
            "seed": int(self.seed),
            "observation_shape": (None if self.observation_shape is None
                                  else list(self.observation_shape)),
            "state": self.state_dict(),
        }
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)
        return path


def _none() -> None:
    return None


def _weak(x: Any) -> Callable[[], Any]:
    """A weak reference to ``x`` (None stays None)."""
    return _none if x is None else weakref.ref(x)
