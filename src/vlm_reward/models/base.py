"""The one interface every vision-language model sits behind.

Everything above this module (reward, wrappers, training, evaluation, Ray) talks only to
:class:`Embedder`. Backends implement two protected hooks on device tensors; the public methods
add validation, batching, normalisation and the text cache once, for all backends.
"""

from __future__ import annotations

import abc
import warnings
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from vlm_reward.errors import ConfigError, PromptError
from vlm_reward.preprocess import as_frame_batch, frames_to_device

__all__ = ["Embedder"]


class Embedder(abc.ABC):
    """Embeds uint8 frames and text prompts into one unit-normalised space.

    Outputs are float32 tensors on the CPU: downstream consumers (reward math, replay buffers,
    numpy, Ray's object store) live there, and ``(N, D)`` embeddings are tiny next to frames.

    Attributes:
        name: the model spec this embedder was loaded from.
        device: where the model runs.
        dtype: the model's compute dtype.
        embed_dim: size of the joint embedding space.
        batch_size: frames per forward pass; larger batches are split, smaller ones run as is.
        is_random: True for randomly initialised weights (rewards mean nothing).
    """

    def __init__(
        self,
        *,
        name: str,
        device: torch.device,
        dtype: torch.dtype,
        embed_dim: int,
        batch_size: int = 64,
        is_random: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size: expected a positive integer, got {batch_size}")
        self.name = name
        self.device = device
        self.dtype = dtype
        self.embed_dim = embed_dim
        self.batch_size = batch_size
        self.is_random = is_random
        self._text_cache: dict[str, torch.Tensor] = {}
        self.image_calls = 0  # forward passes of the image tower, for tests and profiling

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, device={self.device}, "
            f"dtype={self.dtype}, embed_dim={self.embed_dim})"
        )

    @torch.inference_mode()
    def encode_images(self, frames: Any) -> torch.Tensor:
        """Embed uint8 frames ``(N, H, W, 3)`` (numpy or torch) into ``(N, D)`` unit vectors."""
        batch = as_frame_batch(frames)
        chunks = []
        for chunk in batch.split(self.batch_size):
            emb = self._encode_image_batch(frames_to_device(chunk, self.device))
            self.image_calls += 1
            chunks.append(emb.float())
        return F.normalize(torch.cat(chunks), dim=-1).cpu()

    @torch.inference_mode()
    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """Embed prompts into ``(N, D)`` unit vectors; each distinct prompt is embedded once."""
        if isinstance(texts, str):
            texts = [texts]
        if len(texts) == 0:
            raise PromptError("prompts: got an empty list; give at least one sentence")
        for text in texts:
            if not isinstance(text, str) or not text.strip():
                raise PromptError(f"prompts: every prompt must be a non-empty string, got {text!r}")
        missing = [t for t in dict.fromkeys(texts) if t not in self._text_cache]
        if missing:
            emb = F.normalize(self._encode_text_batch(missing).float(), dim=-1).cpu()
            self._text_cache.update(zip(missing, emb, strict=True))
        return torch.stack([self._text_cache[t] for t in texts])

    def warn_if_random(self) -> None:
        """Warn loudly that rewards from random weights carry no meaning."""
        if self.is_random:
            warnings.warn(
                f"model {self.name!r} has RANDOM weights: its rewards mean nothing. "
                "Use it only for speed tests and pipeline checks.",
                stacklevel=2,
            )

    @abc.abstractmethod
    def _encode_image_batch(self, frames: torch.Tensor) -> torch.Tensor:
        """Embed one batch of uint8 ``(n, H, W, 3)`` frames already on ``self.device``."""

    @abc.abstractmethod
    def _encode_text_batch(self, texts: list[str]) -> torch.Tensor:
        """Embed a list of validated, distinct prompts."""
