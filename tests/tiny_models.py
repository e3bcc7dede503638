"""Tiny randomly initialised models of real architectures, saved the way users save checkpoints.

Tests load them back through the public loaders, so the loading code path is the real one.
"""

from __future__ import annotations

import json
from pathlib import Path

import open_clip
import torch
from safetensors.torch import save_file

TINY_VIT_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 64, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}
TINY_PREPROCESS_CFG = {
    "mean": list(open_clip.OPENAI_DATASET_MEAN),
    "std": list(open_clip.OPENAI_DATASET_STD),
    "interpolation": "bicubic",
    "resize_mode": "shortest",
}


def save_tiny_open_clip(folder: Path, seed: int = 0) -> Path:
    """Build a tiny open_clip ViT with random weights and save it as a ``local-dir`` folder."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    model = open_clip.CLIP(**TINY_VIT_CFG)
    cfg = {"model_cfg": TINY_VIT_CFG, "preprocess_cfg": TINY_PREPROCESS_CFG}
    (folder / "open_clip_config.json").write_text(json.dumps(cfg, indent=2))
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "open_clip_model.safetensors"))
    return folder


TINY_ARCH = "vlmr-tiny-ViT"


def register_tiny_arch(folder: Path) -> str:
    """Register the tiny ViT as a named open_clip architecture (as users add custom configs).

    Lets tests use the ``ARCH:FILE`` and ``ARCH/random`` spec forms without building a
    full-size model.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{TINY_ARCH}.json"
    path.write_text(json.dumps(TINY_VIT_CFG))
    open_clip.add_model_config(path)
    return TINY_ARCH


def fill_hf_cache(cache: Path, repo: str, files: dict[str, Path], revision: str = "0" * 40) -> Path:
    """Lay out ``files`` in a Hugging Face hub cache exactly as a finished download leaves them."""
    base = cache / f"models--{repo.replace('/', '--')}"
    snap = base / "snapshots" / revision
    snap.mkdir(parents=True, exist_ok=True)
    (base / "refs").mkdir(exist_ok=True)
    (base / "refs" / "main").write_text(revision)
    for name, src in files.items():
        (snap / name).write_bytes(src.read_bytes())
    return snap
