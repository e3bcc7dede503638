"""Turn config sections into live objects: the one place a ``reward:`` becomes a RewardModel.

It sits above the schemas (:mod:`vlm_reward.config`) and the things it builds (local
embedders from :mod:`vlm_reward.models`, Ray embedders from :mod:`vlm_reward.distributed`), so
the schema module stays pure data and training, evaluation and the demo share one builder.
"""

from __future__ import annotations

from vlm_reward.config import RewardConfig
from vlm_reward.distributed import RayEmbedder
from vlm_reward.errors import ConfigError
from vlm_reward.models import Embedder, load_model
from vlm_reward.reward import RewardModel

__all__ = ["build_embedder", "build_reward_model"]


def build_embedder(cfg: RewardConfig) -> Embedder:
    """Load the configured VLM, locally or on Ray actors (``reward.backend``)."""
    if cfg.backend == "ray":
        if cfg.fast_path is not None:
            raise ConfigError(
                "reward.fast_path: only the local backend applies fast-path switches; "
                "remove reward.fast_path or use backend: local"
            )
        return RayEmbedder.create(
            cfg.model,
            num_workers=cfg.num_workers,
            num_cpus_per_worker=cfg.num_cpus_per_worker,
            num_gpus_per_worker=cfg.num_gpus_per_worker,
            device=cfg.device,
            precision=cfg.precision,
            batch_size=cfg.batch_size,
            address=cfg.ray_address,
        )
    return load_model(
        cfg.model, device=cfg.device, precision=cfg.precision, batch_size=cfg.batch_size,
        fast_path=cfg.fast_path,
    )


def build_reward_model(cfg: RewardConfig) -> RewardModel:
    """The configured embedder wrapped with the configured prompts and alpha."""
    return RewardModel.from_prompts(build_embedder(cfg), cfg.goal, cfg.baseline, cfg.alpha)
