"""On-disk cache of image embeddings, so repeated analyses of a dataset do not re-embed it.

The key is the embedder's own :meth:`~vlm_reward.models.base.Embedder.fingerprint` (model
spec, the weight files as loaded, precision, device type, preprocessing, fast-path switches:
everything that changes the embeddings, for every spec form and backend) plus a hash of the
frame bytes and shape. A checkpoint retrained in place therefore misses, while the Ray backend
shares entries with the in-process one. Alpha, prompts and the reference do not change image
embeddings and are not part of the key, which is why an alpha or prompt sweep embeds once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vlm_reward.atomic import atomic_open, atomic_write_text

if TYPE_CHECKING:
    import torch

    from vlm_reward.models.base import Embedder

__all__ = ["EmbeddingCache", "embed_frames", "frames_digest"]


def frames_digest(frames: np.ndarray, rows_per_chunk: int = 256) -> str:
    """BLAKE2b hex digest of a ``(N, H, W, 3)`` uint8 array (streamed, works on memmaps)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(repr((tuple(frames.shape), str(frames.dtype))).encode())
    for start in range(0, frames.shape[0], rows_per_chunk):
        h.update(np.ascontiguousarray(frames[start : start + rows_per_chunk]).data)
    return h.hexdigest()


class EmbeddingCache:
    """A folder of ``emb-<key>.npy`` files (float32 ``(N, D)``) with a JSON sidecar each.

    Args:
        folder: where entries live (a dataset's ``cache/`` folder by default).
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def key(self, embedder: Embedder, frames: np.ndarray) -> str:
        payload = json.dumps(
            {"embedder": embedder.fingerprint(), "frames": frames_digest(frames)},
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.folder / f"emb-{key}.npy"

    def load(self, key: str, n: int | None = None) -> np.ndarray | None:
        """The cached embeddings for ``key``, or None when absent or unreadable."""
        path = self.path(key)
        if not path.is_file():
            return None
        try:
            arr = np.load(path)
        except (ValueError, OSError):
            return None
        if arr.ndim != 2 or (n is not None and arr.shape[0] != n):
            return None
        return arr

    def save(self, key: str, embeddings: np.ndarray, meta: dict[str, Any]) -> Path:
        """Write an entry atomically (temp file + rename)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(key)
        with atomic_open(path, "wb") as fh:
            np.save(fh, np.ascontiguousarray(embeddings, dtype=np.float32))
        atomic_write_text(path.with_suffix(".json"), json.dumps(meta, indent=2, default=str) + "\n")
        return path


def embed_frames(
    embedder: Embedder,
    frames: np.ndarray,
    *,
    cache_dir: str | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Image embeddings ``(N, D)`` for frames, read from / written to a cache folder.

    Args:
        embedder: the model.
        frames: uint8 ``(N, H, W, 3)``; memory maps are read in batches.
        cache_dir: cache folder, or None to always embed.
        progress: called with the number of frames done after each batch (for progress bars).

    Returns:
        float32 CPU tensor of unit vectors.
    """
    import torch

    cache = EmbeddingCache(cache_dir) if cache_dir is not None else None
    key = cache.key(embedder, frames) if cache is not None else ""
    if cache is not None:
        hit = cache.load(key, n=frames.shape[0])
        if hit is not None:
            if progress is not None:
                progress(frames.shape[0])
            return torch.from_numpy(hit)
    chunks = []
    step = max(1, int(embedder.batch_size))
    for start in range(0, frames.shape[0], step):
        batch = np.array(frames[start : start + step])  # a writable copy, not a memmap view
        chunks.append(embedder.encode_images(batch))
        if progress is not None:
            progress(batch.shape[0])
    emb = torch.cat(chunks).float()
    if cache is not None:
        cache.save(key, emb.numpy(), {
            "embedder": embedder.fingerprint(),
            "n_frames": int(frames.shape[0]),
            "frame_shape": list(frames.shape[1:]),
        })
    return emb
