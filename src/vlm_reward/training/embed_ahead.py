"""Embed the frames of finished steps in a worker thread while the envs keep stepping.

Batched relabelling waits until a buffer is read (PPO's advantages, an off-policy ``sample``)
and then embeds every waiting frame at once; meanwhile the envs stepped and rendered with the
VLM idle, and during the embedding the envs are idle. :class:`EmbedAhead` overlaps the two:
each time a full chunk of frames waits, it is handed to one worker thread that embeds it (torch
releases the GIL inside its kernels, so env stepping goes on), and the relabel takes the
finished embeddings plus an embedding of the last partial chunk. Only embedding moves to the
thread: the reward family's per-episode state and the mix run afterwards, in step order, so
rewards are identical with and without it.

On a GPU the overlap is nearly free (the GPU computes while the CPU steps envs). On a CPU it
trades cores between the two; ``benchmarks.training_throughput --modes
ours/batched,ours/batched+ahead`` measures which is faster on a given machine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import torch

__all__ = ["EmbedAhead"]


class EmbedAhead:
    """Chunks of waiting frames embedded in the background, collected in order.

    Args:
        embed: uint8 frames ``(N, H, W, 3)`` -> embeddings ``(N, D)`` (the reward model's).
        chunk: frames per background call (the embedder's batch size: each call is one or a
            few forward passes, large enough to run at full speed).
    """

    def __init__(self, embed: Callable[[np.ndarray], torch.Tensor], chunk: int) -> None:
        if chunk < 1:
            raise ValueError(f"chunk: expected a positive integer, got {chunk}")
        self._embed = embed
        self.chunk = chunk
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[torch.Tensor]] = []
        self._submitted = 0  # frames of the current batch handed to the worker

    @property
    def submitted(self) -> int:
        """Frames of the waiting batch already handed to the worker."""
        return self._submitted

    def offer(self, frames: Sequence[np.ndarray]) -> None:
        """Hand every full chunk of ``frames`` not yet submitted to the worker.

        ``frames`` is the whole waiting batch in arrival order; only its growth since the last
        call is new.
        """
        while len(frames) - self._submitted >= self.chunk:
            batch = np.stack(frames[self._submitted:self._submitted + self.chunk])
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vlm-embed")
            self._futures.append(self._pool.submit(self._embed, batch))
            self._submitted += self.chunk

    def collect(self, frames: Sequence[np.ndarray]) -> torch.Tensor:
        """Embeddings of all of ``frames`` in order: the worker's chunks plus the rest, embedded
        here; then ready for the next batch. A worker's error is raised here."""
        if len(frames) < self._submitted:
            raise ValueError(
                f"collect: {len(frames)} frames, but {self._submitted} were already submitted"
            )
        try:
            parts = [future.result() for future in self._futures]
            if len(frames) > self._submitted:
                parts.append(self._embed(np.stack(frames[self._submitted:])))
        finally:
            self._futures, self._submitted = [], 0
        return torch.cat(parts) if parts else torch.zeros(0)

    def discard(self) -> None:
        """Forget the waiting batch (its data was dropped); running chunks finish unused."""
        for future in self._futures:
            future.cancel()
        self._futures, self._submitted = [], 0

    def close(self) -> None:
        """Stop the worker thread (waits for a chunk in flight)."""
        self.discard()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
