"""Resolve a model spec to an :class:`Embedder` (minimal version; extended by the core issue)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import open_clip
import torch

from vlm_reward.device import resolve_device, resolve_precision
from vlm_reward.errors import ModelNotFoundError
from vlm_reward.models.base import Embedder
from vlm_reward.models.open_clip_backend import OpenCLIPEmbedder
from vlm_reward.preprocess import ImagePreprocess

if TYPE_CHECKING:
    from vlm_reward.models.acceleration import FastPath

__all__ = ["load_model"]


def load_model(
    spec: str,
    *,
    device: str | torch.device = "auto",
    precision: str = "auto",
    batch_size: int = 64,
    cache_dir: str | None = None,
    offline: bool = False,
    fast_path: FastPath | Mapping[str, Any] | None = None,
) -> Embedder:
    """Load a VLM from a spec string and return it behind the :class:`Embedder` interface.

    ``fast_path`` holds the speed-up switches of
    :class:`vlm_reward.models.acceleration.FastPath` (e.g. ``{"int8": True}``); ``None``
    applies the defaults, which are on only where safe and measured to help.
    """
    dev = resolve_device(device)
    dtype = resolve_precision(precision, dev)
    path = Path(spec.removeprefix("local-dir:"))
    is_random = False
    if path.is_dir():
        cfg = json.loads((path / "open_clip_config.json").read_text())
        model, _, _ = open_clip.create_model_and_transforms(f"local-dir:{path}", device=dev)
        pp = cfg.get("preprocess_cfg", {})
        tokenizer = open_clip.get_tokenizer(f"local-dir:{path}")
    else:
        name, _, tag = spec.partition("/")
        if name not in open_clip.list_models():
            raise ModelNotFoundError(f"model: unknown open_clip architecture {name!r}")
        is_random = tag == "random"
        model = open_clip.create_model(name, pretrained=None if is_random else tag,
                                       device=dev, cache_dir=cache_dir)
        pp = dict(model.visual.preprocess_cfg) if hasattr(model.visual, "preprocess_cfg") else {}
        tokenizer = open_clip.get_tokenizer(name)
    size = model.visual.image_size
    size = (size, size) if isinstance(size, int) else tuple(size)
    preprocess = ImagePreprocess(
        size=size,  # type: ignore[arg-type]
        mean=tuple(pp.get("mean", open_clip.OPENAI_DATASET_MEAN)),  # type: ignore[arg-type]
        std=tuple(pp.get("std", open_clip.OPENAI_DATASET_STD)),  # type: ignore[arg-type]
        interpolation=pp.get("interpolation", "bicubic"),
        resize_mode=pp.get("resize_mode", "shortest"),
    )
    model = model.to(dtype=dtype).eval()
    emb = OpenCLIPEmbedder(model, tokenizer, preprocess, name=spec, device=dev, dtype=dtype,
                           batch_size=batch_size, is_random=is_random)
    from vlm_reward.models.acceleration import apply_fast_path

    apply_fast_path(emb, fast_path)
    emb.warn_if_random()
    return emb
