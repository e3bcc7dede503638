"""The one interface every vision-language model sits behind.

Everything above this module (reward, wrappers, training, evaluation, Ray) talks only to
:class:`Embedder`. Backends implement two protected hooks on device tensors; the public methods
add validation, batching, normalisation and the text cache once, for all backends. The same
contract covers the embedder's life: :meth:`Embedder.fingerprint` says what decides its outputs
(the embedding cache keys on it) and :meth:`Embedder.close` releases what it holds.
"""

from __future__ import annotations

import abc
import dataclasses
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

import torch
import torch.nn.functional as F

from vlm_reward.errors import ConfigError, PromptError
from vlm_reward.models.weights import files_fingerprint
from vlm_reward.preprocess import as_frame_batch, frames_to_device

__all__ = ["Embedder"]

_E = TypeVar("_E", bound="Embedder")
#: fast-path switches that leave the embeddings as they are (the thread count splits the work)
_NEUTRAL_SWITCHES = ("num_threads",)


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
        is_video: True for video-language models, which also embed clips
            (:meth:`encode_clips`); the temporal reward families then score a clip's video
            embedding instead of the mean of its frame embeddings.
        weights_fingerprint: ``[path, size, mtime_ns, ctime_ns]`` of the weight files as they
            were when the model was loaded (see :func:`.weights.files_fingerprint`).

    Example:
        >>> import numpy as np, vlm_reward
        >>> with vlm_reward.load_model("demo", device="cpu", precision="fp32") as model:
        ...     model.encode_images(np.zeros((2, 48, 72, 3), np.uint8)).shape
        torch.Size([2, 64])
    """

    #: video-language model: :meth:`encode_clips` embeds clips (see the class docstring)
    is_video: bool = False

    def __init__(
        self,
        *,
        name: str,
        device: torch.device,
        dtype: torch.dtype,
        embed_dim: int,
        batch_size: int = 64,
        is_random: bool = False,
        weight_files: Sequence[Path] = (),
    ) -> None:
        """``weight_files``: the files (or flat folders) the weights were read from, stamped
        now so that the fingerprint describes the weights this object holds, even after the
        files are rewritten."""
        if batch_size < 1:
            raise ConfigError(f"batch_size: expected a positive integer, got {batch_size}")
        self.name = name
        self.device = device
        self.dtype = dtype
        self.embed_dim = embed_dim
        self.batch_size = batch_size
        self.is_random = is_random
        self.weights_fingerprint = files_fingerprint(weight_files)
        self._text_cache: dict[str, torch.Tensor] = {}
        self.image_calls = 0  # forward passes of the image tower, for tests and profiling

    @property
    def frame_elements(self) -> int | None:
        """Residual-stream elements one frame occupies in the image tower (tokens x width).

        It sizes the default CPU batch (:func:`vlm_reward.device.default_batch_size`): a
        tower with more tokens per frame needs fewer frames per batch. ``None``: unknown.
        """
        return None

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(name={self.name!r}, device={self.device}, "
            f"dtype={self.dtype}, embed_dim={self.embed_dim})"
        )

    def fingerprint(self) -> dict[str, Any]:
        """Everything that decides this embedder's image embeddings, as JSON-able data.

        The model spec, the weight files as loaded, the random-weights flag, compute dtype,
        device type, embedding size, preprocessing (image size, resize, crop, mean/std, uint8
        resize) and the fast-path switches that took effect (int8, onnx, compile,
        channels_last). Batch size, device index and thread count are left out: they do not
        change the embeddings. Backends with more output-changing state extend this dict.
        """
        preprocess = getattr(self, "preprocess", None)
        if dataclasses.is_dataclass(preprocess) and not isinstance(preprocess, type):
            preprocess = dataclasses.asdict(preprocess)
        elif preprocess is not None:
            preprocess = repr(preprocess)
        applied = getattr(self, "fast_path_applied", ())
        return {
            "spec": self.name,
            "backend": type(self).__name__,
            "weights": self.weights_fingerprint,
            "random": self.is_random,
            "dtype": str(self.dtype).removeprefix("torch."),
            "device": self.device.type,
            "embed_dim": int(self.embed_dim),
            "preprocess": preprocess,
            "fast_path": sorted(s for s in applied if s not in _NEUTRAL_SWITCHES),
        }

    @property
    def logit_scale(self) -> float | None:
        """The model's learned softmax temperature (CLIP's is about 100); ``None`` if unknown.

        Softmax-based rewards (negatives) use it unless a temperature is set.
        """
        return None

    def close(self) -> None:
        """Release what the embedder holds outside this process (Ray actors, a Ray instance).

        A no-op for in-process backends: their weights are ordinary memory, freed with the
        object. Safe to call more than once; ``with load_model(...) as model:`` calls it.
        """
        return None

    def __enter__(self: _E) -> _E:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

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

    def encode_clips(self, clips: Any) -> torch.Tensor:
        """Embed clips of uint8 frames (``(N, T, H, W, 3)``, or a list of ``(T_i, H, W, 3)``)
        into ``(N, D)`` unit video embeddings; video models only (``is_video``)."""
        raise ConfigError(
            f"model {self.name!r} is an image model: it embeds frames (encode_images), not "
            "clips; use a video model such as xclip:FOLDER, or pool frame embeddings"
        )

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
