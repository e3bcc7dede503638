"""The Ray actor behind :class:`~vlm_reward.distributed.RayEmbedder`: one VLM replica.

The class is plain Python; :class:`RayEmbedder` wraps it with ``ray.remote`` when it creates
workers, so importing this module does not need Ray. Ray re-runs ``__init__`` when it restarts
a dead actor, which reloads the model; each incarnation draws a fresh random token so the
driver can tell that a restart happened and log it.
"""

from __future__ import annotations

import os
import uuid
import warnings
from typing import Any

import numpy as np

from vlm_reward.errors import VLMRewardError

__all__ = ["EmbedWorker", "WorkerInfo"]

WorkerInfo = dict[str, Any]


class EmbedWorker:
    """Holds one model replica on its own device and embeds frames and prompts.

    Args:
        spec: model spec for :func:`vlm_reward.load_model`.
        device: ``auto`` uses the GPU Ray assigned to this actor, else the CPU.
        precision: as for :func:`vlm_reward.load_model`.
        batch_size: frames per forward pass inside the actor.
        num_threads: torch intra-op threads (the actor's CPU share; Ray does not enforce it).
    """

    def __init__(
        self, spec: str, device: str, precision: str, batch_size: int, num_threads: int
    ) -> None:
        import ray
        import torch

        from vlm_reward.models import load_model

        torch.set_num_threads(max(1, num_threads))
        if device == "auto":
            # Ray sets CUDA_VISIBLE_DEVICES to the GPUs it gave this actor, so "cuda" is ours.
            device = "cuda" if ray.get_gpu_ids() and torch.cuda.is_available() else "cpu"
        self.init_error: VLMRewardError | None = None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the driver warns about random weights
                self.embedder = load_model(
                    spec, device=device, precision=precision, batch_size=batch_size
                )
        except VLMRewardError as exc:
            # Keep the actor alive so info() can hand the user's mistake back as itself,
            # instead of Ray reporting a dead actor with the error buried in a traceback.
            self.init_error = exc
        self.token = uuid.uuid4().hex
        self.calls = 0
        self._exit_at_call: int | None = None

    def info(self) -> WorkerInfo:
        """What the driver needs to present this replica as an :class:`Embedder`."""
        import ray

        if self.init_error is not None:
            raise self.init_error
        emb = self.embedder
        return {
            "token": self.token,
            "pid": os.getpid(),
            "node": ray.get_runtime_context().get_node_id(),
            "device": str(emb.device),
            "dtype": str(emb.dtype).removeprefix("torch."),
            "embed_dim": emb.embed_dim,
            "is_random": emb.is_random,
            "fingerprint": emb.fingerprint(),
            "calls": self.calls,
        }

    def encode_images(self, frames: np.ndarray) -> tuple[np.ndarray, str]:
        """Embed one chunk of uint8 frames; returns ``(embeddings (n, D) float32, token)``.

        ``frames`` arrives as a read-only numpy view of Ray's shared-memory object store (no
        copy on the same node); the embedder only reads it.
        """
        import torch

        self.calls += 1
        if self._exit_at_call is not None and self.calls >= self._exit_at_call:
            os._exit(1)  # simulated crash (see crash_on_call); Ray restarts the actor
        with warnings.catch_warnings():
            # torch warns that the shared-memory array is read-only; nothing writes to it.
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            tensor = torch.from_numpy(frames)
        return self.embedder.encode_images(tensor).numpy(), self.token

    def encode_text(self, texts: list[str]) -> np.ndarray:
        """Embed prompts (unit-normalised float32 ``(n, D)``)."""
        return self.embedder.encode_text(texts).numpy()

    def crash_on_call(self, call: int) -> None:
        """Fault-injection hook: kill this process during its ``call``-th image call from now.

        Used by the fault-tolerance tests and for drills on a real cluster. The restarted
        incarnation starts without the trigger, so it crashes once.
        """
        self._exit_at_call = self.calls + call
