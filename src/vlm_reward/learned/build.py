"""The one place a ``reward.learned`` section becomes a learned reward, and a saved file one again.

:func:`build_learned_reward` picks the class from ``learned.kind`` (``distill`` or
``preference``, imported on first use), checks the inputs fit the env and seeds it;
:func:`load_learned_reward` reads the file :meth:`LearnedReward.save` wrote (or a run folder's
``learned_reward.pt``) without loading any VLM, for scoring.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlm_reward.errors import CheckpointError, ConfigError
from vlm_reward.learned.base import FILE_FORMAT, LearnedReward
from vlm_reward.run_dir import RunDir

if TYPE_CHECKING:
    from gymnasium import spaces

    from vlm_reward.config import LearnedConfig, RewardConfig
    from vlm_reward.reward import RewardModel

__all__ = [
    "LEARNED_KINDS",
    "build_learned_reward",
    "learned_class",
    "learned_reward_file",
    "load_learned_reward",
    "observation_shape",
    "read_learned_file",
]

LEARNED_KINDS: dict[str, str] = {
    "distill": "vlm_reward.learned.distill:DistillReward",
    "preference": "vlm_reward.learned.preference:PreferenceReward",
}
"""``reward.learned.kind`` -> ``module:Class`` implementing :class:`LearnedReward`."""


def learned_class(kind: str) -> type[LearnedReward]:
    """The class of a ``reward.learned.kind`` (its module is imported now)."""
    if kind not in LEARNED_KINDS:
        raise ConfigError(
            f"reward.learned.kind: unknown kind {kind!r}; valid: {', '.join(LEARNED_KINDS)}"
        )
    module, name = LEARNED_KINDS[kind].split(":")
    cls = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, LearnedReward)):
        raise TypeError(f"{LEARNED_KINDS[kind]} is not a LearnedReward")
    return cls


def observation_shape(cfg: LearnedConfig,
                      observation_space: spaces.Space | None) -> tuple[int, ...] | None:
    """The observation shape an ``inputs: observation`` model sees (None for frames);
    ConfigError unless the env's observation space is a Box."""
    if cfg.inputs != "observation":
        return None
    from gymnasium import spaces

    if not isinstance(observation_space, spaces.Box):
        got = "no observation space" if observation_space is None else (
            f"a {type(observation_space).__name__} observation space")
        raise ConfigError(
            f"reward.learned.inputs observation needs a Box (vector) observation space, but "
            f"the env has {got}; use inputs: frames"
        )
    return tuple(int(d) for d in observation_space.shape)


def build_learned_reward(cfg: RewardConfig, vlm: RewardModel | None, seed: int,
                         observation_space: spaces.Space | None = None) -> LearnedReward:
    """The learned reward of ``cfg.learned``, labelled by ``vlm``.

    Args:
        cfg: the ``reward:`` section (``cfg.learned`` must be set).
        vlm: the VLM reward whose per-frame score is learned.
        seed: the run's seed (``learned.seed`` wins when set).
        observation_space: the training env's; needed for ``inputs: observation``.
    """
    learned = cfg.learned
    if learned is None:
        raise ConfigError("reward.learned is not set: there is no learned reward to build")
    shape = observation_shape(learned, observation_space)
    cls = learned_class(learned.kind)
    return cls(learned, vlm, learned.seed if learned.seed is not None else seed,
               observation_shape=shape)


def learned_reward_file(path: Path | str) -> Path | None:
    """The learned-reward file that ``path`` names: the file itself, or a run folder's
    ``learned_reward.pt`` (else its newest checkpoint's); None when ``path`` is neither a
    folder nor a ``.pt`` file (e.g. a reward YAML)."""
    path = Path(path)
    if path.is_dir():
        run = RunDir(path)
        saved = run.learned_reward_path
        if saved.is_file():
            return saved
        newest = [c.learned for c in run.checkpoints() if c.learned is not None]
        if newest:  # a run stopped before it could publish its learned reward
            return newest[0]
        raise ConfigError(
            f"{str(path)!r} is a folder without a learned reward ({saved.name}); give a run "
            "folder trained with reward.learned, a learned_reward.pt file or a reward YAML"
        )
    return path if path.suffix == ".pt" else None


def read_learned_file(path: Path | str) -> dict[str, Any]:
    """The saved payload (format, kind, config, state); CheckpointError if it is damaged."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"learned reward {str(path)!r} does not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types on damaged or foreign files
        raise CheckpointError(
            f"learned reward {str(path)!r} does not load ({type(exc).__name__}: {exc}); is it "
            "a file written by a run with reward.learned?"
        ) from None
    if not isinstance(payload, dict) or payload.get("format") != FILE_FORMAT:
        raise CheckpointError(
            f"learned reward {str(path)!r} is not a learned-reward file of format "
            f"{FILE_FORMAT}; was it written by another version of vlm-reward?"
        )
    return payload


def load_learned_reward(path: Path | str, vlm: RewardModel | None = None) -> LearnedReward:
    """A saved learned reward (file or run folder), ready to :meth:`~LearnedReward.predict`;
    with ``vlm`` it can also ask for new labels."""
    from vlm_reward.config import LearnedConfig

    file = learned_reward_file(path) or Path(path)
    payload = read_learned_file(file)
    cfg = LearnedConfig.model_validate(payload["learned"])
    shape = payload.get("observation_shape")
    model = learned_class(payload["kind"])(
        cfg, vlm, int(payload["seed"]), observation_shape=None if shape is None else tuple(shape)
    )
    model.load_state_dict(payload["state"])
    return model
