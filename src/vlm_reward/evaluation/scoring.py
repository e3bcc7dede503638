"""Score a dataset with a VLM reward and pick the reference it is compared against.

References:

* ``env_reward`` - the environment's own reward per frame;
* ``success`` - the per-frame success flag (binary);
* ``human`` - imported human labels, majority vote per frame (binary);
* ``state:NAME`` - a state variable (e.g. ``state:position`` for MountainCar);
* ``auto`` - ``human`` if labels were imported, else ``success`` if it varies, else
  ``env_reward``.

Frames without a reference value (empty cells, unlabelled frames) are left out of the metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from vlm_reward.errors import ConfigError
from vlm_reward.evaluation.cache import embed_frames
from vlm_reward.evaluation.dataset import StateDataset
from vlm_reward.evaluation.errors import DatasetError
from vlm_reward.evaluation.metrics import MetricValue, compute_metrics
from vlm_reward.evaluation.progress import progress_bar

if TYPE_CHECKING:
    import torch

    from vlm_reward.config import EnvConfig
    from vlm_reward.models.base import Embedder
    from vlm_reward.reward import FrameReward

__all__ = [
    "REFERENCES",
    "Reference",
    "at_episode_ends",
    "check_rollouts",
    "dataset_env",
    "embed_dataset",
    "episode_rewards",
    "evaluate_rewards",
    "frame_rewards",
    "resolve_reference",
]

REFERENCES = ("auto", "env_reward", "success", "human", "state:NAME")


@dataclass
class Reference:
    """Reference values for a subset of a dataset's frames.

    Attributes:
        name: which reference (``env_reward``, ``success``, ``human``, ``state:NAME``).
        index: frame indices that have a reference value.
        values: the reference value of each of those frames.
        binary: True for 0/1 labels (ROC AUC applies).
    """

    name: str
    index: np.ndarray
    values: np.ndarray
    binary: bool

    def __len__(self) -> int:
        return int(self.index.size)


def _from_column(name: str, column: np.ndarray, binary: bool) -> Reference:
    keep = np.flatnonzero(np.isfinite(column))
    return Reference(name, keep, column[keep].astype(np.float64), binary)


def resolve_reference(ds: StateDataset, reference: str = "auto") -> Reference:
    """Reference values of ``ds`` named by ``reference`` (see the module docstring)."""
    if reference == "auto":
        if ds.has_human_labels():
            return resolve_reference(ds, "human")
        ok = ds.success[np.isfinite(ds.success)]
        if ok.size and ok.min() != ok.max():
            return resolve_reference(ds, "success")
        return resolve_reference(ds, "env_reward")
    if reference == "env_reward":
        ref = _from_column("env_reward", ds.env_reward, binary=False)
    elif reference == "success":
        ref = _from_column("success", ds.success, binary=True)
    elif reference == "human":
        labels = ds.human_labels()
        ref = Reference("human", labels.index, labels.label.astype(np.float64), True)
    elif reference.startswith("state:"):
        var = reference.removeprefix("state:")
        if var not in ds.states:
            raise ConfigError(
                f"reference: the dataset has no state variable {var!r}; choose from "
                f"{', '.join(ds.state_names) or '(none)'}"
            )
        ref = _from_column(reference, ds.states[var], binary=False)
    else:
        raise ConfigError(
            f"reference: unknown {reference!r}; choose from {', '.join(REFERENCES)}"
        )
    if len(ref) < 2:
        raise DatasetError(
            f"reference: dataset {ds.root} has {len(ref)} frame(s) with a {ref.name} value; "
            "metrics need at least 2 (collect more states or import labels)"
        )
    return ref


def embed_dataset(embedder: Embedder, ds: StateDataset, *, cache: bool = True,
                  progress: bool = False) -> torch.Tensor:
    """Image embeddings of every frame, cached in ``DATASET/cache`` unless ``cache=False``."""
    with progress_bar(f"embed {len(ds)} frames ({embedder.name})", len(ds), progress) as adv:
        return embed_frames(embedder, ds.frames, cache_dir=ds.cache_dir if cache else None,
                            progress=adv)


def dataset_env(ds: StateDataset) -> EnvConfig:
    """The env a dataset was collected from, at its frame size: what ``reward.goal_states``
    are rendered in, so a goal state looks like the dataset's frames."""
    from vlm_reward.config import EnvConfig

    return EnvConfig(id=ds.env_id, kwargs=dict(ds.meta.get("env_kwargs") or {}),
                     render_size=(int(ds.frames.shape[1]), int(ds.frames.shape[2])))


def frame_rewards(family: FrameReward, embeddings: torch.Tensor) -> np.ndarray:
    """Rewards of a dataset's frames as independent states, float64 ``(N,)``.

    Per-frame families score each frame; temporal ones (window, episode) score each frame as
    a one-frame episode (:meth:`FrameReward.score`), the rule every ``eval`` command uses.
    """
    return family.score(embeddings).numpy().astype(np.float64)


def check_rollouts(ds: StateDataset) -> None:
    """Refuse a state sweep where episodes are needed: its frames are independent states."""
    if "sweep" in ds.meta:
        raise ConfigError(
            f"--along-episodes: {ds.root} is a state sweep (independent states, not episodes); "
            "collect rollouts with eval collect --policy, or drop --along-episodes"
        )


def episode_rewards(
    embedder: Embedder, family: FrameReward, ds: StateDataset, embeddings: torch.Tensor | None
) -> np.ndarray:
    """Rewards of a rollout dataset's frames along its episodes, as training computes them.

    Each episode (``episode`` column, frames in ``step`` order) is one step stream: a window
    holds the episode's previous frames, an episode reward lands on its last frame (0
    elsewhere). ``embeddings`` are the frames' image embeddings (ignored, and may be None, for
    a family that embeds clips of frames with a video model). State sweeps are refused: their
    frames are independent states, not episodes.
    """
    from vlm_reward.reward import RewardModel, Steps

    check_rollouts(ds)
    values = np.empty(len(ds), np.float64)
    rm = RewardModel(embedder, family)
    for episode in np.unique(ds.episode):
        idx = np.flatnonzero(ds.episode == episode)
        idx = idx[np.argsort(ds.step[idx], kind="stable")]
        n = idx.size
        steps = Steps(np.zeros(n, int), np.arange(n) == 0, np.arange(n) == n - 1)
        if family.takes_frames:
            values[idx] = rm.step_rewards(np.asarray(ds.frames[idx]), steps)
        else:
            values[idx] = rm.step_rewards_from_embeddings(embeddings[idx], steps)
    return values


def at_episode_ends(ds: StateDataset, ref: Reference) -> Reference:
    """``ref`` restricted to the last frame of each episode: where an episode reward lands."""
    last = {}
    for i, (episode, step) in enumerate(zip(ds.episode, ds.step, strict=True)):
        if episode not in last or step > ds.step[last[episode]]:
            last[episode] = i
    keep = np.isin(ref.index, np.fromiter(last.values(), int))
    out = Reference(f"{ref.name} at episode ends", ref.index[keep], ref.values[keep],
                    ref.binary)
    if len(out) < 2:
        raise DatasetError(
            f"reference: dataset {ds.root} has {len(out)} episode end(s) with a {ref.name} "
            "value; an episode reward needs at least 2 episodes"
        )
    return out


def evaluate_rewards(
    rewards: np.ndarray,
    ref: Reference,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, MetricValue]:
    """Metrics of per-frame rewards against a reference (only frames that have one)."""
    rewards = np.asarray(rewards, dtype=np.float64)
    return compute_metrics(rewards[ref.index], ref.values, binary=ref.binary, n_boot=n_boot,
                           seed=seed, confidence=confidence)
