"""Resolve a model spec to an :class:`Embedder` through a small registry (kind -> resolver).

:func:`parse_spec` turns the string into a :class:`ModelSpec` (strict: typos and unknown tags
fail here, listing close matches), then the resolver for its kind loads it: a built-in one
here, or a third-party backend added with :func:`~vlm_reward.models.specs.register_backend`
(specs ``NAME`` and ``NAME:ARGUMENT``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from vlm_reward.device import default_batch_size, resolve_device, resolve_precision
from vlm_reward.errors import ConfigError, ModelNotFoundError
from vlm_reward.models.base import Embedder
from vlm_reward.models.open_clip_backend import LoadOptions
from vlm_reward.models.specs import BACKENDS, BUILTIN_KINDS, ModelSpec, Resolver, parse_spec

if TYPE_CHECKING:
    from vlm_reward.models.acceleration import FastPath

__all__ = ["LoadOptions", "load_model"]


def _open_clip(spec: ModelSpec, opts: LoadOptions) -> Embedder:
    from vlm_reward.models.open_clip_backend import load_open_clip

    return load_open_clip(spec, opts)


def _transformers(spec: ModelSpec, opts: LoadOptions) -> Embedder:
    from vlm_reward.models.hf_backend import load_transformers

    return load_transformers(spec, opts)


def _xclip(spec: ModelSpec, opts: LoadOptions) -> Embedder:
    from vlm_reward.models.xclip_backend import load_xclip

    return load_xclip(spec, opts)


_BUILTIN: dict[str, Resolver] = {
    kind: _transformers if kind.startswith("hf_") else _xclip if kind.startswith("xclip_")
    else _open_clip for kind in BUILTIN_KINDS
}


def load_model(
    spec: str,
    *,
    device: str | torch.device = "auto",
    precision: str = "auto",
    batch_size: int | None = None,
    cache_dir: str | Path | None = None,
    offline: bool = False,
    fast_path: FastPath | Mapping[str, Any] | None = None,
) -> Embedder:
    """Load a VLM from a spec string and return it behind the :class:`Embedder` interface.

    Args:
        spec: model spec, e.g. ``demo``, ``ViT-B-32/openai``, ``ViT-B-32:/ckpt.safetensors``,
            ``local-dir:/folder``, ``hf-hub:org/repo``, ``hf:/folder``, ``xclip:/folder``
            (a video-language model), ``ViT-B-32/random`` (see ``vlm-reward models``).
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        precision: ``auto``, ``fp32``, ``bf16`` or ``fp16``.
        batch_size: frames per forward pass; ``None`` picks it from the device, the core
            count, the dtype and the tower's tokens per frame
            (:func:`vlm_reward.device.default_batch_size`).
        cache_dir: download cache (Hugging Face hub layout); default: the usual HF cache.
        offline: never touch the network (also implied by ``HF_HUB_OFFLINE=1``).
        fast_path: speed-up switches of :class:`vlm_reward.models.acceleration.FastPath`
            (e.g. ``{"int8": True}``); ``None`` applies the defaults, which are on only where
            they are safe and measured to help (see docs/performance.md).

    Raises:
        ModelNotFoundError: unknown name or tag (close matches listed).
        WeightsUnavailableError: weights neither cached nor downloadable.
        CheckpointError: a local checkpoint that cannot be read or does not fit.

    Example:
        >>> import numpy as np, vlm_reward  # doctest: +SKIP
        >>> model = vlm_reward.load_model("ViT-B-32/openai", device="cpu")  # doctest: +SKIP
        >>> model.encode_images(np.zeros((2, 400, 600, 3), np.uint8)).shape  # doctest: +SKIP
        torch.Size([2, 512])
    """
    if not isinstance(spec, str):
        raise ConfigError(f"model: expected a spec string, got {type(spec).__name__}")
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ConfigError(f"batch_size: expected a positive integer, got {batch_size!r}")
    parsed = parse_spec(spec)
    dev = resolve_device(device)
    dtype = resolve_precision(precision, dev)
    user_batch = batch_size
    if batch_size is None:  # provisional: re-sized below once the tower's size is known
        batch_size = default_batch_size(dev, dtype)
    resolver = _BUILTIN.get(parsed.kind) or BACKENDS.get(parsed.kind)
    if resolver is None:  # a ModelSpec kind that no resolver serves: a bug, not a user mistake
        raise ModelNotFoundError(
            f"model {spec!r}: no backend for kind {parsed.kind!r}; known: "
            f"{', '.join([*BUILTIN_KINDS, *sorted(BACKENDS)])}"
        )
    opts = LoadOptions(device=dev, dtype=dtype, batch_size=batch_size,
                       cache_dir=None if cache_dir is None else str(cache_dir), offline=offline)
    # open_clip logs "initialized randomly" / "missing weights" chatter at WARNING; our own
    # checks replace it with precise errors, so keep its logger quiet while loading.
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        embedder = resolver(parsed, opts)
    finally:
        root.setLevel(level)
    from vlm_reward.models.acceleration import apply_fast_path

    elements = embedder.frame_elements  # read before the fast path replaces the tower (onnx)
    apply_fast_path(embedder, fast_path)
    if user_batch is None:  # after it: its num_threads switch changes the thread count
        embedder.batch_size = default_batch_size(dev, dtype, elements)
    embedder.warn_if_random()
    return embedder
