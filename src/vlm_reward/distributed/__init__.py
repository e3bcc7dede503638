"""Reward inference on Ray: VLM replicas as actors across GPUs and machines (extra ``ray``).

``RayEmbedder`` is an :class:`~vlm_reward.models.base.Embedder`, so the reward model, the
wrappers, training and evaluation switch to it with one config change (``reward.backend: ray``).
:func:`init_ray` starts a local Ray instance or joins a cluster. Importing this package does not
import Ray; Ray is imported when it is first used.
"""

from __future__ import annotations

from vlm_reward.distributed.cluster import init_ray, ray_started_here, require_ray, shutdown_ray
from vlm_reward.distributed.embedder import RayEmbedder
from vlm_reward.errors import RayWorkerError

__all__ = [
    "RayEmbedder",
    "RayWorkerError",
    "init_ray",
    "ray_started_here",
    "require_ray",
    "shutdown_ray",
]
